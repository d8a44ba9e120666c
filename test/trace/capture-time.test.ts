/**
 * Capture time is checked where it enters (issue 18, defect 1): a pcapng record whose `if_tsresol`, `if_tsoffset` or
 * 64-bit timestamp puts it outside 1970–2255 is counted (`badTimestamps`) and skipped while the records around it
 * are delivered; a session counts a frame pushed with NaN, ±Infinity, a negative or a far-future time as
 * `bad-timestamp`; and isoMicros is total: any number gives the 27-character ISO shape, and an out-of-range value
 * never poisons its cache (it used to store the key, throw in toISOString, and later serve `\0…` for that second).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { ISO_MAX_US, ISO_MIN_US, isoMicros } from '../../src/trace/flow-format.js';
import { isCaptureTime, MAX_CAPTURE_US, readCaptureBuffer } from '../../src/trace/reader.js';
import { PcapngWriter } from '../helpers/pcapng-writer.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/** Oracle: the Date door for the seconds, the microseconds written out. */
function oracle(us: number): string {
  const sec = Math.floor(us / 1e6);
  const frac = us - sec * 1e6;
  return new Date(sec * 1000).toISOString().slice(0, 20) + String(frac).padStart(6, '0') + 'Z';
}

const frame = (srcPort: number): Uint8Array => buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, srcPort, dstPort: 53, payload: new Uint8Array(4) });

describe('isoMicros is total', () => {
  it('any number gives the ISO shape, never a throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer(), fc.constantFrom(NaN, Infinity, -Infinity, 1e22, -1e22, 8.64e18, 2 ** 53, ISO_MAX_US + 1)), (us) => {
        expect(isoMicros(us)).toMatch(ISO);
      }),
      { numRuns: 2000 },
    );
  });

  it('integers of years 0000–9999 match the Date oracle exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: Math.ceil(ISO_MIN_US / 1e6), max: Math.floor(ISO_MAX_US / 1e6) }), fc.integer({ min: 0, max: 999_999 }), (sec, frac) => {
        const us = sec * 1e6 + frac;
        if (us > ISO_MAX_US) return;
        // Above 2^53 not every microsecond is a double: compare with what the double holds.
        expect(isoMicros(us)).toBe(oracle(us));
      }),
      { numRuns: 3000 },
    );
    expect(isoMicros(0)).toBe('1970-01-01T00:00:00.000000Z');
    expect(isoMicros(1_700_000_000_123_456)).toBe('2023-11-14T22:13:20.123456Z');
    expect(isoMicros(MAX_CAPTURE_US)).toBe('2255-06-05T23:47:34.740991Z');
  });

  it('clamps outside years 0000–9999 (no signed six-digit years), NaN reads as the epoch', () => {
    expect(isoMicros(1e22)).toBe(isoMicros(ISO_MAX_US));
    expect(isoMicros(ISO_MAX_US)).toMatch(/^9999-12-31T23:59:59\.9999\d\dZ$/);
    expect(isoMicros(-1e22)).toBe('0000-01-01T00:00:00.000000Z');
    expect(isoMicros(NaN)).toBe('1970-01-01T00:00:00.000000Z');
    expect(isoMicros(1.5)).toBe('1970-01-01T00:00:00.000001Z');
  });

  it('an out-of-range value does not poison the cache for its second', () => {
    // The second of 1e22 µs shares a cache line with other seconds; asking twice must give the same text.
    const a = isoMicros(3.7e19);
    const b = isoMicros(3.7e19);
    expect(a).toBe(b);
    expect(b).toMatch(ISO);
    // and a real second mapped to every cache line still reads right afterwards
    for (let s = 0; s < 256; s++) expect(isoMicros((1_700_000_000 + s) * 1e6)).toBe(oracle((1_700_000_000 + s) * 1e6));
  });
});

describe('pcapng records with impossible times are counted and skipped', () => {
  const cases: { name: string; idb: { tsresol?: number; tsoffset?: number }; ts: bigint }[] = [
    { name: 'if_tsresol 10^0 (seconds) and a 64-bit timestamp', idb: { tsresol: 0 }, ts: 0xffff_ffff_ffff_ffffn },
    { name: 'if_tsresol 2^0 (binary seconds)', idb: { tsresol: 0x80 }, ts: 1n << 60n },
    { name: 'a huge if_tsoffset', idb: { tsoffset: 2 ** 50 }, ts: 5n },
    { name: 'a negative if_tsoffset', idb: { tsoffset: -(2 ** 40) }, ts: 5n },
    { name: 'microseconds beyond 2^53', idb: {}, ts: 1n << 60n },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const buf = new PcapngWriter()
        .section()
        .idb({ linkType: 1 })
        .idb({ linkType: 1, ...c.idb })
        .epb(0, 1_700_000_000_000_000n, frame(1))
        .epb(1, c.ts, frame(2))
        .epb(0, 1_700_000_001_000_000n, frame(3))
        .spb(frame(4))
        .toBuffer();
      const times: number[] = [];
      const stats = readCaptureBuffer(buf, 'x.pcapng', (p) => times.push(p.tsUs));
      expect(stats.badTimestamps).toBe(1);
      expect(stats.packets).toBe(3);
      // The simple packet block inherits the last good time.
      expect(times).toEqual([1_700_000_000_000_000, 1_700_000_001_000_000, 1_700_000_001_000_000]);
      expect(times.every(isCaptureTime)).toBe(true);
    });
  }

  it('the capture-time window', () => {
    expect(isCaptureTime(0)).toBe(true);
    expect(isCaptureTime(MAX_CAPTURE_US)).toBe(true);
    for (const bad of [-1, MAX_CAPTURE_US + 2, NaN, Infinity, -Infinity]) expect(isCaptureTime(bad)).toBe(false);
  });
});

describe('a session counts frames pushed with impossible times', () => {
  it('NaN, ±Infinity, 1e22 ns, negative, non-numbers: counted as bad-timestamp; end() and the records are sound', () => {
    const s = createClassifier().session();
    const recs: FlowRecord[] = [];
    s.on('flow', (r: FlowRecord) => recs.push(r));
    s.push(frame(9), 1_700_000_000_000_000_000);
    const bad: unknown[] = [NaN, Infinity, -Infinity, 1e22 * 1e3, -5e9, 2n ** 70n, -1n, '12', undefined];
    for (const t of bad) s.push(frame(9), t as number);
    s.push(frame(9), 1_700_000_000_500_000_000n);
    expect(() => s.end()).not.toThrow();
    expect(s.stats.malformed['bad-timestamp']).toBe(bad.length);
    expect(s.stats.packets).toBe(bad.length + 2);
    expect(recs).toHaveLength(1);
    expect(recs[0]!.packets).toBe(2);
    expect(recs[0]!.firstSeen).toBe('2023-11-14T22:13:20.000000Z');
    expect(recs[0]!.lastSeen).toBe('2023-11-14T22:13:20.500000Z');
  });

  it('advance() refuses a time that is not a capture time with the typed error', () => {
    const s = createClassifier().session();
    for (const t of [NaN, Infinity, -1, 1e300]) expect(() => s.advance(t)).toThrow(expect.objectContaining({ code: 'TS_INVALID_ARG' }));
    expect(() => s.advance(5e15)).not.toThrow();
  });
});
