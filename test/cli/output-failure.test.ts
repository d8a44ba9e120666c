/**
 * Output that cannot be written (a full disk, a quota, EIO), as a service meets it: every command says so in one
 * line and exits 2, never a stack trace or exit 1 (a fault of ours), and a live run stops at once instead of reading
 * on for an output that takes nothing. A reader that goes away (EPIPE) stays quiet (exit 0).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { OutputSink, OutputWriteError } from '../../src/cli/output.js';
import { ROOT, SAMPLE_PCAP } from '../output/sample-records.js';

const BIN = join(ROOT, 'dist', 'cli.js');
const FULL = '/dev/full';
const noFull = !existsSync(FULL);
const ONE_LINE = /^tunnelscope( [a-z]+)?: cannot write output: no space left on the device\n$/;

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}

/** A stdout on a full disk: every write fails as a pipe's or file's stream reports it. */
class FullDisk extends Writable {
  override _write(_c: Buffer, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    cb(enospc());
  }
}

describe('OutputSink on a write error other than a broken pipe', () => {
  it('closes at once (calling onClosed once) and end() rejects with a one-line OutputWriteError', async () => {
    const sink = new OutputSink(new FullDisk());
    let closed = 0;
    sink.onClosed = () => closed++;
    sink.writeLine('{"a":1}');
    sink.flush();
    await new Promise((r) => setImmediate(r));
    expect(sink.closed).toBe(true);
    expect(closed).toBe(1);
    sink.writeLine('{"a":2}');
    sink.flush();
    const e = await sink.end().then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(OutputWriteError);
    expect((e as Error).message).toBe('cannot write output: no space left on the device');
    expect(closed).toBe(1);
  });

  it('a broken pipe closes it quietly: no error at the end', async () => {
    const pipe = new Writable({ write: (_c, _e, cb) => cb(Object.assign(new Error('EPIPE'), { code: 'EPIPE' })) });
    const sink = new OutputSink(pipe);
    let closed = 0;
    sink.onClosed = () => closed++;
    sink.writeLine('x');
    sink.flush();
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(1);
    await expect(sink.end()).resolves.toBeUndefined();
  });
});

describe('commands writing to a full disk (stdout on /dev/full)', () => {
  const run = (args: string[]) => {
    const fd = openSync(FULL, 'w');
    try {
      return spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', env: { ...process.env, TUNNELSCOPE_CODE_CACHE: '0' } });
    } finally {
      closeSync(fd);
    }
  };

  it.skipIf(noFull)('help, version, completion, classify (each format), flows: one line naming the failure, exit 2', () => {
    for (const args of [
      ['--help'],
      ['-V'],
      ['completion', 'bash'],
      ['classify', SAMPLE_PCAP, '-q'],
      ['classify', SAMPLE_PCAP, '-q', '--format', 'zeek'],
      ['classify', SAMPLE_PCAP, SAMPLE_PCAP, '-q', '--format', 'csv'],
      ['flows', SAMPLE_PCAP, '-q'],
    ]) {
      const r = run(args);
      expect(r.stderr, args.join(' ')).toMatch(ONE_LINE);
      expect(r.status, args.join(' ')).toBe(2);
    }
  });
});

describe('a live run whose output fails stops at once', () => {
  const sample = readFileSync(SAMPLE_PCAP);
  for (const args of [['classify', '-', '--emit', 'verdicts'], ['flows', '-']]) {
    it(`${args.join(' ')}: ends while its input is still open, exit 2`, async () => {
      const stdin = new PassThrough();
      const stderr = new PassThrough();
      let err = '';
      stderr.on('data', (c: Buffer) => (err += c.toString()));
      stdin.write(sample); // and the input stays open, as tcpdump's does
      const t0 = Date.now();
      const code = await Promise.race([
        main([...args, '--format', 'ndjson', '-q'], { stdin, stdout: new FullDisk(), stderr, signals: new EventEmitter(), exit: () => {} }),
        new Promise<string>((r) => setTimeout(() => r('still running'), 5000)),
      ]);
      stdin.end();
      expect(code).toBe(2);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(err).toMatch(ONE_LINE);
    });
  }

  it.skipIf(noFull)('the built CLI on /dev/full with tcpdump-like open stdin exits 2 within seconds', async () => {
    const fd = openSync(FULL, 'w');
    const child = spawn(process.execPath, [BIN, 'classify', '-', '--emit', 'verdicts', '-q'], { stdio: ['pipe', fd, 'pipe'], env: { ...process.env, TUNNELSCOPE_CODE_CACHE: '0' } });
    closeSync(fd);
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdin!.on('error', () => {}); // the child may be gone before this pipe is: that is the point
    child.stdin!.write(sample);
    const code = await Promise.race([
      new Promise<number | null>((r) => child.on('exit', (c) => r(c))),
      new Promise<string>((r) => setTimeout(() => r('still running'), 8000)),
    ]);
    child.stdin!.end();
    if (code === 'still running') child.kill();
    expect(code).toBe(2);
    expect(err).toMatch(ONE_LINE);
  });
});
