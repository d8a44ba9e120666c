/**
 * A reader that stops reading (a pager left open, a log shipper stuck on its own output) while the capture keeps
 * coming: classify used to go on reading the input and queue every line in memory (40 MB after 30 s at 4,000
 * flows/s, without bound). The input waits once the output holds OUTPUT_BACKLOG_BYTES its reader has not taken
 * (then tcpdump's pipe fills and the kernel drops, as for any slow consumer), and goes on when it drains.
 */
import { EventEmitter } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { OUTPUT_BACKLOG_BYTES } from '../../src/cli/output.js';
import { pcapHeader, pcapRecord, tcpExchange, wgHandshake, type Spec } from '../helpers/pcap-feed.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { sleep } from '../helpers/live-capture.js';

/** stdout whose reader has stopped: nothing is taken until `resume()`. */
class Stalled extends Writable {
  text = '';
  private held: (() => void)[] = [];
  private flowing = false;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    if (this.flowing) cb();
    else this.held.push(cb);
  }
  resume(): void {
    this.flowing = true;
    for (const cb of this.held.splice(0)) cb();
  }
}

/** `n` flows of `flow(i)` (a WireGuard handshake: one verdict line; a closed TCP exchange: one record), as pcap. */
function capture(n: number, flow: (i: number) => Spec[]): Buffer {
  const parts: Uint8Array[] = [pcapHeader()];
  let ts = Date.now() * 1000;
  for (let i = 0; i < n; i++) for (const s of flow(i)) parts.push(pcapRecord(buildFrame(s), (ts += 10)));
  return Buffer.concat(parts);
}
const client = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const wg = (i: number): Spec[] => wgHandshake(client(i), '198.51.100.9', 20000 + (i % 40000), i);
const tcp = (i: number): Spec[] => tcpExchange(client(i), '198.51.100.9', 20000 + (i % 40000), i);

/**
 * Run `args` on the capture with a stalled stdout: how much of the input it read and how much output it queued
 * while nobody read; then the reader comes back, the input ends, and every line arrives.
 */
async function stalledRun(args: string[], input: Buffer, lines: (text: string) => number, n: number): Promise<void> {
  const stdin = new PassThrough({ highWaterMark: 1 << 16 });
  const stdout = new Stalled();
  const stderr = new PassThrough();
  stderr.resume();
  const done = main([...args, '-', '--format', 'ndjson'], { stdin, stdout, stderr, signals: new EventEmitter(), exit: () => {} });
  let offered = 0;
  const step = 1 << 16;
  // Write as the reader takes it: how far the input gets shows whether the run still reads.
  const pump = async (): Promise<void> => {
    while (offered < input.length) {
      const more = stdin.write(input.subarray(offered, offered + step));
      offered += step;
      if (!more) await Promise.race([new Promise((r) => stdin.once('drain', r)), sleep(1000)]);
      if (!more && stdin.writableNeedDrain) return; // no longer read
    }
  };
  await pump();
  await sleep(300);
  expect(stdout.writableLength).toBeLessThan(OUTPUT_BACKLOG_BYTES + (4 << 20));
  expect(offered).toBeLessThan(input.length);
  stdout.resume();
  await pump();
  stdin.end();
  expect(await done).toBe(0);
  expect(lines(stdout.text)).toBe(n);
}

const count = (what: string) => (text: string): number => text.split('\n').filter((l) => l.includes(what)).length;

describe('a stalled reader', () => {
  // Verdict lines are ~500 bytes, records ~400: enough flows for several times the bound.
  const n = Math.ceil((4 * OUTPUT_BACKLOG_BYTES) / 400);

  it('classify stops reading the input once the output backlog passes its bound, and goes on when the reader does', async () => {
    await stalledRun(['classify', '--emit', 'verdicts', '--no-default-domains'], capture(n, wg), count('"event":"verdict"'), n);
  }, 60_000);

  it('flows: the same', async () => {
    // No linger: a closed connection's record is due at its last packet.
    await stalledRun(['flows', '--tcp-linger', '0'], capture(n, tcp), count('"end":"fin"'), n);
  }, 60_000);
});
