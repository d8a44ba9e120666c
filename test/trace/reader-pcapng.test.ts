import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TraceFormatError } from '../../src/errors.js';
import { CaptureReader, readCaptureBuffer } from '../../src/trace/reader.js';
import { PcapngWriter } from '../helpers/pcapng-writer.js';
import { copy, everyN, readChunked, type Got } from './reader-helpers.js';

const F1 = Uint8Array.from({ length: 61 }, (_, i) => i);
const F2 = Uint8Array.from({ length: 100 }, (_, i) => 255 - i);
const F3 = Uint8Array.from({ length: 4 }, (_, i) => i + 7);

function read(buf: Uint8Array): { got: Got[]; stats: CaptureReader['stats'] } {
  const got: Got[] = [];
  const stats = readCaptureBuffer(buf, 'ng', (p) => got.push(copy(p)));
  return { got, stats };
}

function formatError(buf: Uint8Array): TraceFormatError {
  const { error } = readChunked(buf, []);
  expect(error).toBeInstanceOf(TraceFormatError);
  return error as TraceFormatError;
}

describe('pcapng', () => {
  for (const bigEndian of [false, true]) {
    it(`reads a ${bigEndian ? 'big' : 'little'}-endian section with EPBs on two interfaces`, () => {
      const w = new PcapngWriter().section({ bigEndian }).idb({ linkType: 1 }).idb({ linkType: 101, tsresol: 9 });
      w.epb(0, 1_700_000_000_123_456n, F1).epb(1, 1_700_000_000_123_456_789n, F2, 1500).epb(0, 5n, F3);
      const { got, stats } = read(w.toBuffer());
      expect(got).toEqual([
        { bytes: Array.from(F1), tsUs: 1_700_000_000_123_456, linkType: 1, capLen: 61, wireLen: 61 },
        { bytes: Array.from(F2), tsUs: 1_700_000_000_123_456, linkType: 101, capLen: 100, wireLen: 1500 },
        { bytes: Array.from(F3), tsUs: 5, linkType: 1, capLen: 4, wireLen: 4 },
      ]);
      expect(stats).toMatchObject({ packets: 3, interfaces: 2, truncatedRecords: 1, skippedBlocks: 0, unknownBlocks: 0 });
    });
  }

  it('an original length below the captured one (a writer\'s error) counts the captured bytes', () => {
    const w = new PcapngWriter().section().idb({ linkType: 1 }).epb(0, 1n, F1, 10).epb(0, 2n, F2, 0);
    expect(read(w.toBuffer()).got.map((g) => [g.capLen, g.wireLen])).toEqual([[61, 61], [100, 100]]);
  });

  it('converts if_tsresol units exactly: 10^-3, 10^-6, 10^-9, 10^-12, 2^-10, 2^-30 and applies if_tsoffset', () => {
    const w = new PcapngWriter()
      .section()
      .idb({ linkType: 1, tsresol: 3 })
      .idb({ linkType: 1, tsresol: 6 })
      .idb({ linkType: 1, tsresol: 9 })
      .idb({ linkType: 1, tsresol: 12 })
      .idb({ linkType: 1, tsresol: 0x80 | 10 })
      .idb({ linkType: 1, tsresol: 0x80 | 30 })
      .idb({ linkType: 1, tsoffset: 1_600_000_000 });
    w.epb(0, 1_700_000_000_123n, F3);
    w.epb(1, 1_700_000_000_123_456n, F3);
    w.epb(2, 1_700_000_000_999_999_999n, F3); // must not round up to the next second
    w.epb(3, 12_345_678_901_234_567_890n, F3); // near 2^64 picoseconds
    w.epb(4, 3n * 1024n + 512n, F3); // 3.5 s
    w.epb(5, (7n << 30n) + (1n << 29n) + (1n << 28n), F3); // 7.75 s
    w.epb(6, 42n, F3); // 42 µs after the offset
    const ts = read(w.toBuffer()).got.map((g) => g.tsUs);
    expect(ts).toEqual([
      1_700_000_000_123_000,
      1_700_000_000_123_456,
      1_700_000_000_999_999,
      12_345_678_901_234,
      3_500_000,
      7_750_000,
      1_600_000_000_000_042,
    ]);
  });

  it('handles several sections, each with its own byte order and interface numbering', () => {
    const w = new PcapngWriter();
    w.section({ bigEndian: false }).idb({ linkType: 1 }).epb(0, 1n, F1);
    w.section({ bigEndian: true }).idb({ linkType: 113 }).idb({ linkType: 276 }).epb(1, 2n, F2).epb(0, 3n, F3);
    w.section({ bigEndian: false }).epb(0, 4n, F1); // no IDB in this section yet: skipped
    const { got, stats } = read(w.toBuffer());
    expect(got.map((g) => [g.linkType, g.tsUs, g.capLen])).toEqual([
      [1, 1, 61],
      [276, 2, 100],
      [113, 3, 4],
    ]);
    expect(stats).toMatchObject({ interfaces: 3, skippedBlocks: 1 });
  });

  it('reads simple packet blocks with the snap length of interface 0, and obsolete packet blocks', () => {
    const w = new PcapngWriter().section().idb({ linkType: 1, snapLen: 50 }).idb({ linkType: 101 });
    w.epb(0, 77n, F3);
    w.spb(F1); // 61 bytes, snaplen 50
    w.spb(F3, 60); // block holds 4 of 60 bytes
    w.pb(1, 99n, F2);
    const { got, stats } = read(w.toBuffer());
    expect(got).toEqual([
      { bytes: Array.from(F3), tsUs: 77, linkType: 1, capLen: 4, wireLen: 4 },
      { bytes: Array.from(F1.subarray(0, 50)), tsUs: 77, linkType: 1, capLen: 50, wireLen: 61 },
      { bytes: Array.from(F3), tsUs: 77, linkType: 1, capLen: 4, wireLen: 60 },
      { bytes: Array.from(F2), tsUs: 99, linkType: 101, capLen: 100, wireLen: 100 },
    ]);
    expect(stats.truncatedRecords).toBe(2);
  });

  it('skips known non-packet blocks and counts unknown ones', () => {
    const w = new PcapngWriter().section().idb({ linkType: 1 });
    w.block(4, new Uint8Array(8)); // name resolution
    w.block(5, new Uint8Array(12)); // interface statistics
    w.block(0x0a, new Uint8Array(8)); // decryption secrets
    w.block(0xbad, new Uint8Array(5)); // custom
    w.block(0x12345, new Uint8Array(3)); // unknown
    w.epb(0, 1n, F1);
    w.epb(9, 1n, F1); // no interface 9
    const { got, stats } = read(w.toBuffer());
    expect(got).toHaveLength(1);
    expect(stats).toMatchObject({ skippedBlocks: 5, unknownBlocks: 1, packets: 1 });
  });

  it('skips an EPB whose captured length overruns its block', () => {
    const buf = new PcapngWriter().section().idb({ linkType: 1 }).epb(0, 1n, F3).epb(0, 2n, F1).toBuffer();
    const epb1 = 28 + 20;
    new DataView(buf.buffer).setUint32(epb1 + 20, 1000, true);
    const { got, stats } = read(buf);
    expect(got.map((g) => g.tsUs)).toEqual([2]);
    expect(stats.skippedBlocks).toBe(1);
  });

  it('rejects a block length that is not a multiple of 4, with its offset', () => {
    const buf = new PcapngWriter().section().idb({ linkType: 1 }).epb(0, 1n, F1).toBuffer();
    new DataView(buf.buffer).setUint32(48 + 4, 90, true);
    const e = formatError(buf);
    expect(e.offset).toBe(52);
    expect(e.message).toMatch(/block total length 90/);
  });

  it('rejects a trailing length that differs from the leading one, with its offset', () => {
    const buf = new PcapngWriter().section().idb({ linkType: 1 }).epb(0, 1n, F1).epb(0, 2n, F1).toBuffer();
    const epbLen = 32 + 64;
    new DataView(buf.buffer).setUint32(48 + epbLen - 4, epbLen + 4, true);
    const { got, error } = readChunked(buf, []);
    expect(got).toHaveLength(0);
    expect((error as TraceFormatError).offset).toBe(48 + epbLen - 4);
    expect((error as TraceFormatError).message).toMatch(/trailing length/);
  });

  it('rejects a bad byte-order magic and an unsupported major version', () => {
    const a = new PcapngWriter().section().toBuffer();
    a[8] = 0;
    expect(formatError(a).offset).toBe(8);
    const b = new PcapngWriter().section({ major: 2 }).toBuffer();
    expect(formatError(b).message).toMatch(/major version 2/);
  });

  it('delivers complete packets before reporting a truncated final block', () => {
    const buf = new PcapngWriter().section().idb({ linkType: 1 }).epb(0, 1n, F1).epb(0, 2n, F2).toBuffer();
    const start2 = 28 + 20 + 96;
    for (const cut of [start2 + 1, start2 + 12, buf.length - 4]) {
      const { got, error } = readChunked(buf.subarray(0, cut), everyN(cut, 5));
      expect(got.map((g) => g.tsUs)).toEqual([1]);
      expect((error as TraceFormatError).offset).toBe(start2);
    }
  });

  it('round-trips random blocks under random chunking', () => {
    const blockArb = fc.oneof(
      fc.record({ k: fc.constant('epb' as const), ifi: fc.nat(3), ts: fc.bigInt(0n, 2n ** 62n), len: fc.nat(120) }),
      fc.record({ k: fc.constant('idb' as const), lt: fc.constantFrom(1, 101, 113, 276), res: fc.constantFrom(6, 9, 3) }),
      fc.record({ k: fc.constant('junk' as const), type: fc.constantFrom(4, 5, 0x77), len: fc.nat(40) }),
      fc.record({ k: fc.constant('shb' as const), be: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(blockArb, { maxLength: 14 }), fc.array(fc.nat(3000), { maxLength: 6 }), (be0, blocks, cutsRaw) => {
        const w = new PcapngWriter().section({ bigEndian: be0 });
        let ifs: { lt: number; res: number }[] = [];
        let n = 0;
        let bad = 0;
        for (const b of blocks) {
          if (b.k === 'shb') {
            w.section({ bigEndian: b.be });
            ifs = [];
          } else if (b.k === 'idb') {
            w.idb({ linkType: b.lt, tsresol: b.res });
            ifs.push({ lt: b.lt, res: b.res });
          } else if (b.k === 'junk') w.block(b.type, new Uint8Array(b.len));
          else {
            w.epb(b.ifi, b.ts, new Uint8Array(b.len).fill(b.len & 255));
            if (b.ifi < ifs.length) {
              // Records whose time (in µs) leaves capture time are counted as badTimestamps, not delivered.
              const res = ifs[b.ifi]!.res;
              const us = res === 6 ? b.ts : res === 9 ? b.ts / 1000n : b.ts * 1000n;
              if (us <= BigInt(Number.MAX_SAFE_INTEGER)) n++;
              else bad++;
            }
          }
        }
        const buf = w.toBuffer();
        const whole = read(buf).got;
        expect(whole).toHaveLength(n);
        expect(readChunked(buf, []).reader.stats.badTimestamps).toBe(bad);
        const cuts = cutsRaw.map((c) => c % (buf.length + 1)).sort((a, b) => a - b);
        const { got, error } = readChunked(buf, cuts);
        expect(error).toBeNull();
        expect(got).toEqual(whole);
      }),
      { numRuns: 150 },
    );
  });
});

describe('pcapng binary if_tsresol (2^-e s)', () => {
  // Found by converting the corpus to pcapng with if_tsresol 2^-20 (ticks chosen so flooring back gives the
  // original microsecond): 158 flow times came out 1 µs late, because ticks × 10^6/2^e was rounded as a double
  // (a 2^-20 tick count of 2024 has 51 bits; times 10^6/2^20 needs 65) before flooring.
  it('floors ticks × 10^6 / 2^e exactly, as a decimal if_tsresol does, at capture times of today', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 64 }),
        fc.bigInt({ min: 0n, max: 8_000_000_000_000_000n }), // µs up to 2223
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        (e, us, frac) => {
          // The tick count of `us` plus any part of a microsecond, kept within 64 bits.
          const perUs = (1n << BigInt(e)) / 1_000_000n;
          let ticks = (us << BigInt(e)) / 1_000_000n + (perUs > 0n ? frac % perUs : 0n);
          if (ticks >= 1n << 64n) ticks = (1n << 64n) - 1n;
          const want = (ticks * 1_000_000n) >> BigInt(e);
          const w = new PcapngWriter().section().idb({ linkType: 1, tsresol: 0x80 | e }).epb(0, ticks, F3);
          const { got, stats } = read(w.toBuffer());
          if (want > BigInt(Number.MAX_SAFE_INTEGER)) return stats.badTimestamps === 1 && got.length === 0;
          return got.length === 1 && got[0]!.tsUs === Number(want);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('gives the same microseconds as if_tsresol 6 for times of 2020-2021 at 2^-20 and 2^-30 s', () => {
    for (const us of [1_613_977_602_672_535n, 1_591_342_198_821_353n]) for (const e of [20n, 30n]) {
      const ticks = ((us << e) / 1_000_000n) + 1n; // just past the microsecond's first tick
      const w = new PcapngWriter().section().idb({ linkType: 1, tsresol: 0x80 | Number(e) }).epb(0, ticks, F3);
      expect(read(w.toBuffer()).got[0]!.tsUs).toBe(Number(us));
    }
  });
});
