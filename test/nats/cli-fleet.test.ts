/**
 * A fleet of three sensor processes on one real nats-server (issue 20, "what it must show"):
 *
 * - One synthetic trace; each sensor (`classify - --shard i/3 --nats … --lists-from --publish --quiet-records`)
 *   reads it from stdin and classifies its shard of the flows (the pool's address-pair hash).
 * - The trace goes in two halves. Before the second half, a registration list is published (`lists publish`)
 *   and every sensor reports the new fleet revision: every record of a flow that started after the switch names
 *   the new revision on every sensor, and some records name the old one.
 * - Sensor 2 reaches NATS through a proxy the test cuts for 3 s while the second half flows: nothing is lost.
 * - The merged stream equals a single `classify` of the whole trace, each record exactly once: every record of
 *   revision R equals the record of a single unsharded run under revision R (two single runs, one per revision).
 * - A sensor whose buffer cannot hold an outage (`--publish-buffer 5`) reports exactly how many records it dropped
 *   (exit 1), and the stream holds exactly the others.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../src/nats/connect.js';
import { natsServerBinary, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { readStreamRecords } from './read-stream.js';
import { CLI, pcapSplit, runCli, startCli, type CliProc } from './cli-helpers.js';

const nats = natsServerBinary();
if (!nats.bin) console.warn(`test/nats/cli-fleet: skipped: ${nats.why}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Rec = Record<string, unknown>;
const key = (r: Rec): string => `${r.transport as string}|${r.src as string}|${r.dst as string}|${String(r.vlan ?? '')}|${String(r.encap ?? '')}|${r.firstSeen as string}`;
const withoutSensor = (r: Rec): Rec => {
  const { sensor: _s, ...rest } = r;
  return rest;
};
const ndjson = (text: string): Rec[] => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Rec);

/** Write `bytes` to a process's stdin in `parts` pieces, `gapMs` apart, calling `during(i)` before piece i. */
async function feed(p: CliProc, bytes: Uint8Array, parts: number, gapMs: number, during?: (i: number) => void | Promise<void>): Promise<void> {
  const step = Math.ceil(bytes.length / parts);
  for (let i = 0; i < parts; i++) {
    await during?.(i);
    const chunk = bytes.subarray(i * step, Math.min(bytes.length, (i + 1) * step));
    if (chunk.length === 0) continue;
    await new Promise<void>((r, j) => p.proc.stdin!.write(chunk, (e) => (e ? j(e) : r())));
    if (gapMs > 0) await sleep(gapMs);
  }
}

describe.skipIf(!nats.bin)(`three sensors, one stream, one list version${nats.bin ? '' : ` (skipped: ${nats.why})`}`, () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let dir = '';
  let trace = '';
  const proxies: TcpProxy[] = [];
  const procs: CliProc[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectNats(server.url);
    dir = mkdtempSync(join(tmpdir(), 'ts-fleet-'));
    trace = join(dir, 'trace.pcap');
    execFileSync(process.execPath, [CLI, 'synth', '--out', trace, '--packets', '60000', '--flows', '2000', '--vpn-share', '0.24', '--registered-share', '0.5', '--seed', '5', '-q']);
    writeFileSync(join(dir, 'empty.txt'), '# no registrations yet\n');
  }, 120_000);
  afterAll(async () => {
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
    for (const p of proxies) await p.close();
    await nc?.close().catch(() => undefined);
    await server?.close();
  });

  it('merged records equal a single classify, once each; the new list version on every sensor after the switch; a 3 s cut loses nothing', async () => {
    const url = server.url;
    const bucket = 'fleet-lists';
    const pubA = await runCli(['lists', 'publish', '--nats', url, '--bucket', bucket, '--registered', join(dir, 'empty.txt')]);
    expect(pubA.code, pubA.err).toBe(0);
    const revA = (JSON.parse(pubA.out) as { revision: number }).revision;
    // A single unsharded run of the whole trace under revision A (and one under B below): the reference.
    const refA = ndjson((await runCli(['classify', trace, '--nats', url, '--lists-from', bucket, '--format', 'ndjson', '-q'])).out);

    const proxy = await startTcpProxy(server.port);
    proxies.push(proxy);
    const sensors = [0, 1, 2].map((i) => {
      const via = i === 2 ? `nats://127.0.0.1:${proxy.port}` : url;
      const p = startCli(['classify', '-', '--shard', `${i}/3`, '--nats', via, '--lists-from', bucket, '--publish', '--sensor', `s${i}`, '--quiet-records', '--format', 'ndjson'], { stdin: 'pipe' });
      procs.push(p);
      return p;
    });
    for (const s of sensors) await s.line(new RegExp(`lists: fleet revision ${revA} from`));

    const bytes = readFileSync(trace);
    const split = pcapSplit(trace, 30_000);
    expect(split.count).toBe(60_000);
    for (const s of sensors) await feed(s, bytes.subarray(0, split.offset), 1, 0);
    await sleep(1500); // the sensors have read the first half (they wait on stdin now)

    const pubB = await runCli(['lists', 'publish', '--nats', url, '--bucket', bucket, '--registered', join(dir, "trace.registered.txt")]);
    expect(pubB.code, pubB.err).toBe(0);
    const revB = (JSON.parse(pubB.out) as { revision: number }).revision;
    expect(revB).toBeGreaterThan(revA);
    for (const s of sensors) await s.line(new RegExp(`lists: fleet revision ${revB} in force \\(was ${revA}`));

    // Second half; sensor 2's link is cut while it flows, for 3 s.
    const second = bytes.subarray(split.offset);
    await Promise.all(
      sensors.map((s, i) =>
        feed(s, second, 10, 300, async (k) => {
          if (i !== 2) return;
          if (k === 2) proxy.cut();
          if (k === 7) proxy.restore();
        }),
      ),
    );
    for (const s of sensors) s.proc.stdin!.end();
    const codes = await Promise.all(sensors.map((s) => s.exit));
    for (const [i, s] of sensors.entries()) expect(codes[i], s.stderr()).toBe(0);
    expect(sensors[2]!.stderr()).toMatch(/nats: connection lost/);
    expect(sensors[2]!.stderr()).toMatch(/nats: connection back/);
    for (const s of sensors) expect(s.stderr()).toMatch(/records published to "tunnelscope\.records\.s\d" as sensor "s\d"; none lost/);

    const refB = ndjson((await runCli(['classify', trace, '--nats', url, '--lists-from', bucket, '--format', 'ndjson', '-q'])).out);
    expect(refA.length).toBe(refB.length);
    const ref = new Map<number, Map<string, Rec>>([
      [revA, new Map(refA.map((r) => [key(r), r]))],
      [revB, new Map(refB.map((r) => [key(r), r]))],
    ]);

    const merged = await readStreamRecords(nc, 'TUNNELSCOPE_RECORDS', 'tunnelscope.records.*');
    // Each flow exactly once, and every flow of the single run is there.
    const keys = merged.map(key);
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual(refB.map(key).sort());
    // Every record equals the single run's record for the revision it names (the sensors' shards together).
    const mismatched = merged.filter((m) => JSON.stringify(withoutSensor(m)) !== JSON.stringify(ref.get(m.listVersion as number)?.get(key(m))));
    // On failure, each mismatched record next to the single run's record it should equal. (The failures on Node 22 in
    // CI at stops 28 and 30 were the test's reading: a "≥" split across two pipe reads and decoded read by read came
    // out as two U+FFFD in the single run's record; cli-helpers now decode the stream as a whole, onText.)
    expect(mismatched.slice(0, 3).map((m) => ({ sensor: m, single: ref.get(m.listVersion as number)?.get(key(m)) ?? null }))).toEqual([]);
    expect(new Set(merged.map((m) => m.sensor))).toEqual(new Set(['s0', 's1', 's2']));
    // Records of flows that started after the switch name the new revision, on every sensor.
    const t1 = new Date(split.lastTsUs / 1000).toISOString().slice(0, 19);
    const after = merged.filter((m) => (m.firstSeen as string).slice(0, 19) > t1);
    expect(after.length).toBeGreaterThan(100);
    for (const s of ['s0', 's1', 's2']) {
      const mine = after.filter((m) => m.sensor === s);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.filter((m) => m.listVersion !== revB)).toEqual([]);
    }
    const versions = new Set(merged.map((m) => m.listVersion));
    expect(versions).toEqual(new Set([revA, revB]));
    // The switch mattered: some flows are registered_vpn only under B.
    expect(merged.some((m) => m.listVersion === revB && m.label === 'registered_vpn')).toBe(true);
    expect(merged.some((m) => m.listVersion === revA && m.label === 'unregistered_vpn' && ref.get(revB)!.get(key(m))!.label === 'registered_vpn')).toBe(true);
  }, 300_000);

  it('a sensor whose buffer cannot hold the outage reports exactly what it dropped', async () => {
    const url = server.url;
    await runCli(['lists', 'publish', '--nats', url, '--bucket', 'drop-lists', '--registered', join(dir, "trace.registered.txt")]);
    const proxy = await startTcpProxy(server.port);
    proxies.push(proxy);
    const s = startCli(
      ['classify', '-', '--nats', `nats://127.0.0.1:${proxy.port}`, '--lists-from', 'drop-lists', '--publish', 'tunnelscope.records.lossy', '--sensor', 'lossy', '--publish-buffer', '5', '--quiet-records'],
      { stdin: 'pipe' },
    );
    procs.push(s);
    await s.line(/lists: fleet revision \d+ from/);
    const bytes = readFileSync(trace);
    await feed(s, bytes, 10, 200, (k) => {
      if (k === 3) proxy.cut();
      if (k === 8) proxy.restore();
    });
    s.proc.stdin!.end();
    expect(await s.exit, s.stderr()).toBe(1);
    const m = /nats: (\d+) records published to "tunnelscope\.records\.lossy" as sensor "lossy"; (\d+) dropped \(buffer full\), (\d+) not acknowledged/.exec(s.stderr());
    expect(m, s.stderr()).not.toBeNull();
    const [published, dropped, unsent] = [Number(m![1]), Number(m![2]), Number(m![3])];
    expect(dropped).toBeGreaterThan(0);
    expect(unsent).toBe(0);
    const stored = await readStreamRecords(nc, 'TUNNELSCOPE_RECORDS', 'tunnelscope.records.lossy');
    expect(stored.length).toBe(published);
    const flows = Number(/tunnelscope: \d+ packets, (\d+) flows/.exec(s.stderr())![1]);
    expect(published + dropped).toBe(flows);
    expect(s.stderr()).toMatch(/publish buffer full; dropping records/);
  }, 120_000);

  it('stopped while NATS is unreachable: says it waits for acks, gives up after 5 s without one, accounts for them', async () => {
    const url = server.url;
    await runCli(['lists', 'publish', '--nats', url, '--bucket', 'stop-lists', '--registered', join(dir, 'trace.registered.txt')]);
    const proxy = await startTcpProxy(server.port);
    proxies.push(proxy);
    const s = startCli(
      ['classify', '-', '--nats', `nats://127.0.0.1:${proxy.port}`, '--lists-from', 'stop-lists', '--publish', '--sensor', 'stopped', '--quiet-records'],
      { stdin: 'pipe' },
    );
    procs.push(s);
    await s.line(/lists: fleet revision \d+ from/);
    const bytes = readFileSync(trace);
    await feed(s, bytes.subarray(0, bytes.length >> 1), 4, 100);
    proxy.cut();
    await s.line(/connection lost/);
    const t0 = Date.now();
    s.proc.kill('SIGINT');
    // Before: a silent wait of 30 s for a server that was gone. The live flows the stop ended wait in the buffer.
    await s.line(/nats: waiting up to 30 s for \d+ records to be acknowledged \(NATS is unreachable\)/, 5000);
    expect(await s.exit, s.stderr()).toBe(1);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThan(4000);
    expect(waited).toBeLessThan(15_000);
    const m = /nats: (\d+) records published .*; 0 dropped \(buffer full\), (\d+) not acknowledged/.exec(s.stderr());
    expect(m, s.stderr()).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThan(0);
    proxy.restore();
  }, 120_000);
});
