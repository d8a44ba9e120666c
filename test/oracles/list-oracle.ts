/**
 * Naive list-file oracle: the straightforward grammar (a string per line, slice, trim, a Map of canonical keys)
 * that the in-place scanner of src/lists/scan.ts and the CIDR loader must agree with, error for error.
 */
import { expect } from 'vitest';
import { CidrError, ListParseError } from '../../src/errors.js';
import { formatPrefix, newPrefixParts, parsePrefixInto } from '../../src/ip/prefix.js';

import { quoteForMessage as quote } from '../../src/lists/read-text.js';

// The grammar's limits, restated: lines of at most 1,024 characters; values of at most 256, none of the characters
// that act on a terminal (C0, DEL, C1, bidi marks, U+2028/9).
const MAX_LINE = 1024;
const MAX_VALUE = 256;
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\u2065\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0\ufff9\ufffa\ufffb]|[\u{e0000}-\u{e007f}]/u;

export function naiveListLines(
  text: string,
  source: string,
  nouns: { key: string; entry: string; value: string },
  defaultValue: string,
  canonical: (key: string, lineNo: number, entriesBefore: number) => string | string[],
): { entries: [string, string][]; lines: number[] } {
  const entries: [string, string][] = [];
  const lines: number[] = [];
  const seen = new Map<string, number>();
  // LF, CRLF or a bare CR end a line.
  const all = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < all.length; i++) {
    const lineNo = i + 1;
    let line = all[i]!;
    if (line.length > MAX_LINE) throw new ListParseError(source, lineNo, `line of ${line.length} characters is over the limit of ${MAX_LINE}`);
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    line = line.trim();
    if (line === '') continue;
    const comma = line.indexOf(',');
    const raw = (comma < 0 ? line : line.slice(0, comma)).trim();
    const value = comma < 0 ? defaultValue : line.slice(comma + 1).trim() || defaultValue;
    if (raw === '') throw new ListParseError(source, lineNo, `missing ${nouns.key} before "," in ${quote(line)}`);
    if (comma >= 0 && value !== defaultValue) {
      const at = value.search(UNSAFE);
      if (value.length > MAX_VALUE) throw new ListParseError(source, lineNo, `${nouns.value} ${quote(value)}: longer than ${MAX_VALUE} characters`);
      if (at >= 0) {
        const u = value.codePointAt(at)!.toString(16).padStart(4, '0').toUpperCase();
        throw new ListParseError(source, lineNo, `${nouns.value} ${quote(value)}: control, bidi-formatting or invisible character U+${u} at column ${at + 1}`);
      }
    }
    const keys = canonical(raw, lineNo, entries.length);
    for (const key of typeof keys === 'string' ? [keys] : keys) {
      const prev = seen.get(key);
      if (prev !== undefined) {
        const old = entries[prev]![1];
        if (old === value) continue;
        throw new ListParseError(source, lineNo, `duplicate ${nouns.entry} ${key} with ${nouns.value} ${quote(value)}; line ${lines[prev]} has ${quote(old)}`);
      }
      seen.set(key, entries.length);
      entries.push([key, value]);
      lines.push(lineNo);
    }
  }
  return { entries, lines };
}

export function naiveCidrList(text: string, source: string, normalize: boolean, defaultValue: string): { entries: [string, string][]; lines: number[] } {
  const p = newPrefixParts();
  return naiveListLines(text, source, { key: 'CIDR', entry: 'prefix', value: 'value' }, defaultValue, (raw, lineNo, before) => {
    if (raw.includes('-')) return naiveRange(raw, source, lineNo);
    try {
      return formatPrefix(parsePrefixInto(raw, p, normalize));
    } catch (e) {
      const header = before === 0 && !/\d/.test(raw);
      const hint = header
        ? ' (a header line? start it with # to make it a comment)'
        : raw.includes(' ') || raw.includes('\t') || raw.includes(';') ? ' (a line is CIDR[,value]: the value follows a comma)' : '';
      if (e instanceof CidrError) throw new ListParseError(source, lineNo, `${e.code}: ${e.message}${hint}`, { cause: e });
      throw e;
    }
  });
}

/**
 * Run the naive parse and the real one on the same text and check they agree: both throw the same ListParseError
 * message, or both succeed with the same entries and lines (then `more` checks the built table).
 */
export function expectSameAsNaive<L extends { entries: unknown; lines: unknown }>(
  naive: () => { entries: [string, string][]; lines: number[] },
  real: () => L,
  more: (got: L, want: { entries: [string, string][]; lines: number[] }) => void,
): void {
  const run = <T>(f: () => T): T | Error => {
    try {
      return f();
    } catch (e) {
      return e as Error;
    }
  };
  const want = run(naive);
  const got = run(real);
  if (want instanceof Error) {
    expect(got).toBeInstanceOf(ListParseError);
    expect((got as Error).message).toBe(want.message);
    return;
  }
  if (got instanceof Error) throw got;
  expect(got.entries).toEqual(want.entries);
  expect(got.lines).toEqual(want.lines);
  more(got, want);
}

/** A range line `first-last` as its prefixes, the naive way (grow each block from the start while it fits). */
function naiveRange(raw: string, source: string, lineNo: number): string[] {
  const fail = (code: string, why: string): never => {
    throw new ListParseError(source, lineNo, `${code}: in range ${quote(raw)}: ${why} (a range is FIRST-LAST, two addresses)`);
  };
  const dash = raw.indexOf('-');
  const ends = [raw.slice(0, dash).trim(), raw.slice(dash + 1).trim()];
  const parsed = ends.map((end) => {
    if (end.includes('/')) fail('TS_INVALID_CIDR', `${quote(end)} is a prefix, not an address`);
    try {
      return parsePrefixInto(end, newPrefixParts());
    } catch (e) {
      if (e instanceof CidrError) return fail(e.code, e.message);
      throw e;
    }
  });
  const [a, b] = parsed as [ReturnType<typeof newPrefixParts>, ReturnType<typeof newPrefixParts>];
  if (a.family !== b.family) fail('TS_INVALID_CIDR', 'the two ends are of different address families');
  const bits = a.family === 4 ? 32 : 128;
  const big = (p: typeof a) => (p.family === 4 ? BigInt(p.words[0]!) : [...p.words].reduce((n, w) => (n << 32n) | BigInt(w), 0n));
  let lo = big(a);
  const hi = big(b);
  if (lo > hi) fail('TS_INVALID_CIDR', 'the first address is after the last');
  const out: string[] = [];
  while (lo <= hi) {
    let size = 0;
    while (size < bits && lo % (1n << BigInt(size + 1)) === 0n && lo + (1n << BigInt(size + 1)) - 1n <= hi) size++;
    const words = a.family === 4 ? [Number(lo)] : [0, 1, 2, 3].map((k) => Number((lo >> BigInt(32 * (3 - k))) & 0xffffffffn));
    const p = newPrefixParts();
    p.family = a.family;
    words.forEach((w, k) => (p.words[k] = w));
    p.len = bits - size;
    out.push(formatPrefix(p));
    lo += 1n << BigInt(size);
  }
  return out;
}
