/**
 * `classify` over several captures and directories (one warm process, each capture its own session, records
 * tagged with `capture`), `--jobs`, and `--workers auto` / an explicit count that cannot pay.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/classify.js';
import { Sink } from '../helpers/sink.js';
import { LOCKED_DIR, LOCKED_DIR_REFUSED } from '../helpers/locked-dir.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SAMPLE = join(ROOT, 'fixtures', 'sample.pcap');
const TUNNELS = join(ROOT, 'fixtures', 'trace', 'tunnels.pcap');

async function cli(argv: string[]) {
  const stdout = new Sink(), stderr = new Sink();
  const code = await run(argv, { stdout, stderr, stdin: new PassThrough() });
  return { code, out: stdout.text, err: stderr.text };
}
/** Through the built CLI (dist/): worker threads need the built worker. */
function built(argv: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'classify', ...argv], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
const lines = (s: string) => s.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { capture?: string; src: string });

describe('classify with several captures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ts-several-'));
  mkdirSync(join(dir, 'sub'));
  copyFileSync(SAMPLE, join(dir, 'one.cap'));
  copyFileSync(TUNNELS, join(dir, 'sub', 'two'));
  writeFileSync(join(dir, 'README'), 'not a capture');

  it('a directory: each capture alone, in name order, every record names its capture; a single file has no capture field', async () => {
    const a = await cli([SAMPLE, '--format', 'ndjson', '-q']);
    const b = await cli([TUNNELS, '--format', 'ndjson', '-q']);
    expect(lines(a.out).every((r) => r.capture === undefined)).toBe(true);
    const all = await cli([dir, '--format', 'ndjson']);
    expect(all.code).toBe(0);
    const want = [...lines(a.out).map((r) => ({ ...r, capture: join(dir, 'one.cap') })), ...lines(b.out).map((r) => ({ ...r, capture: join(dir, 'sub', 'two') }))];
    expect(lines(all.out)).toEqual(want);
    expect(all.err).toMatch(/2 captures, 1 non-capture files skipped/);
  });
  it('files and directories mixed, --jobs 2 gives the same output as --jobs 1', async () => {
    const one = built([SAMPLE, dir, '--format', 'ndjson', '-q', '--jobs', '1']);
    const two = built([SAMPLE, dir, '--format', 'ndjson', '-q', '--jobs', '2']);
    expect(two.code).toBe(0);
    expect(two.out).toBe(one.out);
    expect(new Set(lines(one.out).map((r) => r.capture))).toEqual(new Set([SAMPLE, join(dir, 'one.cap'), join(dir, 'sub', 'two')]));
  });
  it('a corrupt capture is reported by name, the others still run, exit 2', async () => {
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, Buffer.concat([readFileSync(SAMPLE).subarray(0, 24), Buffer.alloc(16, 0xff)]));
    const r = await cli([bad, SAMPLE, '--format', 'ndjson']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.pcap/);
    expect(lines(r.out).length).toBe(lines((await cli([SAMPLE, '--format', 'ndjson', '-q'])).out).length);
  });
  // A directory even root cannot list (test/helpers/locked-dir.ts) stands in for an unreadable one.
  const locked = LOCKED_DIR;
  const refused = LOCKED_DIR_REFUSED;
  it.skipIf(!refused)('a subdirectory that cannot be listed is reported by name, the captures beside it still run, exit 2', async () => {
    const d = mkdtempSync(join(tmpdir(), 'ts-several-locked-'));
    copyFileSync(SAMPLE, join(d, 'a.pcap'));
    symlinkSync(locked, join(d, 'locked\x1b[2J'));
    const alone = lines((await cli([SAMPLE, '--format', 'ndjson', '-q'])).out);
    for (const jobs of ['1', '2']) {
      const r = jobs === '1' ? await cli([d, '--format', 'ndjson']) : built([d, '--format', 'ndjson', '--jobs', jobs]);
      expect(r.code).toBe(2);
      expect(lines(r.out)).toHaveLength(alone.length);
      expect(r.err).toContain(`tunnelscope classify: cannot read ${join(d, 'locked\\x1b[2J')}: permission denied\n`);
      expect(r.err).toMatch(/1 captures, 1 unreadable, /);
    }
  });
  it('a missing capture named beside others is reported before the run, the others still run, exit 2 (as a corrupt one)', async () => {
    const alone = lines((await cli([SAMPLE, '--format', 'ndjson', '-q'])).out);
    const nope = join(dir, 'no\x1bpe.pcap');
    const r = await cli([SAMPLE, nope, TUNNELS, '--format', 'ndjson']);
    expect(r.code).toBe(2);
    expect(lines(r.out).filter((x) => x.capture === SAMPLE)).toHaveLength(alone.length);
    expect(lines(r.out).some((x) => x.capture === TUNNELS)).toBe(true);
    expect(r.err).toContain(`tunnelscope classify: cannot read ${join(dir, 'no\\x1bpe.pcap')}: no such file\n`);
    expect(r.err).toMatch(/2 captures, 1 unreadable, /);
    // Nothing left to read: the one line, exit 2, no records.
    const none = await cli([nope, join(dir, 'nope2'), '--format', 'ndjson']);
    expect([none.code, none.out]).toEqual([2, '']);
    expect(none.err.split('\n').filter((l) => l.includes('cannot read'))).toHaveLength(2);
  });
  it('SIGHUP during a batch: noted on stderr, the run goes on (it used to die of the signal, exit 129)', async () => {
    const signals = new EventEmitter();
    // Sent as soon as the run listens for it.
    signals.on('newListener', (ev: string) => {
      if (ev === 'SIGHUP') setImmediate(() => signals.emit('SIGHUP'));
    });
    const stdout = new Sink(), stderr = new Sink();
    const code = await run([SAMPLE, TUNNELS, '--format', 'ndjson'], { stdout, stderr, stdin: new PassThrough(), signals });
    expect(code).toBe(0);
    expect(stderr.text).toContain('SIGHUP: a run over several captures keeps the lists it started with');
    expect(new Set(lines(stdout.text).map((r) => r.capture))).toEqual(new Set([SAMPLE, TUNNELS]));
    expect(signals.listenerCount('SIGHUP')).toBe(0);
  });
  it('every format names the capture of each record (csv and zeek in their capture column, eve in tunnelscope, a table in CAPTURE)', async () => {
    const n = lines((await cli([SAMPLE, TUNNELS, '--format', 'ndjson', '-q'])).out).length;
    for (const format of ['csv', 'zeek', 'zeek-json', 'eve', 'table']) {
      const out = (await cli([SAMPLE, TUNNELS, '--format', format, '-q'])).out;
      const rows = out.split(/\r?\n/).filter((l) => l.includes(SAMPLE) || l.includes(TUNNELS));
      expect(rows, format).toHaveLength(n);
    }
    const csv = (await cli([SAMPLE, TUNNELS, '--format', 'csv', '-q'])).out.split('\r\n');
    expect(csv[0]!.split(',').at(-1)).toBe('capture');
    expect(csv[1]!.split(',').at(-1)).toBe(SAMPLE);
    const eve = JSON.parse((await cli([SAMPLE, TUNNELS, '--format', 'eve', '-q'])).out.split('\n')[0]!) as { tunnelscope: { capture: string } };
    expect(eve.tunnelscope.capture).toBe(SAMPLE);
    // One capture: the column is there and empty (csv), unset (zeek '-'), absent (eve), not shown (table).
    const one = (await cli([SAMPLE, '--format', 'csv', '-q'])).out.split('\r\n');
    expect(one[1]!.endsWith(',false,')).toBe(true);
    expect((await cli([SAMPLE, '--format', 'table', '-q'])).out).not.toContain('CAPTURE');
  });
  it("'-' cannot be mixed with files; an empty directory is an error", async () => {
    expect((await cli(['-', SAMPLE])).code).toBe(2);
    const empty = mkdtempSync(join(tmpdir(), 'ts-empty-'));
    const r = await cli([empty]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no pcap or pcapng captures/);
  });
});

describe('--workers auto and explicit counts (built CLI)', () => {
  it('auto is the default and says nothing; an explicit count above what pays says so on stderr (not with -q)', async () => {
    const auto = await cli([SAMPLE, '--format', 'ndjson']);
    expect(auto.err).not.toMatch(/not expected to be faster/);
    if (availableParallelism() <= 2) {
      const two = built([SAMPLE, '--format', 'ndjson', '--workers', '2']);
      expect(two.err).toMatch(/--workers 2 is not expected to be faster here \(2 CPUs.*--workers auto would use 1/);
      expect(two.out).not.toBe('');
      expect(built([SAMPLE, '--format', 'ndjson', '--workers', '2', '-q']).err).toBe('');
    }
    expect((await cli([SAMPLE, '--workers', 'many'])).code).toBe(2);
  });
});
