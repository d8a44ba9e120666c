/** The detectors' ASCII search helpers against a naive oracle (String#indexOf over the packet's bytes). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findAscii, findAsciiNoCase } from '../../src/detect/ascii.js';
import type { FlowView } from '../../src/detect/types.js';

const latin1 = (b: Uint8Array): string => Array.from(b, (c) => String.fromCharCode(c)).join('');

/** A packet of random bytes over a small alphabet (so matches and near-matches happen) with a prefix of junk. */
const arbCase = fc.record({
  pre: fc.uint8Array({ maxLength: 5 }),
  body: fc.array(fc.constantFrom(...'abAB-/1'.split('').map((c) => c.charCodeAt(0))), { maxLength: 60 }),
  needle: fc.stringMatching(/^[abAB\-/1]{1,4}$/),
  from: fc.integer({ min: -2, max: 70 }),
  to: fc.integer({ min: 0, max: 80 }),
});

describe('findAscii / findAsciiNoCase', () => {
  it('equal a naive search within [from, to) of the available bytes', () => {
    fc.assert(
      fc.property(arbCase, ({ pre, body, needle, from, to }) => {
        // The view's packet starts after `pre` in its buffer: offsets must be relative to the payload start.
        const buf = Uint8Array.from([...pre, ...body, 0x61, 0x62]); // bytes past the available ones must not match
        const v: FlowView = {
          transport: 6, ipVersion: 4, srcPort: 1, dstPort: 2, nPackets: 1,
          dir: () => 0, len: () => body.length, avail: () => body.length, buf: () => buf, start: () => pre.length,
        };
        const text = latin1(Uint8Array.from(body)).slice(0, Math.max(0, Math.min(to, body.length)));
        const naive = (hay: string, s: string): number => {
          const k = hay.indexOf(s, Math.max(0, from));
          return k;
        };
        expect(findAscii(v, 0, needle, from, to)).toBe(naive(text, needle));
        expect(findAsciiNoCase(v, 0, needle.toLowerCase(), from, to)).toBe(naive(text.toLowerCase(), needle.toLowerCase()));
      }),
      { numRuns: 2000 },
    );
  });
});

/**
 * A buffer that counts every element a search reads, natively or through an index: a packet's view may sit at the
 * start of a large shared store (snippets, a read chunk), so a search that runs on past the packet's end costs the
 * store's size on every packet — a hostile packet without the needle's first byte must not buy that.
 */
class CountingBytes extends Uint8Array {
  scanned = 0;
  override indexOf(value: number, from = 0): number {
    const k = super.indexOf(value, from);
    this.scanned += (k < 0 ? this.length : k + 1) - Math.max(0, from);
    return k;
  }
}

describe('search helpers stay within the packet', () => {
  it('read at most the packet’s available bytes through native searches, whatever lies behind it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.integer({ min: 0, max: 40 }), fc.stringMatching(/^[a-z]{1,12}$/), (body, pre, needle) => {
        // The packet, then a large store that holds the needle far away (zeros before it).
        const store = new CountingBytes(pre + body.length + (1 << 20));
        store.set(body, pre);
        for (let x = 0; x < needle.length; x++) store[store.length - needle.length + x] = needle.charCodeAt(x);
        const v: FlowView = {
          transport: 6, ipVersion: 4, srcPort: 1, dstPort: 2, nPackets: 1,
          dir: () => 0, len: () => body.length, avail: () => body.length, buf: () => store, start: () => pre,
        };
        const k = findAscii(v, 0, needle, 0, body.length);
        expect(k).toBe(latin1(body).indexOf(needle));
        expect(store.scanned).toBeLessThanOrEqual(2 * body.length + 2);
      }),
      { numRuns: 500 },
    );
  });
});
