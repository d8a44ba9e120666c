/** The CLI's stoppable file read (live.ts readFileUntil) keeps the reader's data-handling promise: buffers wiped. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { readFileUntil, readStreamUntil, StopFlag } from '../../src/cli/live.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { pcapHeader, pcapRecord, udpDatagram } from '../helpers/pcap-feed.js';

describe('readFileUntil', () => {
  it('delivers every packet, then zeroes the read buffer its packets pointed into', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-live-read-'));
    const path = join(dir, 't.pcap');
    const frames = [0, 1, 2].map((i) => buildFrame(udpDatagram(`10.0.0.${i + 1}`, '198.51.100.1', 40000 + i, 51820, i)));
    writeFileSync(path, Buffer.concat([pcapHeader(), ...frames.map((f, i) => pcapRecord(f, 1_700_000_000_000_000 + i))]));
    const seen: { data: Uint8Array; offset: number; len: number }[] = [];
    const res = await readFileUntil(path, (p) => {
      expect(p.data.subarray(p.offset, p.offset + p.capLen)).toEqual(frames[seen.length]);
      seen.push({ data: p.data, offset: p.offset, len: p.capLen });
    }, new StopFlag());
    expect(res.complete).toBe(true);
    expect(seen).toHaveLength(3);
    for (const s of seen) expect(s.data.subarray(s.offset, s.offset + s.len).every((b) => b === 0)).toBe(true);
  });
});

describe('readStreamUntil', () => {
  it('a stop requested before the read starts (a signal while the lists loaded) ends it at once on a silent input', async () => {
    const stop = new StopFlag();
    stop.request('SIGINT');
    const silent = new PassThrough(); // a live pipe on a quiet link: open, no byte
    const t0 = performance.now();
    const res = await readStreamUntil(silent, 'stdin', () => {}, stop);
    expect(res.complete).toBe(false);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(silent.destroyed).toBe(true);
  });

  it('onRequest after the request calls back once, unless unsubscribed first', async () => {
    const stop = new StopFlag();
    stop.request('SIGTERM');
    let calls = 0;
    stop.onRequest(() => calls++);
    const off = stop.onRequest(() => calls++);
    off();
    await Promise.resolve();
    expect(calls).toBe(1);
  });
});

describe('StopFlag.endReason', () => {
  it('the end reason is decided once; a stop after it (racing the input end) changes neither the records nor the note', () => {
    const late = new StopFlag();
    expect(late.endReason('eof')).toBe('eof');
    late.request('SIGINT'); // came while the pool was ending the flows with eof
    expect(late.note('tunnelscope', late.endedFlows)).toBe('');
    const early = new StopFlag();
    early.request('SIGTERM');
    expect(early.endReason('eof')).toBe('stop');
    expect(early.note('tunnelscope', early.endedFlows)).toBe("tunnelscope: stopped by SIGTERM: live flows ended with reason 'stop'\n");
  });
});
