/**
 * parsePrefix4Units (dotted-quad IPv4 prefixes read straight from a list's code units) against the string parser
 * it stands in for: it may only accept what parsePrefixInto accepts, with the same parts, and it must accept the
 * plain dotted quads a registration list is made of (else it would be a fast path nothing takes).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CidrError } from '../../src/errors.js';
import { newPrefixParts, parsePrefix4Units, parsePrefixInto } from '../../src/ip/prefix.js';

/** The string as code units of both kinds a list is read in. */
function unitsBoth(s: string): Uint8Array | Uint16Array {
  const u16 = new Uint16Array(s.length);
  for (let i = 0; i < s.length; i++) u16[i] = s.charCodeAt(i);
  return /^[\x00-\x7f]*$/.test(s) ? Uint8Array.from(u16) : u16;
}

function viaString(s: string, normalize: boolean): { family: number; words: number[]; len: number } | 'error' {
  try {
    const p = parsePrefixInto(s, newPrefixParts(), normalize);
    return { family: p.family, words: [...p.words], len: p.len };
  } catch (e) {
    expect(e).toBeInstanceOf(CidrError);
    return 'error';
  }
}

const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom('00', '01', '010', '256', '999', '1000', '', '-1', '0x1'));
const length = fc.oneof(fc.integer({ min: 0, max: 32 }).map(String), fc.constantFrom('00', '08', '032', '33', '99', '100', '', 'x', '+8'));
// Text shaped like a dotted quad, often slightly wrong, sometimes inside other text (a range of a longer line).
const nearQuad = fc
  .tuple(fc.array(octet, { minLength: 3, maxLength: 5 }), fc.option(length), fc.constantFrom('', ' ', ',x', '/', '.', ':'), fc.constantFrom('', ' ', 'a', '::ffff:'))
  .map(([o, l, tail, head]) => `${head}${o.join('.')}${l === null ? '' : `/${l}`}${tail}`);
const anyText = fc.oneof(nearQuad, fc.string({ unit: fc.constantFrom(...'0123456789./:abf ,'.split('')), maxLength: 24 }), fc.string({ maxLength: 12 }));

describe('parsePrefix4Units', () => {
  it('accepts only what parsePrefixInto accepts, with the same parts (any range of any text)', () => {
    fc.assert(
      fc.property(anyText, fc.boolean(), fc.nat(), fc.nat(), (text, normalize, a, b) => {
        const u = unitsBoth(text);
        const from = text.length ? a % (text.length + 1) : 0;
        const to = from + (text.length - from ? b % (text.length - from + 1) : 0);
        const p = newPrefixParts();
        if (!parsePrefix4Units(u, from, to, p, normalize)) return;
        expect(viaString(text.slice(from, to), normalize)).toEqual({ family: p.family, words: [...p.words], len: p.len });
      }),
      { numRuns: 20000 },
    );
  });

  it('takes every canonical dotted quad with or without a length (host bits clear, or normalize)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.option(fc.integer({ min: 0, max: 32 })), fc.boolean(), (a, len, normalize) => {
        const text = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}${len === null ? '' : `/${len}`}`;
        const want = viaString(text, normalize);
        const p = newPrefixParts();
        const took = parsePrefix4Units(unitsBoth(text), 0, text.length, p, normalize);
        if (want === 'error') expect(took).toBe(false); // host bits without normalize: the string parser's message
        else {
          expect(took).toBe(true);
          expect({ family: p.family, words: [...p.words], len: p.len }).toEqual(want);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('leaves IPv6 and IPv4-mapped text to the string parser', () => {
    for (const t of ['::ffff:10.0.0.0/104', '2001:db8::/32', '::', '10.0.0.0/8 ', ' 10.0.0.0/8', '010.0.0.0/8', '10.0.0.0/08', '10.0.0.0/33', '10.0.0.1/8']) {
      expect(parsePrefix4Units(unitsBoth(t), 0, t.length, newPrefixParts()), t).toBe(false);
    }
  });
});
