/**
 * The fleet list snapshot codec (no server): what is encoded decodes to the same entries; a stored object is
 * hostile input — random and mutated bytes end in a TunnelscopeError (never another exception, never a half
 * list); list files are all validated before anything is returned.
 */
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ListParseError, ListReadError, TunnelscopeError } from '../../src/errors.js';
import { parseCidrList } from '../../src/lists/cidr-list.js';
import { parseDomainList } from '../../src/lists/domains.js';
import { decodeListSnapshot, encodeListSnapshot, listEntryCount, ListSnapshotError, snapshotListsInput, type ListSnapshotContent } from '../../src/nats/snapshot.js';
import { ListFilesError, loadListFiles } from '../../src/nats/list-files.js';
import { createClassifier } from '../../src/classify/classifier.js';
import { youngAllocation } from '../helpers/gc-probe.js';

const meta = { published: '2026-12-05T10:00:00.000Z', publisher: 'ops-1', basedOn: 24 };

const v4 = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })).map(([a, l]) => {
  const m = l === 0 ? 0 : (a & (0xffffffff << (32 - l))) >>> 0;
  return `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}/${l}`;
});
/** Values as list files allow them: printable, no comma-trimming surprises, no '#'. */
const value = fc.stringMatching(/^[A-Za-z0-9 ,._:-]{0,12}$/).map((s) => s.trim());
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const domain = fc.tuple(fc.boolean(), fc.array(label, { minLength: 2, maxLength: 4 })).map(([w, ls]) => (w ? '*.' : '') + ls.join('.'));

function contentOf(reg: string, ep: string, dom: string): ListSnapshotContent {
  return {
    lists: {
      registered: { name: 'reg.txt', entries: parseCidrList(reg).entries },
      vpnEndpoints: { name: 'ep.txt', entries: parseCidrList(ep).entries },
      vpnDomains: { name: 'dom.txt', entries: parseDomainList(dom).entries },
    },
    meta,
  };
}

describe('list snapshot codec', () => {
  it('round-trips every list, names and meta', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(v4, value), { selector: (x) => x[0], maxLength: 40 }),
        fc.uniqueArray(fc.tuple(v4, value), { selector: (x) => x[0], maxLength: 10 }),
        fc.uniqueArray(fc.tuple(domain, value), { selector: (x) => x[0], maxLength: 20 }),
        (reg, ep, dom) => {
          const text = (xs: [string, string][]) => xs.map(([k, v]) => `${k},${v}`).join('\n');
          const c = contentOf(text(reg), text(ep), text(dom));
          const back = decodeListSnapshot(encodeListSnapshot(c), 'test');
          expect(back).toEqual(c);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives classifier input that names the fleet revision and the list names', () => {
    const c = contentOf('10.0.0.0/8,acme', '', 'nordvpn.com,NordVPN');
    const input = snapshotListsInput(decodeListSnapshot(encodeListSnapshot(c), 'test'), 57);
    const cl = createClassifier(input);
    expect(cl.listVersion).toBe(57);
    expect(cl.lists.registered?.lookup('10.2.3.4')).toBe('acme');
    expect(cl.lists.vpnEndpoints).toBeNull();
    expect(cl.lists.names).toEqual({ registered: 'reg.txt', vpnEndpoints: 'ep.txt', vpnDomains: 'dom.txt' });
  });

  it('refuses values the one-line format cannot hold', () => {
    const c = contentOf('10.0.0.0/8,a', '', '');
    const bad = { ...c, lists: { ...c.lists, registered: { name: 'r', entries: [['10.0.0.0/8', 'a#b']] as const } } };
    expect(() => encodeListSnapshot(bad)).toThrow(ListSnapshotError);
  });

  it('a list name it cannot hold is refused naming the name and the fault, escaped', () => {
    // Before: "registered: list name too long or has a line break", for a path the publisher passed.
    const c = contentOf('10.0.0.0/8,a', '', '');
    const named = (name: string): string => {
      try {
        encodeListSnapshot({ ...c, lists: { ...c.lists, registered: { ...c.lists.registered, name } } });
      } catch (e) {
        expect(e).toBeInstanceOf(ListSnapshotError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(named('reg\nx\u202e.txt')).toBe('registered: list name "reg\\nx\\u202e.txt" has a line break (a list name is one line)');
    expect(named('d/'.repeat(300))).toMatch(/^registered: list name "d\/d\/.*…" is 600 characters, more than 512$/);
  });

  it('a bad line inside a stored snapshot is reported with its list name, revision and line', () => {
    const good = encodeListSnapshot(contentOf('10.0.0.0/8,a\n10.1.0.0/16,b', '', ''));
    const text = new TextDecoder().decode(good).replace('10.1.0.0/16', '10.1.0.0/99');
    const e = (() => {
      try {
        decodeListSnapshot(new TextEncoder().encode(text), 'tunnelscope-lists revision 9');
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(ListParseError);
    expect((e as Error).message).toMatch(/^reg\.txt \(tunnelscope-lists revision 9\):2: /);
  });

  it('a list that is not UTF-8 or holds a NUL byte: the refusal names the bad byte\'s line and offset in that list', () => {
    // Before: "registered: not UTF-8 text" with no place, and a NUL byte reported on line 1 whatever its line.
    const good = encodeListSnapshot(contentOf('', '10.0.0.0/8,a\n10.1.0.0/16,b', ''));
    const start = Buffer.from(good).indexOf('10.0.0.0/8,a');
    const at = Buffer.from(good).indexOf('/16,b') + 4; // the 'b' on the list's line 2
    const refusal = (byte: number): string => {
      const bad = good.slice();
      bad[at] = byte;
      try {
        decodeListSnapshot(bad, 'tunnelscope-lists revision 9');
      } catch (err) {
        expect(err).toBeInstanceOf(ListSnapshotError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refusal(0xff)).toBe(`tunnelscope-lists revision 9: vpnEndpoints: not UTF-8 text (line 2, byte ${at - start})`);
    expect(refusal(0)).toBe(`tunnelscope-lists revision 9: vpnEndpoints: binary file (NUL byte; line 2, byte ${at - start})`);
  });

  it('random and mutated bytes: a TunnelscopeError or a valid snapshot, nothing else', () => {
    // A range line is stored as written: mutations of it must end the same way.
    const good = encodeListSnapshot(contentOf('10.0.0.0/8,a\n192.0.2.0/24,b\n2001:db8::/32,c\n198.18.0.1 - 198.18.0.6,r', '198.51.100.0/24,x', 'nordvpn.com,NordVPN\n*.vpn.example,E'));
    expect(new TextDecoder().decode(good)).toContain('198.18.0.1 - 198.18.0.6,r');
    const check = (b: Uint8Array): void => {
      try {
        const c = decodeListSnapshot(b, 'fuzz');
        // Whatever decodes must re-encode to the same bytes (nothing half-read).
        expect(decodeListSnapshot(encodeListSnapshot(c), 'again')).toEqual(c);
      } catch (e) {
        expect(e).toBeInstanceOf(TunnelscopeError);
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => check(b)), { numRuns: 300 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (muts) => {
        const b = good.slice();
        for (const [i, v] of muts) b[i] = v;
        check(b);
      }),
      { numRuns: 1000 },
    );
    for (let cut = 0; cut < good.length; cut++) check(good.subarray(0, cut));
  });
});

describe('a sensor decoding a snapshot', () => {
  it('builds no prefix pairs it does not read (the map is what it classifies with)', async () => {
    // Before: ~230 bytes a prefix, 160 MiB for a million, held as long as the snapshot (a sensor keeps its first
    // one for the whole run) though only `entries.length` was ever read.
    const n = 50_000;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(`${(i >>> 12) & 255}.${(i >>> 4) & 255}.${(i & 15) << 4}.0/28,org-${i % 500}`);
    const bytes = encodeListSnapshot(contentOf(lines.join('\n'), '', 'nordvpn.com,NordVPN'));
    const sensor = (readPairs: boolean) => (): number => {
      const c = decodeListSnapshot(bytes, 'r 1');
      const cl = createClassifier(snapshotListsInput(c, 1));
      return cl.lists.registered!.size + (readPairs ? c.lists.registered.entries.length : 0);
    };
    const lazy = await youngAllocation(sensor(false));
    const control = await youngAllocation(sensor(true));
    expect(control.bytes / n).toBeGreaterThan(150); // the probe sees the pairs when they are built
    expect(lazy.bytes / n).toBeLessThan(150);
    // Read, they are the list's pairs, and counted without being built.
    const c = decodeListSnapshot(bytes, 'r 1');
    expect(listEntryCount(c.lists.registered)).toBe(n);
    expect(c.lists.registered.entries[258]).toEqual(['0.16.32.0/28', 'org-258']);
  }, 60_000);
});

describe('loadListFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ts-listfiles-'));
  const write = (n: string, t: string): string => {
    const p = join(dir, n);
    writeFileSync(p, t);
    return p;
  };

  it('validates every file and reports the first bad line of each, file:line: reason', async () => {
    const reg = write('reg.txt', '10.0.0.0/8,a\n10.1.0.0/33,b\n');
    const ep = write('ep.txt', '198.51.100.0/24\n');
    const dom = write('dom.txt', 'ok.example,A\nbad_*.example,B\n');
    const err = await loadListFiles({ registered: reg, vpnEndpoints: ep, vpnDomains: dom }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ListFilesError);
    const errors = (err as ListFilesError).errors;
    expect(errors.map((e) => e.constructor)).toEqual([ListParseError, ListParseError]);
    expect(errors[0]!.message).toMatch(new RegExp(`^${reg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: `));
    expect(errors[1]!.message).toMatch(new RegExp(`^${dom.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: `));
  });

  it('an unreadable file is reported too; lists not named are absent; domains include the bundled list', async () => {
    const err = await loadListFiles({ registered: join(dir, 'missing.txt') }).catch((e: unknown) => e);
    expect((err as ListFilesError).errors[0]).toBeInstanceOf(ListReadError);
    const ok = await loadListFiles({ registered: write('r2.txt', '10.0.0.0/8,acme\n'), vpnDomains: write('d2.txt', 'corp-vpn.example,Corp\n') });
    expect(Object.keys(ok).sort()).toEqual(['registered', 'vpnDomains']);
    expect(ok.registered!.entries).toEqual([['10.0.0.0/8', 'acme']]);
    const dom = new Map(ok.vpnDomains!.entries);
    expect(dom.get('corp-vpn.example')).toBe('Corp');
    expect(dom.get('nordvpn.com')).toBe('NordVPN'); // bundled
    const only = await loadListFiles({ vpnDomains: write('d3.txt', 'corp-vpn.example,Corp\n'), bundledDomains: false });
    expect(only.vpnDomains!.entries).toEqual([['corp-vpn.example', 'Corp']]);
  });
});
