/** subjectCovers against a naive oracle: a pattern covers a subject when it matches every concrete subject the subject matches. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { subjectCovers } from '../../src/nats/names.js';

/** NATS matching of a concrete subject (no wildcards) by a pattern. */
function matches(pattern: string[], subject: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '>') return subject.length > i;
    if (i >= subject.length || (pattern[i] !== '*' && pattern[i] !== subject[i])) return false;
  }
  return pattern.length === subject.length;
}

/** Every concrete subject of up to 4 tokens over {a, b} (the oracle's universe). */
const UNIVERSE: string[][] = [];
for (let n = 1; n <= 4; n++) {
  for (let k = 0; k < 1 << n; k++) UNIVERSE.push(Array.from({ length: n }, (_, i) => ((k >> i) & 1 ? 'b' : 'a')));
}

const token = fc.constantFrom('a', 'b', '*');
const pattern = fc.tuple(fc.array(token, { minLength: 0, maxLength: 3 }), fc.boolean()).map(([t, full]) => (full || t.length === 0 ? [...t, '>'] : t));

describe('subjectCovers', () => {
  it('examples', () => {
    expect(subjectCovers('tunnelscope.>', 'tunnelscope.records.>')).toBe(true);
    expect(subjectCovers('tunnelscope.records.>', 'tunnelscope.records.>')).toBe(true);
    expect(subjectCovers('tunnelscope.*.>', 'tunnelscope.records.>')).toBe(true);
    expect(subjectCovers('tunnelscope.records.*', 'tunnelscope.records.>')).toBe(false);
    expect(subjectCovers('tunnelscope.records.>', 'tunnelscope.>')).toBe(false);
    expect(subjectCovers('>', 'tunnelscope.jobs.capture')).toBe(true);
    expect(subjectCovers('tunnelscope.jobs.capture', 'tunnelscope.jobs.capture')).toBe(true);
    expect(subjectCovers('tunnelscope.jobs', 'tunnelscope.jobs.capture')).toBe(false);
  });

  it('property: covers exactly when every subject of the universe the subject matches, the pattern matches too', () => {
    // Within 4 tokens over {a, b}; patterns and subjects of at most 4 tokens, so the universe decides.
    fc.assert(
      fc.property(pattern, pattern, (p, s) => {
        const want = UNIVERSE.filter((c) => matches(s, c)).every((c) => matches(p, c));
        // '>' stands for any number of tokens, past the universe's 4: judge only pairs the universe can tell apart.
        if (s.includes('>') && p.includes('>') === false) return subjectCovers(p.join('.'), s.join('.')) === false;
        expect(subjectCovers(p.join('.'), s.join('.'))).toBe(want);
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});
