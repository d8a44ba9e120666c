import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64, escapeHtml, escapeJsonText, jsonForScript, visible } from '../../src/report/escape.js';
import { HOSTILE } from './hostile.js';

const unescapeHtml = (s: string): string =>
  s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);

const hostileString = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom(...HOSTILE), fc.string());

describe('escapeHtml', () => {
  it('leaves no markup character and round-trips through entity decoding', () => {
    fc.assert(fc.property(hostileString, (s) => {
      const e = escapeHtml(s);
      expect(e).not.toMatch(/[<>"']/);
      expect(e.replace(/&(amp|lt|gt|quot|#39);/g, '')).not.toContain('&');
      expect(unescapeHtml(e)).toBe(s);
    }));
  });
});

describe('jsonForScript', () => {
  it('JSON.parse gives the value back; no <, >, &, U+2028 or U+2029 in the text', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.array(hostileString), (v, strs) => {
      const value = { v, strs };
      const text = jsonForScript(value);
      expect(text).not.toMatch(/[<>&\u2028\u2029]/);
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
    }));
  });
  it('escapeJsonText is the same escaping over text already serialised', () => {
    for (const h of HOSTILE) expect(escapeJsonText(JSON.stringify(h))).toBe(jsonForScript(h));
  });
});

// String#isWellFormed is ES2024 (tsconfig lib is ES2022): no lone surrogate.
const wellFormed = (s: string): boolean => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

describe('visible', () => {
  const INVISIBLE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/;
  it('makes controls, bidi and zero-width characters and lone surrogates visible; leaves other text alone', () => {
    expect(visible('\u202ekcatta')).toBe('\\u{202e}kcatta');
    expect(visible('a\u0000b')).toBe('a\\u{0}b');
    expect(visible('\ud800x')).toBe('\\u{d800}x');
    expect(visible('日本語 ü 😀 tab\tok')).toBe('日本語 ü 😀 tab\tok');
    fc.assert(fc.property(hostileString, (s) => {
      const v = visible(s);
      expect(v).not.toMatch(INVISIBLE);
      expect(wellFormed(v)).toBe(true);
      if (!INVISIBLE.test(s) && wellFormed(s)) expect(v).toBe(s);
    }));
  });
});

describe('base64', () => {
  it('equals Buffer base64 (oracle) for any bytes, including chunk boundaries', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      expect(base64(b)).toBe(Buffer.from(b).toString('base64'));
    }));
    for (const n of [3 * 16_384 - 1, 3 * 16_384, 3 * 16_384 + 1, 3 * 16_384 + 2, 200_001]) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) & 255);
      expect(base64(b)).toBe(Buffer.from(b).toString('base64'));
    }
  });
});
