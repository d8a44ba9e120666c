/**
 * List files under hostile or careless input (issue 18, defects 4, 5 and 6): devices and other non-files are refused
 * before a byte is read (`--registered /dev/zero` grew to 2.9 GB and died by SIGSEGV), files and pipes beyond the
 * stated size fail with a ListReadError, bare-CR line endings split lines (the whole file used to become one line's
 * value), over-long lines fail with their line number, values with control or bidi characters are refused with
 * file:line, and no error message is longer than MAX_MESSAGE or holds a raw control character.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListParseError, ListReadError, MAX_MESSAGE } from '../../src/errors.js';
import { loadCidrList, parseCidrList } from '../../src/lists/cidr-list.js';
import { loadDomainList, parseDomainList } from '../../src/lists/domains.js';
import { MAX_LINE_CHARS, MAX_LIST_BYTES, MAX_VALUE_CHARS, readListText } from '../../src/lists/read-text.js';
import { scanListLines } from '../../src/lists/scan.js';
import { unitsOf } from '../../src/lists/units.js';

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ts-list-limits-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readError(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('what is read', () => {
  it('/dev/zero (a character device) is refused at once, without reading', async () => {
    const t0 = performance.now();
    const e = await readError(loadCidrList({ path: '/dev/zero' }));
    expect(e).toBeInstanceOf(ListReadError);
    expect(e.message).toBe('/dev/zero: cannot read list: a character device, not a regular file or pipe');
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('a directory is refused', async () => {
    const e = await readError(loadDomainList({ path: dir }));
    expect(e).toBeInstanceOf(ListReadError);
    expect(e.message).toBe(`${dir}: cannot read list: is a directory`);
  });

  it('a regular file over the size limit is refused from its size (a sparse file: nothing is read)', async () => {
    const big = join(dir, 'big.txt');
    writeFileSync(big, '');
    truncateSync(big, MAX_LIST_BYTES + 1);
    const e = await readError(loadCidrList({ path: big }));
    expect(e).toBeInstanceOf(ListReadError);
    expect(e.message).toBe(`${big}: list file of ${MAX_LIST_BYTES + 1} bytes is over the limit of ${MAX_LIST_BYTES} bytes`);
  });

  it('a file exactly at a (smaller) limit is read; one byte more is not', async () => {
    const f = join(dir, 'edge.txt');
    writeFileSync(f, '10.0.0.0/8,a\n');
    expect(await readListText(f, 'edge', 13)).toBe('10.0.0.0/8,a\n');
    expect(await readError(readListText(f, 'edge', 12))).toBeInstanceOf(ListReadError);
  });

  it.skipIf(!existsSync('/usr/bin/mkfifo'))('a pipe (process substitution) is read, and stopped once past the limit', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `printf '10.0.0.0/8,a\\r192.0.2.0/24,b\\n' > ${fifo}`]);
    const list = await loadCidrList({ path: fifo });
    expect(list.entries).toEqual([['10.0.0.0/8', 'a'], ['192.0.2.0/24', 'b']]);
    if (writer.exitCode === null && writer.signalCode === null) await new Promise((r) => writer.on('exit', r));
    // An endless writer: the read stops at the limit (the writer then gets SIGPIPE).
    const endless = spawn('sh', ['-c', `yes 10.0.0.0/8,a > ${fifo}`]);
    const e = await readError(readListText(fifo, 'pipe', 1 << 20));
    expect(e).toBeInstanceOf(ListReadError);
    expect(e.message).toBe(`pipe: list input is over the limit of ${1 << 20} bytes`);
    endless.kill();
  });
});

describe('line endings', () => {
  it('bare CR, CRLF and LF all end lines, with the right line numbers', () => {
    const text = '# registered\r10.0.0.0/8,acme\r\r192.0.2.0/24,beta\r\n2001:db8::/32,gamma\n198.51.100.0/24,delta\r';
    const l = parseCidrList(text, { source: 'cr.txt' });
    expect(l.entries).toEqual([['10.0.0.0/8', 'acme'], ['192.0.2.0/24', 'beta'], ['2001:db8::/32', 'gamma'], ['198.51.100.0/24', 'delta']]);
    expect(l.lines).toEqual([2, 4, 5, 6]);
    expect(() => parseCidrList('10.0.0.0/8,a\rbad\r', { source: 'cr.txt' })).toThrow('cr.txt:2: ');
    expect(parseDomainList('a.example,A\rb.example,B', { source: 'd' }).entries).toEqual([['a.example', 'A'], ['b.example', 'B']]);
  });

  it('property: joining lines with any mix of LF, CRLF and CR gives the same entries', () => {
    const line = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.stringMatching(/^[a-z0-9-]{1,12}$/));
    fc.assert(
      fc.property(fc.uniqueArray(line, { selector: (x) => x[0] * 256 + x[1], maxLength: 30 }), fc.array(fc.constantFrom('\n', '\r\n', '\r'), { minLength: 30, maxLength: 30 }), (rows, ends) => {
        const lines = rows.map(([a, b, v]) => `10.${a}.${b}.0/24,${v}`);
        const lf = parseCidrList(lines.join('\n'));
        const mixed = parseCidrList(lines.map((l, i) => l + ends[i]!).join(''));
        expect(mixed.entries).toEqual(lf.entries);
        expect(mixed.lines).toEqual(lf.lines);
      }),
    );
  });
});

describe('lines and values', () => {
  it('a line over MAX_LINE_CHARS fails with its line number and a short message', () => {
    const long = `10.0.0.0/8,${'x'.repeat(1_000_000)}`;
    let e: unknown;
    try {
      parseCidrList(`# ok\n${long}\n`, { source: 'long.txt' });
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(ListParseError);
    expect((e as ListParseError).line).toBe(2);
    expect((e as Error).message).toBe(`long.txt:2: line of ${long.length} characters is over the limit of ${MAX_LINE_CHARS}`);
  });

  it('values with ESC, BEL, CR-less controls, C1, DEL or bidi overrides are refused with file:line', () => {
    for (const bad of ['acme\x1b[2J', 'a\x07', 'a\x00b', 'a\x9bb', 'a\x7fb', 'evil\u202egnp.exe', 'a\u2028b', 'a\tb']) {
      let e: unknown;
      try {
        parseCidrList(`10.0.0.0/8,ok\n192.0.2.0/24,${bad}\n`, { source: 'reg.txt' });
      } catch (x) {
        e = x;
      }
      expect(e, JSON.stringify(bad)).toBeInstanceOf(ListParseError);
      expect((e as Error).message).toMatch(/^reg\.txt:2: value ".*": control, bidi-formatting or invisible character U\+[0-9A-F]{4} at column \d+$/);
      expect((e as Error).message).not.toMatch(UNSAFE);
    }
    expect(() => parseDomainList('nordvpn.com,Nord\x1bVPN', { source: 'd.txt' })).toThrow(/^d\.txt:1: provider/);
    expect(() => parseCidrList(`10.0.0.0/8,${'v'.repeat(MAX_VALUE_CHARS + 1)}`)).toThrow(/longer than 256 characters/);
  });

  it('more entries than the limit fail at the first one too many', () => {
    const text = Array.from({ length: 11 }, (_, i) => `10.0.${i}.0/24,x`).join('\n');
    let n = 0;
    scanListLines(unitsOf(text), 's', { key: 'CIDR', value: 'value' }, () => n++, 11);
    expect(n).toBe(11);
    expect(() => scanListLines(unitsOf(text), 's', { key: 'CIDR', value: 'value' }, () => {}, 10)).toThrow('s:11: more than 10 entries');
  });

  it('property: any list text either loads or fails with a one-line, bounded, escaped message', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 3000 }), fc.string({ unit: 'binary', maxLength: 5000 }), (text, source) => {
        for (const parse of [parseCidrList, parseDomainList]) {
          try {
            parse(text, { source });
          } catch (e) {
            expect(e).toBeInstanceOf(ListParseError);
            const m = (e as Error).message;
            expect(m.length).toBeLessThanOrEqual(MAX_MESSAGE);
            expect(m).not.toMatch(UNSAFE);
            expect(m).toContain(`:${(e as ListParseError).line}: `);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
