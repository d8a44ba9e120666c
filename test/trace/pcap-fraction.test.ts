/**
 * A classic pcap record's fraction field must be less than a second: microseconds < 10^6, nanoseconds < 10^9. Found
 * with a hand-made record of usec 1,500,000 at second 100: it was delivered at 101.5 s, after the next record at
 * 100.9 s (time ran past the next second and back). Such a record names no time: it is counted as a per-packet
 * problem (ReaderStats.badTimestamps, `bad-timestamp` in the runs' skipped counts) and not delivered, as an
 * impossible pcapng time is; the records around it are. Every door agrees: a buffer, chunks cut anywhere, a file,
 * a stream, and the first packet time the pieces are ordered by.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstPacketTime, readCaptureBuffer, readCaptureFileSync, readCaptureStream } from '../../src/trace/reader.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import type { RawPacket } from '../../src/trace/types.js';
import { run as flows } from '../../src/cli/flows.js';
import { Sink } from '../helpers/sink.js';
import { readChunked } from './reader-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ts-pcap-frac-'));

interface Rec { sec: number; frac: number; port: number }

/** Classic pcap bytes: µs or ns magic, either byte order; one small UDP frame per record. */
function pcap(recs: readonly Rec[], nanos: boolean, le: boolean): Uint8Array {
  const frames = recs.map((r) => buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, srcPort: r.port, dstPort: 53, payload: new Uint8Array(4) }));
  const out = new Uint8Array(24 + frames.reduce((a, f) => a + 16 + f.length, 0));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, nanos ? 0xa1b23c4d : 0xa1b2c3d4, le);
  dv.setUint16(4, 2, le);
  dv.setUint16(6, 4, le);
  dv.setUint32(16, 65535, le);
  dv.setUint32(20, 1, le);
  let o = 24;
  recs.forEach((r, i) => {
    const f = frames[i]!;
    dv.setUint32(o, r.sec, le);
    dv.setUint32(o + 4, r.frac, le);
    dv.setUint32(o + 8, f.length, le);
    dv.setUint32(o + 12, f.length, le);
    out.set(f, o + 16);
    o += 16 + f.length;
  });
  return out;
}

const times = (ps: RawPacket[] | { tsUs: number }[]): number[] => ps.map((p) => p.tsUs);

describe('classic pcap: a fraction of a second or more is a per-packet problem', () => {
  it('the example: usec 1,500,000 is counted and skipped, the next record keeps its time', () => {
    const buf = pcap([{ sec: 100, frac: 200_000, port: 1 }, { sec: 100, frac: 1_500_000, port: 2 }, { sec: 100, frac: 900_000, port: 3 }], false, true);
    const got: number[] = [];
    const st = readCaptureBuffer(buf, 't', (p) => got.push(p.tsUs));
    expect(got).toEqual([100_200_000, 100_900_000]);
    expect(st.badTimestamps).toBe(1);
    expect(st.packets).toBe(2);
    // The largest fractions that are still in their second are times.
    const edge: number[] = [];
    readCaptureBuffer(pcap([{ sec: 5, frac: 999_999, port: 1 }], false, false), 't', (p) => edge.push(p.tsUs));
    readCaptureBuffer(pcap([{ sec: 5, frac: 999_999_999, port: 1 }, { sec: 5, frac: 1e9, port: 2 }], true, true), 't', (p) => edge.push(p.tsUs));
    expect(edge).toEqual([5_999_999, 5_999_999]);
  });

  it('property: every door delivers the in-second records at their times and counts the others', async () => {
    const rec = fc.record({
      sec: fc.integer({ min: 0, max: 0xffffffff }),
      frac: fc.oneof(fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 0, max: 999_999_999 }), fc.integer({ min: 0, max: 0xffffffff })),
      port: fc.integer({ min: 1, max: 65535 }),
    });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(rec, { maxLength: 12 }), fc.boolean(), fc.boolean(), fc.array(fc.nat(), { maxLength: 6 }), async (recs, nanos, le, cutsRaw) => {
        const buf = pcap(recs, nanos, le);
        const limit = nanos ? 1e9 : 1e6;
        const good = recs.filter((r) => r.frac < limit);
        const want = good.map((r) => r.sec * 1e6 + (nanos ? Math.floor(r.frac / 1000) : r.frac));
        const bad = recs.length - good.length;
        const whole: number[] = [];
        const st = readCaptureBuffer(buf, 't', (p) => whole.push(p.tsUs));
        expect(whole).toEqual(want);
        expect(st.badTimestamps).toBe(bad);
        expect(st.packets).toBe(good.length);
        const cuts = cutsRaw.map((c) => c % (buf.length + 1)).sort((a, b) => a - b);
        const chunked = readChunked(buf, cuts);
        expect(chunked.error).toBeNull();
        expect(times(chunked.got)).toEqual(want);
        expect(chunked.reader.stats.badTimestamps).toBe(bad);
        const streamed: number[] = [];
        const pieces = [...cuts, buf.length].map((c, i, a) => buf.slice(i === 0 ? 0 : a[i - 1]!, c)).filter((p) => p.length > 0);
        const sst = await readCaptureStream(Readable.from(pieces), 't', (p) => streamed.push(p.tsUs));
        expect(streamed).toEqual(want);
        expect(sst.badTimestamps).toBe(bad);
        const path = join(dir, `p${n++}.pcap`);
        writeFileSync(path, buf);
        const filed: number[] = [];
        expect(readCaptureFileSync(path, (p) => filed.push(p.tsUs), { chunkSize: 64 }).badTimestamps).toBe(bad);
        expect(filed).toEqual(want);
        expect(firstPacketTime(path)).toBe(want.length > 0 ? want[0] : null);
      }),
      { numRuns: 150 },
    );
  });

  it('flows says how many records it skipped for their time, and counts them in its JSON summary', async () => {
    const path = join(dir, 'flows.pcap');
    writeFileSync(path, pcap([{ sec: 100, frac: 1, port: 1 }, { sec: 100, frac: 2_000_000, port: 1 }, { sec: 101, frac: 3, port: 1 }], false, true));
    const stdout = new Sink(), stderr = new Sink();
    expect(await flows([path, '--format', 'json'], { stdout, stderr, stdin: new PassThrough() })).toBe(0);
    expect(stderr.text).toContain('2 packets read');
    expect(stderr.text).toContain('1 records with an impossible time skipped');
    expect((JSON.parse(stdout.text) as { summary: { skipped: unknown } }).summary.skipped).toEqual({ 'bad-timestamp': 1 });
  });
});
