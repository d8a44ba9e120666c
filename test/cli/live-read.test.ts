/** The CLI's stoppable file read (live.ts readFileUntil) keeps the reader's data-handling promise: buffers wiped. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFileUntil, StopFlag } from '../../src/cli/live.js';
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
