/**
 * Fuzz the capture reader: random bytes, every truncation of real captures, bit-flipped real captures.
 * Property: the reader delivers packets and then either finishes or throws a TraceFormatError with an offset
 * inside the input; it never throws anything else, and any chunking gives the same packets and error.
 */
import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TraceFormatError } from '../../src/errors.js';
import { Decoder, newPacketView } from '../../src/trace/decode.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { walkUnits } from '../oracles/capture-oracle.js';
import { PcapngWriter } from '../helpers/pcapng-writer.js';
import { readChunked, type Got } from './reader-helpers.js';

const CORPUS = '/work/shared/corpus/pcap/';
const SMALL = ['dns.pcap', '4in4tunnel.pcap', 'ipv6_in_gtp.pcap', 'sctp.cap', 'gtp_false_positive.pcapng', 'ah.pcapng'];

function checkOutcome(buf: Uint8Array, error: unknown): void {
  if (error === null) return;
  expect(error).toBeInstanceOf(TraceFormatError);
  const e = error as TraceFormatError;
  expect(e.offset).toBeGreaterThanOrEqual(0);
  expect(e.offset).toBeLessThanOrEqual(buf.length);
}

function sameUnderChunking(buf: Uint8Array, cuts: number[]): { got: Got[]; error: unknown } {
  const whole = readChunked(buf, []);
  checkOutcome(buf, whole.error);
  const chunked = readChunked(buf, cuts);
  expect(chunked.got).toEqual(whole.got);
  expect((chunked.error as TraceFormatError | null)?.offset).toBe((whole.error as TraceFormatError | null)?.offset);
  return whole;
}

function decodeAll(got: Got[]): void {
  const d = new Decoder();
  const v = newPacketView();
  for (const g of got) {
    const data = Uint8Array.from(g.bytes);
    d.decode({ data, offset: 0, capLen: data.length, wireLen: g.wireLen, tsUs: g.tsUs, linkType: g.linkType }, v);
  }
  const failed = Object.values(d.stats.malformed).reduce((a, b) => a + b, 0);
  expect(d.stats.decoded + failed).toBe(got.length);
}

const seedCaptures: Uint8Array[] = (() => {
  const w = new PcapWriter({ linkType: 1 });
  w.packet(1, buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, srcPort: 1, dstPort: 2, payload: new Uint8Array(20) }));
  w.packet(2, buildFrame({ src: '::1', dst: '::2', proto: 17, srcPort: 1, dstPort: 2, payload: new Uint8Array(9) }));
  const ng = new PcapngWriter().section().idb({ linkType: 1, tsresol: 9 }).epb(0, 5n, buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, srcPort: 3, dstPort: 4 }));
  ng.spb(new Uint8Array(30)).block(5, new Uint8Array(12));
  return [w.toBuffer(), ng.toBuffer()];
})();

describe('reader fuzz', () => {
  it('random bytes (with and without a valid magic) never throw anything but TraceFormatError', () => {
    const magic = fc.constantFrom(
      [],
      [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0],
      [0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4],
      [0x0a, 0x0d, 0x0d, 0x0a],
      [0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0],
    );
    fc.assert(
      fc.property(magic, fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(500), { maxLength: 5 }), (m, rest, cutsRaw) => {
        const buf = Uint8Array.from([...m, ...rest]);
        const cuts = cutsRaw.map((c) => c % (buf.length + 1)).sort((a, b) => a - b);
        const { got } = sameUnderChunking(buf, cuts);
        decodeAll(got);
      }),
      { numRuns: 400 },
    );
  });

  it('mutated synthetic captures: bit flips and length fields set to 0 / huge', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seedCaptures),
        fc.array(fc.record({ at: fc.nat(), bit: fc.nat(7), word: fc.constantFrom(null, 0, 0xffffffff, 13, 12) }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(400), { maxLength: 4 }),
        (src, muts, cutsRaw) => {
          const buf = src.slice();
          for (const m of muts) {
            const at = m.at % buf.length;
            if (m.word === null) buf[at]! ^= 1 << m.bit;
            else if (at + 4 <= buf.length) new DataView(buf.buffer).setUint32(at & ~3, m.word, true);
          }
          const cuts = cutsRaw.map((c) => c % (buf.length + 1)).sort((a, b) => a - b);
          decodeAll(sameUnderChunking(buf, cuts).got);
        },
      ),
      { numRuns: 400 },
    );
  });

  const available = SMALL.filter((f) => existsSync(CORPUS + f));

  it.skipIf(available.length === 0)('truncation at every offset of small real captures: every complete packet, then the partial unit', () => {
    for (const f of available) {
      const buf = new Uint8Array(readFileSync(CORPUS + f));
      const units = walkUnits(buf);
      expect(units.at(-1)!.end).toBe(buf.length);
      const full = readChunked(buf, []);
      expect(full.error).toBeNull();
      for (let cut = 0; cut <= buf.length; cut++) {
        const part = buf.subarray(0, cut);
        const { got, error } = readChunked(part, cut > 7 ? [cut >> 1] : []);
        const complete = units.filter((u) => u.end <= cut);
        const nPackets = complete.filter((u) => u.isPacket).length;
        expect(got).toEqual(full.got.slice(0, nPackets));
        const partial = units.find((u) => u.start < cut && u.end > cut);
        if (cut === 0) expect((error as TraceFormatError).offset).toBe(0);
        else if (partial) {
          expect(error).toBeInstanceOf(TraceFormatError);
          expect((error as TraceFormatError).offset).toBe(cut < 4 ? 0 : partial.start);
        } else expect(error).toBeNull();
      }
    }
  });

  it.skipIf(available.length === 0)('bit-flipped real captures: typed errors only, chunking-independent, decodable', () => {
    const bufs = available.map((f) => new Uint8Array(readFileSync(CORPUS + f)));
    fc.assert(
      fc.property(fc.nat(bufs.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(7)), { minLength: 1, maxLength: 6 }), fc.nat(), (i, flips, cutRaw) => {
        const buf = bufs[i]!.slice();
        for (const [at, bit] of flips) buf[at % buf.length]! ^= 1 << bit;
        decodeAll(sameUnderChunking(buf, [cutRaw % (buf.length + 1)]).got);
      }),
      { numRuns: 300 },
    );
  });
});
