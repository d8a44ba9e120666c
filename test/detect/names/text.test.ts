/** Strings from packet bytes through the shared scratch, against a one-character-at-a-time oracle. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { latin1Text, TEXT_MAX } from '../../../src/text.js';
import { decodeHost } from '../../../src/detect/names/tls.js';
import { readDnsName } from '../../../src/detect/names/dns.js';

const naive = (b: Uint8Array, p: number, n: number): string => {
  let s = '';
  for (let k = 0; k < n; k++) s += String.fromCharCode(b[p + k]!);
  return s;
};

describe('latin1Text', () => {
  // Short names, and buffers around the scratch size (fast-check alone rarely draws 4 KiB arrays).
  const bytes = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: TEXT_MAX - 20, maxLength: TEXT_MAX + 300 }));

  it('equals the naive decode at any offset and length, past the scratch size too', () => {
    fc.assert(
      fc.property(bytes, fc.nat(40), fc.nat(), (b, x, y) => {
        const p = Math.min(x, b.length);
        const n = y % (b.length - p + 1);
        expect(latin1Text(b, p, n)).toBe(naive(b, p, n));
      }),
      { numRuns: 300, endOnFailure: true }, // shrinking 4 KiB arrays takes minutes
    );
  });

  it('strings already returned are not changed by later calls (the scratch is copied out)', () => {
    const a = latin1Text(Buffer.from('first.example'), 0, 13);
    const host = decodeHost(Buffer.from('SECOND.example'), 0, 14);
    const dns = readDnsName(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x41, 0x42, 1, 0x63, 0), 0, 12, 18);
    expect([a, host, dns?.[0]]).toEqual(['first.example', 'second.example', 'ab.c']);
  });
});
