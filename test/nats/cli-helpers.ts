/** Running the built CLI as separate processes (sensors, workers) and reading their stderr as it comes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { onText } from '../helpers/text-stream.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli.js');

export interface CliProc {
  proc: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  /** Resolves with the first stderr line matching `re` (seen before or after the call). */
  line(re: RegExp, ms?: number): Promise<string>;
  /** Resolves with the exit code. */
  exit: Promise<number | null>;
}

export function startCli(args: string[], opts: { stdin?: 'pipe' | 'ignore' } = {}): CliProc {
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  const check = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      const l = err.split('\n').find((x) => w.re.test(x));
      if (l !== undefined) {
        waiters.splice(i, 1);
        w.resolve(l);
      }
    }
  };
  onText(proc.stderr!, (t) => {
    err += t;
    check();
  });
  onText(proc.stdout!, (t) => {
    out += t;
  });
  const exit = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return {
    proc,
    stderr: () => err,
    stdout: () => out,
    exit,
    line(re: RegExp, ms = 30_000): Promise<string> {
      return new Promise((resolvePromise, reject) => {
        const t = setTimeout(() => reject(new Error(`no stderr line ${re} in ${ms} ms; stderr so far:\n${err}`)), ms);
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(t);
            resolvePromise(l);
          },
        });
        check();
      });
    },
  };
}

/** Run the CLI to the end: exit code, stdout, stderr. */
export async function runCli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = startCli(args);
  const code = await p.exit;
  return { code, out: p.stdout(), err: p.stderr() };
}

/**
 * Where a little-endian classic pcap splits before packet `n` (0-based): the byte offset of that packet's record,
 * the timestamp (µs) of the packet before it, and the file's packet count.
 */
export function pcapSplit(file: string, n: number): { offset: number; lastTsUs: number; count: number } {
  const b = readFileSync(file);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  if (dv.getUint32(0, true) !== 0xa1b2c3d4) throw new Error('expected a little-endian microsecond pcap');
  let o = 24;
  let i = 0;
  let offset = -1;
  let lastTsUs = 0;
  while (o + 16 <= b.length) {
    if (i === n) offset = o;
    if (i === n - 1) lastTsUs = dv.getUint32(o, true) * 1e6 + dv.getUint32(o + 4, true);
    o += 16 + dv.getUint32(o + 8, true);
    i++;
  }
  return { offset, lastTsUs, count: i };
}
