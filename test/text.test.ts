/**
 * The escapers every printer shares (src/text.ts) and the typed errors built on them (issue 18, defect 6): untrusted
 * text never reaches a terminal with a control, bidi-formatting or line-separator character in it; JSON keeps its
 * value; error messages are one bounded line whose location survives a huge path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CidrError, ListParseError, ListReadError, MAX_MESSAGE, RecordParseError, TraceFormatError } from '../src/errors.js';
import { clipText, escapeJson, escapeText, quoteText, safeText } from '../src/text.js';

// Written out independently of src/text.ts: controls, bidi marks, line separators, and the invisible characters.
const INVISIBLE = '\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\u2065\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0\ufff9\ufffa\ufffb';
const UNSAFE = new RegExp(`[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069${INVISIBLE}]|[\\u{e0000}-\\u{e007f}]`, 'u');
const anyText = fc.string({ unit: 'binary', maxLength: 400 });
const hostile = fc.stringMatching(new RegExp(`^(?:[a-z\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069\\u2028\\u2029/.${INVISIBLE}]|\\u{e0041}|\\u{e007f}){0,200}$`, 'u'));

describe('escapeText', () => {
  it('known cases', () => {
    expect(escapeText('plain/path.pcap')).toBe('plain/path.pcap');
    expect(escapeText('a\nb\x1b[31mc\x07\r')).toBe('a\\x0ab\\x1b[31mc\\x07\\x0d');
    expect(escapeText('\x9b2J\x7f')).toBe('\\x9b2J\\x7f');
    expect(escapeText('evil\u202egnp.exe\u2028')).toBe('evil\\u202egnp.exe\\u2028');
    expect(escapeText('Zürich — 東京 🙂')).toBe('Zürich — 東京 🙂');
    // Characters that show as nothing: "Acme" and "Ac\u200bme" must not print alike (nor a tag-smuggled text).
    expect(escapeText('Ac\u200bme\u00ad\ufeff')).toBe('Ac\\u200bme\\xad\\ufeff');
    expect(escapeText('a\u{e0041}\u{e007f}b')).toBe('a\\udb40\\udc41\\udb40\\udc7fb');
    expect(escapeJson(JSON.stringify('Ac\u200bme'))).toBe('"Ac\\u200bme"');
  });

  it('property: nothing unsafe remains, safe text is returned unchanged, and unescaping gives the input back', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, hostile), (s) => {
        const e = escapeText(s);
        expect(e).not.toMatch(UNSAFE);
        if (!UNSAFE.test(s)) expect(e).toBe(s);
        if (!s.includes('\\')) {
          const back = e.replace(/\\x([0-9a-f]{2})|\\u([0-9a-f]{4})/g, (_, a: string | undefined, b: string | undefined) => String.fromCharCode(parseInt(a ?? b!, 16)));
          expect(back).toBe(s);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('escapeJson', () => {
  it('property: the same JSON value, with nothing unsafe left (JSON.stringify leaves C1, DEL and bidi raw)', () => {
    expect(JSON.stringify('\x9b\u202e')).toMatch(UNSAFE);
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.dictionary(hostile, fc.oneof(hostile, anyText))), (v) => {
        const j = escapeJson(JSON.stringify(v));
        expect(j).not.toMatch(UNSAFE);
        expect(JSON.parse(j)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('clipText / safeText / quoteText', () => {
  it('clip keeps the start and the end and says how much went', () => {
    const p = `/${'d/'.repeat(3000)}capture.pcap`;
    const c = clipText(p, 100);
    expect(c.length).toBeLessThanOrEqual(100);
    expect(c.startsWith('/d/d/')).toBe(true);
    expect(c.endsWith('capture.pcap')).toBe(true);
    expect(c).toContain(`…(${p.length - 100} more)…`);
    expect(clipText('short', 100)).toBe('short');
  });

  it('property: safeText and quoteText are bounded and safe', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, hostile), fc.integer({ min: 16, max: 300 }), (s, max) => {
        expect(safeText(s, max)).not.toMatch(UNSAFE);
        expect(safeText(s, max).length).toBeLessThanOrEqual(max * 6);
        const q = quoteText(s, max);
        expect(q).not.toMatch(UNSAFE);
        const head = s.length > max ? s.slice(0, /[\ud800-\udbff]/.test(s[max - 1] ?? '') ? max - 1 : max) : s;
        expect(JSON.parse(q)).toBe(s.length > max ? head + '…' : s);
      }),
    );
  });

  it('property: clipping and quoting never split a surrogate pair (a half pair prints as U+FFFD)', () => {
    const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '😀', '𝄞', 'é'), minLength: 1, maxLength: 200 }), fc.integer({ min: 16, max: 120 }), (s, max) => {
        expect(clipText(s, max)).not.toMatch(LONE);
        expect(JSON.parse(quoteText(s, max))).not.toMatch(LONE);
        expect(safeText(s, max)).not.toMatch(LONE);
      }),
    );
  });
});

describe('typed error messages', () => {
  it('a path with a newline and ESC stays one line; a huge path keeps the offset', () => {
    const e = new TraceFormatError('cap\n\x1b[2Jture.pcap', 42, 'bad block');
    expect(e.message).toBe('cap\\x0a\\x1b[2Jture.pcap: at byte 42: bad block');
    expect(e.source).toBe('cap\n\x1b[2Jture.pcap');
    const huge = new TraceFormatError(`/${'x'.repeat(100_000)}/trace.pcap`, 9000, 'truncated record');
    expect(huge.message.length).toBeLessThan(400);
    expect(huge.message).toMatch(/trace\.pcap: at byte 9000: truncated record$/);
  });

  it('property: every typed error message is one line of at most MAX_MESSAGE characters, location first', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, hostile, fc.string({ maxLength: 20_000 })), fc.oneof(anyText, hostile, fc.string({ maxLength: 20_000 })), fc.nat(), (src, detail, n) => {
        const errors = [new TraceFormatError(src, n, detail), new ListParseError(src, n, detail), new ListReadError(src, detail), new CidrError('TS_INVALID_CIDR', detail, src), new RecordParseError(src, n, detail)];
        for (const e of errors) {
          expect(e.message).not.toMatch(UNSAFE);
          expect(e.message.length).toBeLessThanOrEqual(MAX_MESSAGE);
        }
        expect(errors[0]!.message).toContain(`: at byte ${n}: `);
        expect(errors[1]!.message).toContain(`:${n}: `);
      }),
      { numRuns: 500 },
    );
  });
});
