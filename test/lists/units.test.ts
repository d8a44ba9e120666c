/**
 * List text as code units (src/lists/units.ts) and the interner over them (intern.ts): units are exactly the text's
 * charCodeAt values and decode back to the same string (lone surrogates and astral characters included); a file
 * read as units is the same text the string reader returns, with the same errors; the interner gives one id per
 * distinct string, whether it is met as a range of the list or given as a default value.
 */
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RangeInterner } from '../../src/lists/intern.js';
import { readListText, readListUnits } from '../../src/lists/read-text.js';
import { unitsDecoder, unitsOf, unitsText } from '../../src/lists/units.js';

const dir = mkdtempSync(join(tmpdir(), 'ts-list-units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const anyString = fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constantFrom('a\ud800b', '\udc00', '\ud83d\ude00x', ''));

describe('unitsOf / unitsText', () => {
  it('units are the charCodeAt values; bytes exactly when the text is ASCII; ranges decode to slices', () => {
    fc.assert(
      fc.property(anyString, fc.nat(), fc.nat(), (s, a, b) => {
        const u = unitsOf(s);
        expect(u.length).toBe(s.length);
        for (let i = 0; i < s.length; i++) expect(u[i]).toBe(s.charCodeAt(i));
        expect(u instanceof Uint8Array).toBe(/^[\x00-\x7f]*$/.test(s));
        expect(u.constructor === Uint8Array || u.constructor === Uint16Array).toBe(true);
        const from = a % (s.length + 1);
        const to = from + (b % (s.length - from + 1));
        expect(unitsText(u, from, to)).toBe(s.slice(from, to));
        expect(unitsDecoder(u)(from, to)).toBe(s.slice(from, to));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('readListUnits', () => {
  const bytes = fc.oneof(
    fc.string({ maxLength: 80 }).map((s) => Buffer.from(s, 'utf8')),
    fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => Buffer.from(s, 'utf8')),
    fc.string({ maxLength: 40 }).map((s) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(s, 'utf8')])), // BOM
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), // mostly not UTF-8, sometimes NUL
  );
  // What a UTF-8 decoder makes of the bytes (a leading byte-order mark dropped), and the reader's two refusals.
  // Where the refusal points: the bad byte's line and offset (the first ill-formed sequence starts where the
  // longest prefix that decodes ends).
  const at = (b: Uint8Array, off: number): string => `line ${1 + [...b.subarray(0, off)].filter((x) => x === 10).length}, byte ${off}`;
  const decoded = (b: Uint8Array): { ok: string } | { error: string } => {
    try {
      const t = new TextDecoder('utf-8', { fatal: true }).decode(b);
      return t.includes('\0') ? { error: `ListReadError: src: cannot read list: binary file (NUL byte; ${at(b, b.indexOf(0))})` } : { ok: t };
    } catch {
      let p = b.length;
      while (p > 0 && !isUtf8(b.subarray(0, p))) p--;
      return { error: `ListReadError: src: cannot read list: not UTF-8 text (${at(b, p)})` };
    }
  };
  it('is the text a UTF-8 decoder makes of the file (readListText: as a string; readListUnits: as units), or the same error', async () => {
    let k = 0;
    await fc.assert(
      fc.asyncProperty(bytes, async (b) => {
        const f = join(dir, `f${k++}.txt`);
        writeFileSync(f, b);
        const run = async <T>(p: Promise<T>): Promise<{ ok: T } | { error: string }> =>
          p.then((ok) => ({ ok }), (e: Error) => ({ error: `${e.name}: ${e.message}` }));
        const text = await run(readListText(f, 'src'));
        const units = await run(readListUnits(f, 'src'));
        const want = decoded(b);
        expect(text).toEqual(want);
        if ('error' in units || 'error' in want) expect(units).toEqual(want);
        else expect(unitsText(units.ok, 0, units.ok.length)).toBe(want.ok);
      }),
      { numRuns: 300 },
    );
  });
});

describe('RangeInterner', () => {
  it('one id per distinct string, for ranges of the text and strings given as such', () => {
    // The org-… pairs have the same 32-bit hash: only the comparison of units tells them apart.
    const word = fc.oneof(
      fc.constantFrom('', 'a', 'ab', 'b', 'org-1', 'org-10', 'é', '\ud800', 'x\u0000', 'org-05zl', 'org-bpcp', 'org-05td', 'org-bpep'),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 300 }), fc.array(word, { maxLength: 5 }), (words, given) => {
        const text = words.join('|');
        const u = unitsOf(text);
        const it = new RangeInterner(u);
        const model = new Map<string, number>();
        const check = (s: string, id: number): void => {
          expect(it.strings[id]).toBe(s);
          if (!model.has(s)) model.set(s, id);
          expect(id).toBe(model.get(s));
        };
        let pos = 0;
        for (const [i, w] of words.entries()) {
          check(w, it.intern(pos, pos + w.length));
          if (i < given.length) check(given[i]!, it.internText(given[i]!));
          pos += w.length + 1;
        }
        expect(it.strings.length).toBe(model.size);
      }),
      { numRuns: 500 },
    );
  });
});
