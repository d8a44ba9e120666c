/**
 * `classify --one-trace`: the captures are pieces of one recording (tcpdump -G/-C, a dumpcap ring buffer), read
 * as one trace in time order, so a connection that spans a rotation keeps its flow and its verdict. Read as
 * separate captures, the later pieces of a VPN connection start mid-stream and come out as ordinary flows.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/classify.js';
import { run as runFlows } from '../../src/cli/flows.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { readCaptureBuffer } from '../../src/trace/reader.js';
import { Sink } from '../helpers/sink.js';
import { ensureTools } from '../helpers/tools.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

async function cli(argv: string[]) {
  const stdout = new Sink(), stderr = new Sink();
  const code = await run(argv, { stdout, stderr, stdin: new PassThrough() });
  return { code, out: stdout.text, err: stderr.text };
}
interface Rec { src: string; dst: string; label: string; packets: number; capture?: string }
const recs = (s: string): Rec[] => s.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec);

/** Cut a classic pcap into pieces at the given packet indexes (each piece a whole pcap with the same header). */
function cut(capture: Uint8Array, at: number[]): Uint8Array[] {
  const pieces: PcapWriter[] = [new PcapWriter()];
  let i = 0;
  readCaptureBuffer(capture, 'whole', (p) => {
    if (at.includes(i)) pieces.push(new PcapWriter());
    pieces.at(-1)!.packet(p.tsUs, p.data.slice(p.offset, p.offset + p.capLen), p.wireLen);
    i++;
  });
  return pieces.map((w) => w.toBuffer());
}

describe('classify --one-trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ts-one-trace-'));
  const whole = join(dir, 'whole.pcap');
  // Names as tcpdump -C gives them: name order (rot, rot1, rot10, rot2) is not time order.
  const names = ['rot', 'rot1', 'rot2', 'rot10'];
  const pieces = names.map((n) => join(dir, 'pieces', n));
  let all: Rec[] = [];
  beforeAll(() => {
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'synth', '--packets', '4000', '--flows', '80', '--seed', '5', '--out', whole, '-q']);
    expect(r.status).toBe(0);
    mkdirSync(join(dir, 'pieces'));
    const parts = cut(readFileSync(whole), [1000, 2000, 3000]);
    parts.forEach((b, k) => writeFileSync(pieces[k]!, b));
  });

  it('gives the records of the whole capture, whatever the order the pieces are named in', async () => {
    const a = await cli([whole, '--format', 'ndjson', '-q']);
    all = recs(a.out);
    expect(all.filter((r) => r.label !== 'ordinary').length).toBeGreaterThan(5);
    for (const args of [[...pieces], [...pieces].reverse(), [join(dir, 'pieces')]]) {
      const r = await cli([...args, '--one-trace', '--format', 'ndjson', '-q']);
      expect([r.code, r.err]).toEqual([0, '']);
      expect(r.out).toBe(a.out);
    }
    // Read as separate captures, connections that span a cut are split, and their later parts lose the verdict.
    const apart = recs((await cli([join(dir, 'pieces'), '--format', 'ndjson', '-q'])).out);
    expect(apart.length).toBeGreaterThan(all.length);
    const vpn = new Set(all.filter((r) => r.label !== 'ordinary').map((r) => `${r.src} ${r.dst}`));
    expect(apart.some((r) => r.label === 'ordinary' && vpn.has(`${r.src} ${r.dst}`))).toBe(true);
  });

  const noTcpdump = ensureTools('tcpdump');
  it.skipIf(noTcpdump !== null)(`pieces written by the real tcpdump -C (named cap, cap1, … cap10, …) give the whole capture's records${noTcpdump ? ` — skipped: ${noTcpdump}` : ''}`, async () => {
    const rot = join(dir, 'rot');
    mkdirSync(rot);
    // Reading a file and writing pieces of ~1 MB; -Z root: tcpdump would drop to its own user, which cannot write here.
    const big = join(dir, 'big.pcap');
    expect(spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'synth', '--packets', '20000', '--flows', '150', '--seed', '9', '--out', big, '-q']).status).toBe(0);
    const t = spawnSync('tcpdump', ['-Z', 'root', '-r', big, '-w', join(rot, 'cap'), '-C', '1'], { encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    const names = readdirSync(rot);
    expect(names).toContain('cap10');
    const a = await cli([big, '--format', 'ndjson', '-q']);
    const r = await cli([rot, '--one-trace', '--format', 'ndjson', '-q']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(a.out);
  });
  it('the end line counts the pieces; pieces that overlap in time are said to, and still read', async () => {
    const r = await cli([...pieces, '--one-trace', '--format', 'ndjson']);
    expect(r.err).toMatch(/^tunnelscope: 4 pieces read as one trace\n/m);
    // The whole capture and a piece of it: the piece starts before the whole one ends.
    const o = await cli([whole, pieces[2]!, '--one-trace', '--format', 'ndjson']);
    expect(o.code).toBe(0);
    expect(o.err).toContain(`tunnelscope classify: --one-trace: ${pieces[2]} starts `);
    expect(o.err).toContain(`before the end of ${whole}`);
  });

  it('a corrupt or missing piece is reported by name and the trace goes on past it (exit 2)', async () => {
    const bad = join(dir, 'bad.pcap');
    // A header, then a record whose length is impossible.
    const b = Buffer.from(readFileSync(pieces[1]!));
    b.writeUInt32LE(0x7fffffff, 24 + 8);
    writeFileSync(bad, b);
    const r = await cli([pieces[0]!, bad, pieces[2]!, pieces[3]!, join(dir, 'gone.pcap'), '--one-trace', '--format', 'ndjson']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`tunnelscope classify: cannot read ${join(dir, 'gone.pcap')}: no such file\n`);
    expect(r.err).toMatch(new RegExp(`tunnelscope classify: ${bad}: at byte 24: `));
    const got = recs(r.out);
    // The flows of the last piece are there: the corrupt one did not end the trace.
    expect(got.length).toBeGreaterThan(0);
    expect(Math.max(...got.map((x) => x.packets))).toBeGreaterThan(0);
    expect(got.every((x) => x.capture === undefined)).toBe(true);
  });

  it('a piece named twice (itself and in its directory, or through a link) is read once, and said to', async () => {
    const a = await cli([whole, '--format', 'ndjson', '-q']);
    const link = join(dir, 'link-to-rot1');
    symlinkSync(pieces[1]!, link);
    const r = await cli([join(dir, 'pieces'), pieces[2]!, link, '--one-trace', '--format', 'ndjson']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(a.out);
    expect(r.err).toContain(`tunnelscope classify: --one-trace: ${pieces[2]} is ${pieces[2]} again: read once\n`);
    expect(r.err).toContain(`tunnelscope classify: --one-trace: ${link} is ${pieces[1]} again: read once\n`);
    expect(r.err).not.toMatch(/before the end of/);
    expect(r.err).toMatch(/^tunnelscope: 4 pieces read as one trace\n/m);
    const f = new Sink(), fe = new Sink();
    expect(await runFlows([join(dir, 'pieces'), pieces[3]!, '--one-trace', '--format', 'ndjson', '-q'], { stdout: f, stderr: fe, stdin: new PassThrough() })).toBe(0);
    expect(fe.text).toBe(`tunnelscope flows: --one-trace: ${pieces[3]} is ${pieces[3]} again: read once\n`);
  });

  it('pieces that are pipes (<(zcat piece.gz), FIFOs) are read once, in the order named, not probed for their first packet first', async () => {
    const a = await cli([whole, '--format', 'ndjson', '-q']);
    const fifos = pieces.map((_, k) => join(dir, `fifo${k}`));
    for (const f of fifos) expect(spawnSync('mkfifo', [f]).status).toBe(0);
    // Each writer blocks until the run opens its FIFO; a probe that read the head of a pipe left the run mid-stream.
    const writers = pieces.map((p, k) => spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', p, fifos[k]!]));
    const r = await cli([...fifos, '--one-trace', '--format', 'ndjson']);
    for (const w of writers) w.kill();
    expect([r.code, r.err.split('\n').filter((l) => !/^tunnelscope: /.test(l) && l !== '')]).toEqual([0, []]);
    expect(r.out).toBe(a.out);
  }, 20_000);

  it('a stop (SIGINT) ends the trace where it is: pieces not read are counted on the end line, exit 0', async () => {
    const signals = new EventEmitter();
    signals.on('newListener', (ev: string) => {
      if (ev === 'SIGINT') setImmediate(() => signals.emit('SIGINT'));
    });
    const stdout = new Sink(), stderr = new Sink();
    const code = await run([...pieces, '--one-trace', '--format', 'ndjson'], { stdout, stderr, stdin: new PassThrough(), signals });
    expect(code).toBe(0);
    expect(stderr.text).toMatch(/^tunnelscope: 4 pieces read as one trace, [1-4] not read \(stopped\)\n/m);
  });
  it('flows --one-trace lists the whole capture\'s flows (separately, a connection cut by a rotation is several)', async () => {
    const flows = async (argv: string[]) => {
      const stdout = new Sink(), stderr = new Sink();
      const code = await runFlows(argv, { stdout, stderr, stdin: new PassThrough() });
      return { code, out: stdout.text, err: stderr.text };
    };
    const a = await flows([whole, '--format', 'ndjson', '-q']);
    const r = await flows([...[...pieces].reverse(), '--one-trace', '--format', 'ndjson']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(a.out);
    expect(r.err).toMatch(/^tunnelscope flows: 4 pieces read as one trace\n/m);
    const apart = await flows([...pieces, '--format', 'ndjson', '-q']);
    expect(apart.out.split('\n').length).toBeGreaterThan(a.out.split('\n').length);
  });
  it('stdin is one stream already: --one-trace with - is a usage error', async () => {
    const r = await cli(['-', '--one-trace']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--one-trace/);
  });
});
