import { EventEmitter } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { choiceFlag, numberFlag, UsageError } from '../../src/cli/args.js';
import { main } from '../../src/cli/main.js';
import { reportUsage } from '../../src/cli/program.js';
import { TableWriter } from '../../src/cli/table.js';
import { defaultFormat, isBrokenPipe, isoMicros, NdjsonWriter, OutputSink, OutputWriteError } from '../../src/cli/output.js';

class Sink extends Writable {
  text = '';
  writes = 0;
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    this.writes++;
    cb();
  }
}

describe('cli/args', () => {
  const io = () => ({ stdout: new Sink(), stderr: new Sink(), stdin: process.stdin });
  it('turns every bad command line into one message line plus a help hint, exit 2, nothing on stdout', async () => {
    for (const argv of [['flows', '--nope'], ['flows', '--format'], ['flows', '-x'], ['classify', '--workers'], ['nope']]) {
      const o = io();
      expect(await main(argv, o), argv.join(' ')).toBe(2);
      const lines = o.stderr.text.trimEnd().split('\n');
      expect(lines, argv.join(' ')).toHaveLength(2);
      expect(lines[0]).toMatch(/^tunnelscope( flows| classify)?: /);
      expect(lines[1]).toMatch(/--help' for the options\)$/);
      expect(o.stdout.text).toBe('');
    }
  });
  it('validates numbers and choices', () => {
    expect(numberFlag('n', undefined, { max: 10 })).toBeUndefined();
    expect(numberFlag('n', '2.5', { min: 0, max: 10 })).toBe(2.5);
    expect(() => numberFlag('n', '2.5', { integer: true, max: 10 })).toThrow(UsageError);
    for (const bad of ['', ' ', 'abc', 'NaN', 'Infinity', '-1', '1e400', '11']) {
      expect(() => numberFlag('n', bad, { min: 0, max: 10 }), bad).toThrow(/--n must be/);
    }
    expect(choiceFlag('format', undefined, ['a', 'b'], 'a')).toBe('a');
    expect(choiceFlag('format', 'b', ['a', 'b'], 'a')).toBe('b');
    expect(() => choiceFlag('format', 'c', ['a', 'b'], 'a')).toThrow(/one of a, b/);
  });
  it('reportUsage prints message and the help hint, returns 2', () => {
    const o = io();
    expect(reportUsage(o, 'flows', 'bad')).toBe(2);
    expect(o.stderr.text).toBe("tunnelscope flows: bad\n(run 'tunnelscope flows --help' for the options)\n");
  });
});

describe('cli/output', () => {
  it('isoMicros keeps microseconds (property: round-trips through Date for the millisecond part)', () => {
    expect(isoMicros(1_700_000_000_123_456)).toBe('2023-11-14T22:13:20.123456Z');
    expect(isoMicros(0)).toBe('1970-01-01T00:00:00.000000Z');
    fc.assert(fc.property(fc.integer({ min: 0, max: 4_000_000_000_000_000 }), (us) => {
      const s = isoMicros(us);
      expect(s).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(Date.parse(s) * 1000 + Number(s.slice(-4, -1))).toBe(us);
    }), { numRuns: 200 });
    // Timestamps from a few seconds 256 s apart (one cache entry) and neighbours (hits), against Date's own text.
    const naive = (us: number): string => new Date(Math.floor(us / 1000)).toISOString().slice(0, 23) + String(us % 1000).padStart(3, '0') + 'Z';
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(3), fc.nat(2), fc.nat(999_999)), { minLength: 1, maxLength: 20 }), (xs) => {
      for (const [a, b, f] of xs) {
        const us = (1_700_000_000 + a * 256 + b) * 1e6 + f;
        expect(isoMicros(us)).toBe(naive(us));
      }
    }), { numRuns: 300 });
  });
  it('defaultFormat follows isTTY', () => {
    expect(defaultFormat({ isTTY: true })).toBe('table');
    expect(defaultFormat({})).toBe('ndjson');
  });
  it('batches writes and writes ndjson and tables', async () => {
    const s = new Sink();
    const sink = new OutputSink(s);
    const nd = new NdjsonWriter(sink);
    for (let i = 0; i < 1000; i++) nd.write({ i });
    const t = new TableWriter<{ a: string; n: number }>(sink, [
      { header: 'A', min: 4, cell: (r) => r.a },
      { header: 'N', min: 3, align: 'right', cell: (r) => String(r.n) },
    ]);
    t.write({ a: 'x', n: 5 });
    t.write({ a: 'long-cell', n: 12345 });
    t.end();
    await sink.end();
    const lines = s.text.split('\n');
    expect(lines).toHaveLength(1004);
    expect(JSON.parse(lines[999]!)).toEqual({ i: 999 });
    // Widths fitted to the held rows: the long cell widens its column for every row, header included.
    expect(lines.slice(1000, 1003)).toEqual(['A              N', 'x              5', 'long-cell  12345']);
    expect(s.writes).toBeLessThan(5);
  });
  it('a cell cut to its column width never splits a character outside the BMP (a half pair prints as U+FFFD)', async () => {
    const s = new Sink();
    const sink = new OutputSink(s);
    const t = new TableWriter<{ a: string }>(sink, [{ header: 'A', max: 6, cell: (r) => r.a }, { header: 'B', cell: () => 'b' }]);
    for (const a of ['ab😀😀😀', 'a😀😀😀', '😀😀😀😀']) t.write({ a });
    t.end();
    await sink.end();
    expect(s.text).not.toContain('\ufffd');
    expect(s.text.split('\n').slice(1, 4).map((l) => l.split(/ +/)[0])).toEqual(['ab😀…', 'a😀😀…', '😀😀…']);
  });
  it('texts larger than a batch, multi-byte characters and a newline at the batch edge come out whole and in order', async () => {
    const s = new Sink();
    const sink = new OutputSink(s);
    const big = 'a→'.repeat(100_000); // 300 KB of UTF-8: over one batch
    sink.write('start ');
    sink.write(big);
    for (let i = 0; i < 40_000; i++) sink.writeLine(`${i} ≥ 𝄞`);
    await sink.end();
    const want = ['start ', big, ...Array.from({ length: 40_000 }, (_, i) => `${i} ≥ 𝄞\n`)].join('');
    expect(s.text).toBe(want);
  });
  it('a regular file or /dev/null behind the stream is written directly, in order, with nothing through the stream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-out-'));
    const path = join(dir, 'out.ndjson');
    const fd = openSync(path, 'w');
    const s = Object.assign(new Sink(), { fd });
    const sink = new OutputSink(s);
    const nd = new NdjsonWriter(sink);
    for (let i = 0; i < 20_000; i++) nd.write({ i, text: 'é'.repeat(i % 7) }); // several batches, multi-byte UTF-8
    await sink.end();
    closeSync(fd);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(20_000);
    expect(JSON.parse(lines[12_345]!)).toEqual({ i: 12_345, text: 'é'.repeat(12_345 % 7) });
    expect(s.writes).toBe(0);
    const nul = openSync('/dev/null', 'w');
    const s2 = Object.assign(new Sink(), { fd: nul });
    const sink2 = new OutputSink(s2);
    new NdjsonWriter(sink2).write({ a: 1 });
    await sink2.end();
    closeSync(nul);
    expect(s2.writes).toBe(0);
    rmSync(dir, { recursive: true });
  });
  it('a broken pipe closes the sink quietly; other errors surface at end()', async () => {
    const fake = Object.assign(new EventEmitter(), {
      write: (_t: string, cb?: () => void) => { cb?.(); return true; },
    }) as unknown as NodeJS.WritableStream;
    const sink = new OutputSink(fake);
    fake.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(sink.closed).toBe(true);
    sink.write('dropped');
    await expect(sink.end()).resolves.toBeUndefined();
    const fake2 = Object.assign(new EventEmitter(), { write: (_t: string, cb?: () => void) => { cb?.(); return true; } }) as unknown as NodeJS.WritableStream;
    const sink2 = new OutputSink(fake2);
    fake2.emit('error', Object.assign(new Error('disk full'), { code: 'ENOSPC' }));
    // Said the CLI's way (the reason in words, exit 2 at the action), the system's error kept as its cause.
    expect(sink2.closed).toBe(true);
    const e = await sink2.end().then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(OutputWriteError);
    expect((e as OutputWriteError).message).toBe('cannot write output: no space left on the device');
    expect(((e as OutputWriteError).cause as Error).message).toBe('disk full');
    expect(isBrokenPipe({ code: 'EPIPE' })).toBe(true);
    expect(isBrokenPipe(new Error('x'))).toBe(false);
  });
});
