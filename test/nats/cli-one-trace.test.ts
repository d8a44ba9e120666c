/**
 * `fleet submit --one-trace`: the pieces of one recording (here written by the real tcpdump -C) go to the fleet as
 * one job, and its worker reads them as one trace, so the merged records equal `classify --one-trace` on the same
 * pieces. Submitted one job per file, a connection that spans a rotation is cut and its later pieces come out
 * ordinary (measured: 481 records instead of 150 on this set).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsServerBinary, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { ensureTools } from '../helpers/tools.js';
import { CLI, runCli, startCli, type CliProc } from './cli-helpers.js';
import { plain } from './fleet-corpus.js';
import { connectNats } from '../../src/nats/connect.js';
import { submitJobs } from '../../src/nats/jobs.js';

const nats = natsServerBinary();
const noTcpdump = ensureTools('tcpdump');
const why = !nats.bin ? nats.why : noTcpdump ?? '';
if (why) console.warn(`test/nats/cli-one-trace: skipped: ${why}`);

const ndjson = (text: string): Array<Record<string, unknown>> => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

describe.skipIf(why !== '')(`fleet submit --one-trace${why ? ` (skipped: ${why})` : ''}`, () => {
  let server: NatsServer;
  const procs: CliProc[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'ts-fleet-one-trace-'));
  const rot = join(dir, 'rot');
  let pieces: string[] = [];
  let alone: string[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    const big = join(dir, 'big.pcap');
    expect(spawnSync(process.execPath, [CLI, 'synth', '--packets', '20000', '--flows', '150', '--seed', '9', '--out', big, '-q']).status).toBe(0);
    mkdirSync(rot);
    // ~1 MB pieces named cap, cap1, … cap12 (name order is not time order); -Z root: tcpdump would drop to a user
    // that cannot write here.
    const t = spawnSync('tcpdump', ['-Z', 'root', '-r', big, '-w', join(rot, 'cap'), '-C', '1'], { encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    pieces = readdirSync(rot).map((n) => join(rot, n));
    expect(pieces.length).toBeGreaterThan(10);
    const one = await runCli(['classify', '--one-trace', rot, '--format', 'ndjson', '-q']);
    expect([one.code, one.err]).toEqual([0, '']);
    alone = ndjson(one.out).map(plain).sort();
  }, 120_000);
  afterAll(async () => {
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
    await server?.close();
  });

  function worker(id: string): CliProc {
    const w = startCli(['fleet', 'work', '--nats', server.url, '--id', id, '--idle-exit', '4']);
    procs.push(w);
    return w;
  }

  it('a directory of tcpdump -C pieces is one job; its records equal classify --one-trace on the same pieces', async () => {
    const w = worker('w1');
    await w.line(/waiting for jobs/);
    const r = await runCli(['fleet', 'submit', '--nats', server.url, '--one-trace', '--batch', 'rot1', '--wait', '--timeout', '60', '--format', 'ndjson', rot]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`batch rot1: 1 job(s) submitted (${pieces.length} pieces of one trace, in first-packet order)\n`);
    expect(r.err).toMatch(new RegExp(`job rot1-1 done on "w1" \\(attempt 1\\): ${alone.length} records`));
    const merged = ndjson(r.out);
    expect(merged.map(plain).sort()).toEqual(alone);
    // Every record names the job's trace: its first piece (by first-packet time) and how many pieces.
    expect(new Set(merged.map((m) => m.capture))).toEqual(new Set([`${join(rot, 'cap')} (one trace, ${pieces.length} pieces)`]));
    await w.exit;
  }, 90_000);

  it('pieces named in any order, with a missing and a corrupt one: both reported, the rest read as one trace, exit 2', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad);
    // A piece cut inside a record header after its first packets: corrupt, as a disk-full rotation leaves one.
    const lastPiece = readFileSync(join(rot, `cap${pieces.length - 1}`));
    writeFileSync(join(bad, 'cut'), lastPiece.subarray(0, 24 + 16 + 5));
    const missing = join(dir, 'no-such-piece');
    const w = worker('w2');
    await w.line(/waiting for jobs/);
    const named = [...pieces].reverse();
    // The pieces named one by one and again in their directory: each is one piece of the job.
    const r = await runCli(['fleet', 'submit', '--nats', server.url, '--one-trace', '--batch', 'rot2', '--wait', '--timeout', '60', '--format', 'ndjson', missing, ...named, join(bad, 'cut'), rot]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain(`tunnelscope fleet submit: --one-trace: ${join(rot, 'cap')} is ${join(rot, 'cap')} again: read once`);
    expect(r.err).toMatch(new RegExp(`done on "w2" \\(attempt 1\\): \\d+ records, ${pieces.length + 1} pieces read as one trace, 1 failed`));
    expect(r.err).toContain(`tunnelscope fleet submit: cannot read ${missing}: no such file`);
    expect(r.err).toMatch(/job rot2-1 .*: .*cut.*(truncated|corrupt|header|record)/i);
    const one = await runCli(['classify', '--one-trace', ...named, '--format', 'ndjson', '-q']);
    expect(ndjson(r.out).map(plain).sort()).toEqual(ndjson(one.out).map(plain).sort());
    await w.exit;
  }, 90_000);

  it('a piece gone when the job runs: given back untouched (no record) until the last delivery, which reads the rest and says so', async () => {
    const copy = join(dir, 'copy');
    mkdirSync(copy);
    for (const p of pieces) writeFileSync(join(copy, p.slice(rot.length + 1)), readFileSync(p));
    const submit = startCli(['fleet', 'submit', '--nats', server.url, '--one-trace', '--batch', 'rot3', '--wait', '--timeout', '60', '--format', 'ndjson', copy]);
    procs.push(submit);
    await submit.line(/batch rot3: 1 job\(s\) submitted/);
    const gone = join(copy, 'cap3');
    rmSync(gone);
    const w = worker('w3');
    expect(await submit.exit, submit.stderr()).toBe(2);
    const err = submit.stderr();
    expect(err).toContain(`job rot3-1 "${copy}/cap (one trace, ${pieces.length} pieces)" failed on "w3" (attempt 1, will retry): "cannot read ${gone}: no such file`);
    expect(err).toMatch(/job rot3-1 .* failed on "w3" \(attempt 2, will retry\)/);
    expect(err).toContain(`tunnelscope fleet submit: job rot3-1 on "w3": cannot read ${gone}: no such file`);
    expect(err).toMatch(/job rot3-1 done on "w3" \(attempt 3\): \d+ records, \d+ pieces read as one trace, 1 failed/);
    // The records are those of the last delivery alone (the first two published none): classify --one-trace on what is left.
    const one = await runCli(['classify', '--one-trace', copy, '--format', 'ndjson', '-q']);
    expect(ndjson(submit.stdout()).map(plain).sort()).toEqual(ndjson(one.out).map(plain).sort());
    await w.exit;
  }, 90_000);

  it("a one-trace job larger than the server's max_payload is refused with what to do", async () => {
    const nc = await connectNats(server.url);
    try {
      const many = Array.from({ length: 20_000 }, (_, i) => `/spool/a-rather-long-directory-name/ring-buffer-piece-${String(i).padStart(6, '0')}.pcap`);
      await expect(submitJobs(nc, many, { oneTrace: true, batch: 'big1' })).rejects.toThrow(/max_payload.*one-trace job holds the paths of its 20000 pieces, \d+ bytes: raise the server's max_payload/);
    } finally {
      await nc.close();
    }
  });

  it('without --one-trace, a directory is walked as classify walks it: one job per capture in it, not one job that fails on a directory', async () => {
    const w = worker('w4');
    await w.line(/waiting for jobs/);
    const r = await runCli(['fleet', 'submit', '--nats', server.url, '--batch', 'dir1', '--wait', '--timeout', '60', '--format', 'ndjson', rot]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`batch dir1: ${pieces.length} job(s) submitted`);
    const apart = await runCli(['classify', rot, '--format', 'ndjson', '-q']);
    const merged = ndjson(r.out);
    expect(merged.map(plain).sort()).toEqual(ndjson(apart.out).map(plain).sort());
    expect(new Set(merged.map((m) => m.capture))).toEqual(new Set(ndjson(apart.out).map((m) => m.capture)));
    const empty = join(dir, 'no-captures');
    mkdirSync(empty);
    writeFileSync(join(empty, 'notes.txt'), 'not a capture\n');
    const e = await runCli(['fleet', 'submit', '--nats', server.url, empty]);
    expect([e.code, e.out]).toEqual([2, '']);
    expect(e.err).toContain(`tunnelscope fleet submit: no pcap or pcapng captures in ${empty}`);
    await w.exit;
  }, 90_000);

  it('usage: --one-trace takes no stdin; a set without a capture submits nothing, exit 2', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const r = await runCli(['fleet', 'submit', '--nats', server.url, '--one-trace', empty]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`tunnelscope fleet submit: no pcap or pcapng captures in ${empty}`);
    expect(r.err).not.toMatch(/submitted/);
    const s = await runCli(['fleet', 'submit', '--nats', server.url, '--one-trace', '-']);
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/^tunnelscope fleet submit: --one-trace reads capture files/);
  });
});
