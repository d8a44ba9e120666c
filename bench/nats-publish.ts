/**
 * `npm run bench:nats`: does publishing to JetStream hold the classifier back? One sensor, one run, same machine:
 *
 *   A  classify T --registered R --format ndjson > /dev/null            (no NATS; records to stdout)
 *   B  classify T --nats U --lists-from --publish --quiet-records       (every record published, acks awaited)
 *   P  the same records through RecordPublisher alone, in process       (publish capacity with acks)
 *
 * A and B alternate `--runs` times (best and median of each); each B run publishes as its own sensor id, so the
 * server stores every record (no duplicates to skip). Reported: records/s of A and B, B/A wall-time ratio, P's
 * records/s and P / A's record rate (above 1: the publisher keeps up with the classifier). The machine is shared:
 * only ratios within this run mean anything.
 *
 *   node --import tsx bench/nats-publish.ts [--packets 2000000] [--flows 50000] [--runs 3] [--trace FILE --registered FILE]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats, createRecordPublisher, ensureRecordsStream } from '../src/nats/index.js';
import type { FlowRecord } from '../src/classify/record.js';
import { startNatsServer } from '../test/helpers/nats-server.js';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const argv = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
};
const runs = Number(arg('runs', '3'));
const packets = arg('packets', '2000000');
const flows = arg('flows', '50000');

const dir = mkdtempSync(join(tmpdir(), 'ts-bench-nats-'));
// The sensor's own CPU time (all its threads), printed at exit: on a shared host it varies far less than wall time.
const PRELOAD = join(dir, 'cpu.cjs');
writeFileSync(PRELOAD, "process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('CPU_US ' + (u.user + u.system) + '\\n'); });\n");

function run(args: string[], stdoutToNull: boolean): Promise<{ ms: number; cpuMs: number; err: string; out: string; code: number | null }> {
  return new Promise((res) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(process.execPath, ['--require', PRELOAD, CLI, ...args], { cwd: ROOT, stdio: ['ignore', stdoutToNull ? 'ignore' : 'pipe', 'pipe'] });
    let err = '';
    let out = '';
    p.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    p.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    p.on('exit', (code) => res({ ms: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: Number(/CPU_US (\d+)/.exec(err)?.[1] ?? NaN) / 1000, err, out, code }));
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const k = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(1)} k`);

let trace = arg('trace', '');
let registered = arg('registered', '');
if (trace === '') {
  trace = join(dir, 'perf.pcap');
  registered = join(dir, 'perf.registered.txt');
  console.error(`synth: ${packets} packets, ${flows} flows -> ${trace}`);
  execFileSync(process.execPath, [CLI, 'synth', '--out', trace, '--packets', packets, '--flows', flows, '--vpn-share', '0.24', '-q']);
}
const server = await startNatsServer();
try {
  const url = server.url;
  const pub = await run(['lists', 'publish', '--nats', url, '--registered', registered], false);
  if (pub.code !== 0) throw new Error(pub.err);
  console.log(`# NATS publish vs classify — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
  console.log(`trace: ${trace}; ${execFileSync(server.bin, ['--version'], { encoding: 'utf8' }).trim()} on 127.0.0.1 (file store in ${server.storeDir})\n`);
  const a: number[] = [];
  const b: number[] = [];
  const aCpu: number[] = [];
  const bCpu: number[] = [];
  let records = 0;
  for (let i = 0; i < runs; i++) {
    const ra = await run(['classify', trace, '--registered', registered, '--format', 'ndjson'], true);
    if (ra.code !== 0) throw new Error(ra.err);
    records = Number(/(\d+) flows/.exec(ra.err)![1]);
    a.push(ra.ms);
    aCpu.push(ra.cpuMs);
    const rb = await run(['classify', trace, '--nats', url, '--lists-from', '--publish', '--sensor', `bench-${i}`, '--quiet-records'], false);
    if (rb.code !== 0) throw new Error(rb.err);
    const m = /nats: (\d+) records published .*none lost/.exec(rb.err);
    if (!m || Number(m[1]) !== records) throw new Error(`run B did not publish all ${records} records:\n${rb.err}`);
    b.push(rb.ms);
    bCpu.push(rb.cpuMs);
    console.log(`pass ${i + 1}: A ${ra.ms.toFixed(0)} ms wall / ${ra.cpuMs.toFixed(0)} ms CPU, B ${rb.ms.toFixed(0)} ms / ${rb.cpuMs.toFixed(0)} ms CPU (${records} records acked)`);
  }
  // P: the publisher alone, with the records classify printed (parsed once, outside the timing).
  const recs = (await run(['classify', trace, '--registered', registered, '--format', 'ndjson', '-q'], false)).out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as FlowRecord);
  const nc = await connectNats(url);
  const p: number[] = [];
  for (let i = 0; i < runs; i++) {
    await ensureRecordsStream(nc);
    const publisher = await createRecordPublisher(nc, { sensor: `alone-${i}`, maxBuffered: recs.length + 1 });
    const t0 = process.hrtime.bigint();
    for (const r of recs) publisher.publishRecord(r);
    const left = await publisher.flush(600_000);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const st = await publisher.close();
    if (left !== 0 || st.acked !== recs.length) throw new Error(`publisher alone: ${st.acked} of ${recs.length} acked`);
    p.push(ms);
  }
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info('TUNNELSCOPE_RECORDS');
  await nc.close();
  const rate = (ms: number): number => (records / ms) * 1000;
  console.log('');
  console.log(`| run | wall best | wall median | CPU best | CPU median | records/s (wall best) |`);
  console.log(`|---|---:|---:|---:|---:|---:|`);
  console.log(`| A classify, ndjson to /dev/null | ${Math.min(...a).toFixed(0)} ms | ${median(a).toFixed(0)} ms | ${Math.min(...aCpu).toFixed(0)} ms | ${median(aCpu).toFixed(0)} ms | ${k(rate(Math.min(...a)))} |`);
  console.log(`| B classify + publish (acks awaited) | ${Math.min(...b).toFixed(0)} ms | ${median(b).toFixed(0)} ms | ${Math.min(...bCpu).toFixed(0)} ms | ${median(bCpu).toFixed(0)} ms | ${k(rate(Math.min(...b)))} |`);
  console.log(`| P publisher alone (acks awaited, in process) | ${Math.min(...p).toFixed(0)} ms | ${median(p).toFixed(0)} ms | | | ${k((recs.length / Math.min(...p)) * 1000)} |`);
  console.log('');
  console.log(`records: ${records} per run; stream now ${info.state.messages} messages, ${(info.state.bytes / 1e6).toFixed(1)} MB`);
  console.log(`B/A wall time: best ${(Math.min(...b) / Math.min(...a)).toFixed(2)}, median ${(median(b) / median(a)).toFixed(2)} (1.00 = publishing costs the classifier nothing)`);
  console.log(`B/A sensor CPU time: best ${(Math.min(...bCpu) / Math.min(...aCpu)).toFixed(2)}, median ${(median(bCpu) / median(aCpu)).toFixed(2)} (the sensor's extra work for publishing; nats-server's own CPU not included)`);
  console.log(`P records/s / A records/s: ${((recs.length / Math.min(...p)) * 1000 / rate(Math.min(...a))).toFixed(2)} (above 1: one connection publishes faster than the classifier produces)`);
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
