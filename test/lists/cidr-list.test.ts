import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ListParseError, ListReadError } from '../../src/errors.js';
import { loadCidrFile, loadCidrList, parseCidrList } from '../../src/lists/cidr-list.js';
import { readListText } from '../../src/lists/read-text.js';
import { OracleMap } from '../oracles/cidr-oracle.js';
import { expectSameAsNaive, naiveCidrList } from '../oracles/list-oracle.js';

function parseError(text: string, opts = {}): ListParseError {
  try {
    parseCidrList(text, { source: 'reg.txt', ...opts });
  } catch (e) {
    expect(e).toBeInstanceOf(ListParseError);
    return e as ListParseError;
  }
  throw new Error('expected a ListParseError');
}

describe('parseCidrList', () => {
  it('parses values, comments, blank lines, CRLF and canonicalises prefixes', () => {
    const text = '# header\r\n10.0.0.0/8, acme  # corp\r\n\r\n  2001:DB8:0::/32,beta\n::ffff:192.0.2.0/120\n203.0.113.7\n';
    const l = parseCidrList(text, { source: 'reg.txt', defaultValue: 'unknown' });
    expect(l.source).toBe('reg.txt');
    expect(l.entries).toEqual([
      ['10.0.0.0/8', 'acme'],
      ['2001:db8::/32', 'beta'],
      ['192.0.2.0/24', 'unknown'],
      ['203.0.113.7/32', 'unknown'],
    ]);
    expect(l.lines).toEqual([2, 4, 5, 6]);
    const m = l.toMap();
    expect(m.lookup('10.1.2.3')).toBe('acme');
    expect(m.lookup('::ffff:192.0.2.9')).toBe('unknown');
    expect(l.toMap()).toBe(m);
    expect(Object.isFrozen(l)).toBe(true);
  });
  it('drops an identical duplicate, including one written another way', () => {
    const l = parseCidrList('10.0.0.0/8,a\n::ffff:10.0.0.0/104,a\n');
    expect(l.entries).toEqual([['10.0.0.0/8', 'a']]);
  });
  it('agrees with the oracle on random valid lists', () => {
    const line = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), fc.constantFrom('', 'a', 'b'));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.integer({ min: 0, max: 0xffffffff }), (ls, q) => {
        const text = ls.map(([a, len, v]) => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${len}${v ? ',' + v : ''}`).join('\n');
        let list;
        try {
          list = parseCidrList(text, { normalize: true, defaultValue: 'd' });
        } catch (e) {
          expect(e).toBeInstanceOf(ListParseError);
          expect((e as Error).message).toMatch(/duplicate prefix/);
          return;
        }
        const o = new OracleMap(list.entries.map(([c, v]) => [c, v] as [string, string]));
        const ip = `${q >>> 24}.${(q >>> 16) & 255}.${(q >>> 8) & 255}.${q & 255}`;
        expect(list.toMap().lookup(ip)).toBe(o.lookup(ip));
      }),
      { numRuns: 100 },
    );
  });
});

describe('address ranges (first-last) in a CIDR list', () => {
  it('a range is the fewest prefixes that cover it, each an entry of its line with its value', () => {
    const l = parseCidrList('# RIPE style\n193.0.0.0 - 193.0.7.255, ripe\n10.0.0.1-10.0.0.6,acme\n2001:db8::-2001:db8::1:0\n', { defaultValue: 'd' });
    expect(l.entries).toEqual([
      ['193.0.0.0/21', 'ripe'],
      ['10.0.0.1/32', 'acme'], ['10.0.0.2/31', 'acme'], ['10.0.0.4/31', 'acme'], ['10.0.0.6/32', 'acme'],
      ['2001:db8::/112', 'd'], ['2001:db8::1:0/128', 'd'],
    ]);
    expect(l.lines).toEqual([2, 3, 3, 3, 3, 4, 4]);
    expect(l.toMap().lookup('10.0.0.3')).toBe('acme');
    expect(l.toMap().lookup('10.0.0.7')).toBeUndefined();
    expect(l.toMap().lookup('193.0.5.1')).toBe('ripe');
  });
  it('a spreadsheet header on the first entry line is named as one', () => {
    const err = (t: string) => {
      try {
        parseCidrList(t, { source: 'x.csv' });
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err('\ufeffprefix;registrant\r\n10.0.0.0/8;Acme\r\n')).toMatch(/^x\.csv:1: .*"prefix;registrant" \(a header line\? start it with # to make it a comment\)$/);
    expect(err('# exported\nnetwork,owner\n')).toMatch(/^x\.csv:2: .*"network" \(a header line\? start it with # to make it a comment\)$/);
    // Not on a later line, and not for a key with digits.
    expect(err('10.0.0.0/8,a\nnetwork,owner\n')).not.toMatch(/header/);
    expect(err('10.0.0.0/33\n')).not.toMatch(/header/);
  });
  it('a bad range fails its line with the reason and the range', () => {
    const err = (t: string) => {
      try {
        parseCidrList(t, { source: 'r.txt' });
      } catch (e) {
        expect(e).toBeInstanceOf(ListParseError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err('10.0.0.0/8\n10.0.0.9-10.0.0.1,a')).toBe('r.txt:2: TS_INVALID_CIDR: in range "10.0.0.9-10.0.0.1": the first address is after the last (a range is FIRST-LAST, two addresses)');
    expect(err('10.0.0.1-2001:db8::1')).toMatch(/^r\.txt:1: TS_INVALID_CIDR: in range .*: the two ends are of different address families/);
    expect(err('10.0.0.0/24-10.0.1.0')).toMatch(/^r\.txt:1: TS_INVALID_CIDR: in range .*"10\.0\.0\.0\/24" is a prefix, not an address/);
    expect(err('10.0.0.1-banana')).toMatch(/^r\.txt:1: TS_INVALID_CIDR: in range "10\.0\.0\.1-banana": .*"banana"/);
    // A prefix of a range that another line lists with another value is a duplicate, naming both lines.
    expect(err('10.0.0.2/31,x\n10.0.0.1-10.0.0.6,acme')).toMatch(/^r\.txt:2: duplicate prefix 10\.0\.0\.2\/31 with value "acme"; line 1 has "x"$/);
  });
  it('random ranges and prefixes agree with the naive oracle, error for error', () => {
    const ip = fc.integer({ min: 0, max: 0xffffffff }).map((a) => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`);
    const line = fc.oneof(
      fc.tuple(ip, ip, fc.constantFrom('', ',a', ',b')).map(([x, y, v]) => `${x} - ${y}${v}`),
      fc.tuple(ip, fc.integer({ min: 0, max: 32 }), fc.constantFrom('', ',a')).map(([x, l, v]) => `${x}/${l}${v}`),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), (ls) => {
        const text = ls.join('\n');
        expectSameAsNaive(() => naiveCidrList(text, '<input>', true, ''), () => parseCidrList(text, { normalize: true }), () => {});
      }),
      { numRuns: 200 },
    );
  });
});

describe('parseCidrList errors name source, line and offending text', () => {
  it('invalid CIDR', () => {
    const e = parseError('10.0.0.0/8,a\n\n# c\n10.0.0.300/24,b\n');
    expect(e.message).toMatch(/^reg\.txt:4: TS_INVALID_CIDR: .*"10\.0\.0\.300\/24"/);
    expect([e.source, e.line, e.code]).toEqual(['reg.txt', 4, 'TS_LIST_PARSE']);
    expect((e.cause as { code: string }).code).toBe('TS_INVALID_CIDR');
  });
  it('prefix length out of range', () => {
    expect(parseError('2001:db8::/129').message).toMatch(/^reg\.txt:1: TS_PREFIX_LENGTH: .*129.*"2001:db8::\/129"/);
  });
  it('host bits unless normalize', () => {
    expect(parseError('192.0.2.1/24\n').message).toMatch(/^reg\.txt:1: TS_HOST_BITS: .*192\.0\.2\.0\/24.*"192\.0\.2\.1\/24"/);
    expect(parseCidrList('192.0.2.1/24', { normalize: true }).entries).toEqual([['192.0.2.0/24', '']]);
  });
  it('missing CIDR before the comma', () => {
    expect(parseError('10.0.0.0/8\n , acme\n').message).toMatch(/^reg\.txt:2: missing CIDR.*", acme"/);
  });
  it('duplicate prefix with a different value names both lines', () => {
    const e = parseError('10.0.0.0/8,a\n# x\n10.0.0.0/8 , b\n');
    expect(e.message).toBe('reg.txt:3: duplicate prefix 10.0.0.0/8 with value "b"; line 1 has "a"');
  });
  it('a line separated by a blank, a tab or a semicolon says the value follows a comma', () => {
    for (const line of ['10.0.0.0/8 corp', '10.0.0.0/8\tcorp', '2001:db8::/32;corp']) {
      expect(parseError(line).message, line).toMatch(/^reg\.txt:1: TS_INVALID_CIDR: .* \(a line is CIDR\[,value\]: the value follows a comma\)$/);
    }
    // Only then: a key that is merely wrong gets its own reason alone.
    expect(parseError('10.0.0.300/24').message).not.toMatch(/follows a comma/);
  });
  it('zone ids are rejected', () => {
    expect(parseError('fe80::1%eth0').message).toMatch(/^reg\.txt:1: .*zone.*"fe80::1%eth0"/);
  });
});

describe('parseCidrList fuzz', () => {
  it('only ever throws ListParseError on random text', () => {
    const chars = fc.constantFrom(...'0123456789abcdef.:/,# \r\n\t%x-'.split(''), '\u00e9', '\u0000');
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: chars, maxLength: 120 }), fc.string({ maxLength: 80 })), fc.boolean(), (text, normalize) => {
        try {
          const l = parseCidrList(text, { source: 'fuzz', normalize });
          l.toMap();
        } catch (e) {
          expect(e).toBeInstanceOf(ListParseError);
          expect((e as Error).message).toMatch(/^fuzz:\d+: /);
        }
      }),
      { numRuns: 1500 },
    );
  });
});

describe('loadCidrList', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ts-cidr-list-'));
  it('reads a file and uses its path as the source', async () => {
    const f = join(dir, 'ok.txt');
    writeFileSync(f, '10.0.0.0/8,acme\n');
    const l = await loadCidrList({ path: f });
    expect(l.source).toBe(f);
    expect(l.toMap().lookup('10.2.3.4')).toBe('acme');
    expect((await loadCidrList('192.0.2.0/24', { source: 's' })).entries).toEqual([['192.0.2.0/24', '']]);
  });
  it('bad line in a file names the file path and line', async () => {
    const f = join(dir, 'bad.txt');
    writeFileSync(f, '10.0.0.0/8\nnope\n');
    await expect(loadCidrList({ path: f })).rejects.toThrow(`${f}:2: TS_INVALID_CIDR`);
  });
  it('missing file -> ListReadError naming the path and reason', async () => {
    const f = join(dir, 'missing.txt');
    const p = loadCidrList({ path: f });
    await expect(p).rejects.toBeInstanceOf(ListReadError);
    await expect(p).rejects.toThrow(`${f}: cannot read list: no such file`);
  });
  it('a directory, invalid UTF-8 or NUL bytes -> ListReadError', async () => {
    await expect(loadCidrList({ path: dir })).rejects.toThrow(/cannot read list: is a directory/);
    const bin = join(dir, 'bin.txt');
    writeFileSync(bin, Buffer.from([0x31, 0xff, 0xfe, 0x0a]));
    await expect(loadCidrList({ path: bin })).rejects.toThrow(/not UTF-8 text \(line 1, byte 1\)/);
    // The bad byte is found in a big file by its line and offset.
    writeFileSync(bin, Buffer.concat([Buffer.from('# hand-written\n10.0.0.0/8,Zürich\n'), Buffer.from([0x31, 0x30, 0xc3, 0x28, 0x0a])]));
    await expect(loadCidrList({ path: bin })).rejects.toThrow(/not UTF-8 text \(line 3, byte 36\)/);
    const nul = join(dir, 'nul.txt');
    writeFileSync(nul, '10.0.0.0/8\0\n');
    await expect(loadCidrList({ path: nul, source: 'named' } as { path: string })).rejects.toThrow(/NUL byte; line 1, byte 10/);
    await expect(loadCidrList({ path: nul }, { source: 'named' })).rejects.toThrow(/^named: /);
  });
});

describe('parseCidrList agrees with the naive grammar, error for error', () => {
  // Lines built from pieces that exercise every rule: prefixes written several ways (IPv4-mapped, upper-case
  // IPv6, host bits), repeated prefixes with the same or another value, comments, blanks of every kind
  // String.prototype.trim removes, CRLF, commas without a key, bad prefixes.
  const prefix = fc.constantFrom(
    '10.0.0.0/8', '10.0.0.0/8', '::ffff:10.0.0.0/104', '10.1.0.0/16', '192.0.2.7', '192.0.2.7/32', '192.0.2.1/24',
    '2001:db8::/32', '2001:DB8:0::/32', '2001:db8::1', '0.0.0.0/0', '::/0', '10.0.0.300/24', 'nope', '1.2.3.4/33',
    '1.2.3.4/08', 'fe80::1%eth0', '',
  );
  const value = fc.constantFrom('', 'a', 'b', 'acme corp', 'é', 'a,b');
  const blank = fc.constantFrom('', ' ', '\t', '\r', '\u00a0', '\u2003', '\ufeff', '\u3000');
  const line = fc.oneof(
    fc.tuple(blank, prefix, blank, fc.boolean(), blank, value, blank, fc.constantFrom('', ' # c', '#x,y', '\r')).map(
      ([b1, p, b2, hasComma, b3, v, b4, tail]) => `${b1}${p}${b2}${hasComma ? `,${b3}${v}` : ''}${b4}${tail}`,
    ),
    fc.constantFrom('', '# only a comment', ' , value', ',', '\r'),
  );
  it('same entries, lines and map, or the same error message', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.boolean(), fc.constantFrom('', 'd'), (ls, normalize, defaultValue) => {
        const text = ls.join('\n');
        expectSameAsNaive(
          () => naiveCidrList(text, 'o', normalize, defaultValue),
          () => parseCidrList(text, { source: 'o', normalize, defaultValue }),
          (got, want) => expect([...got.toMap().entries()].sort()).toEqual([...want.entries].sort()),
        );
      }),
      { numRuns: 3000 },
    );
  });
  it('a repeated prefix with another value is reported before a bad line that follows it', () => {
    expect(parseError('10.0.0.0/8,a\n10.0.0.0/8,b\nnope\n').message).toBe('reg.txt:2: duplicate prefix 10.0.0.0/8 with value "b"; line 1 has "a"');
    expect(parseError('10.0.0.0/8,a\nnope\n10.0.0.0/8,b\n').message).toMatch(/^reg\.txt:2: TS_INVALID_CIDR/);
    // Of two conflicting groups, the one whose repeat comes first in the file.
    expect(parseError('10.0.0.0/8,a\n11.0.0.0/8,a\n11.0.0.0/8,b\n10.0.0.0/8,b\n').message).toMatch(/^reg\.txt:3: duplicate prefix 11\.0\.0\.0\/8/);
  });
});

describe('large lists agree with the naive grammar (canonical order, repeats and files at scale)', () => {
  // Thousands of lines from a small pool of prefixes (so repeats are common), in file order or shuffled, some with
  // a value that repeats, differs, is missing, or is not ASCII; loaded from text and from a file.
  const pool = fc.uniqueArray(
    fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 0xffffff }), fc.constantFrom(24, 32)).map(([a, l]) => `${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}.${l === 32 ? a & 7 : 0}/${l}`),
      fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(48, 64, 128)).map(([a, l]) => `2001:db8:${a.toString(16)}::${l === 128 ? '1' : ''}/${l}`),
    ),
    { minLength: 1, maxLength: 400 },
  );
  const dir = mkdtempSync(join(tmpdir(), 'ts-cidr-large-'));
  let k = 0;
  it('same entries, lines, map and errors', async () => {
    await fc.assert(
      fc.asyncProperty(
        pool,
        fc.array(fc.tuple(fc.nat(), fc.constantFrom('', 'org-1', 'org-2', 'orgé', 'org-1')), { minLength: 1, maxLength: 3000 }),
        fc.boolean(),
        async (prefixes, rows, sameValues) => {
          const text = rows.map(([i, v]) => `${prefixes[i % prefixes.length]}${sameValues ? ',org-1' : v ? `,${v}` : ''}`).join('\n') + '\n';
          const f = join(dir, `l${k++}.txt`);
          writeFileSync(f, text);
          for (const real of [() => parseCidrList(text, { source: 'o' }), () => loadCidrList({ path: f }, { source: 'o' })]) {
            let got: Awaited<ReturnType<typeof loadCidrList>> | Error;
            try {
              got = await real();
            } catch (e) {
              got = e as Error;
            }
            expectSameAsNaive(
              () => naiveCidrList(text, 'o', false, ''),
              () => {
                if (got instanceof Error) throw got;
                return got;
              },
              (g, want) => expect([...g.toMap().entries()].sort()).toEqual([...want.entries].sort()),
            );
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});

describe('a list file read a chunk at a time', () => {
  // Lines of every kind (good, repeated, bad, long, commented, blank) with every line end, sometimes a byte that is
  // not ASCII, a NUL, invalid UTF-8 or a byte-order mark somewhere; read in chunks of 1 to 300 bytes (so lines,
  // CRLFs and carried line starts fall across every boundary), or the default size. Oracle: the whole text.
  const line = fc.oneof(
    fc.constantFrom('10.0.0.0/8,a', '10.0.0.0/8,b', '192.0.2.0/24', '2001:db8::/32,c', 'nope', '  10.1.0.0/16 , d # x', '# c', '', ' , v', '1.2.3.4/33', '10.0.0.1/8,x'),
    fc.nat(3000).map((n) => `10.2.0.0/16,${'v'.repeat(n)}`), // over the value limit, over the line limit, over the carry room
  );
  const extra = fc.constantFrom<number[]>([], [], [], [0xc3, 0xa9], [0], [0xff], [0xef, 0xbb, 0xbf], [0x0d], [0x0a]);
  const file = fc
    .tuple(fc.array(fc.tuple(line, fc.constantFrom('\n', '\r\n', '\r\n', '\r')), { maxLength: 40 }), extra, fc.nat(), fc.boolean())
    .map(([ls, x, at, end]) => {
      const b = Buffer.from(ls.map(([l, e]) => l + e).join('').slice(0, end ? undefined : -1), 'latin1');
      const k = b.length ? at % (b.length + 1) : 0;
      return Buffer.concat([b.subarray(0, k), Buffer.from(x), b.subarray(k)]);
    });
  const dir = mkdtempSync(join(tmpdir(), 'ts-cidr-chunks-'));
  let k = 0;
  const outcome = async (f: () => Promise<{ entries: unknown; lines: unknown; toMap(): { toBuffer(): SharedArrayBuffer; values(): unknown[] } }>): Promise<unknown> => {
    try {
      const l = await f();
      return { entries: l.entries, lines: l.lines, tables: Buffer.from(l.toMap().toBuffer()).toString('base64'), values: l.toMap().values() };
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  };
  it('gives the list or the first error the whole text gives', async () => {
    await fc.assert(
      fc.asyncProperty(file, fc.oneof(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 300 }), fc.constant(undefined)), async (bytes, chunk) => {
        const f = join(dir, `c${k++}.txt`);
        writeFileSync(f, bytes);
        const want = await outcome(async () => parseCidrList(await readListText(f, 'src'), { source: 'src' }));
        expect(await outcome(() => loadCidrFile(f, { source: 'src' }, chunk))).toEqual(want);
      }),
      { numRuns: 1000 },
    );
  }, 120_000);
  it('a CRLF split between two reads is one line end', async () => {
    const f = join(dir, 'crlf.txt');
    writeFileSync(f, '10.0.0.0/8,a\r\n11.0.0.0/8,b\r\nnope\r\n');
    await expect(loadCidrFile(f, { source: 's' }, 13)).rejects.toThrow(/^s:3: TS_INVALID_CIDR/);
  });
});
