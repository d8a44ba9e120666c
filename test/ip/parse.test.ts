import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { formatAddressPort, formatIPv4, formatIPv6, formatIPv6Words } from '../../src/ip/format.js';
import { parseIPv4, parseIPv6 } from '../../src/ip/parse.js';
import { newPrefixParts, parsePrefixInto } from '../../src/ip/prefix.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constant(0));

/** Oracle: ipaddr.js strict four-part decimal. */
const v4Ok = (s: string): boolean => ipaddr.IPv4.isValidFourPartDecimal(s);
/** Oracle: ipaddr.js IPv6 validity, minus zone ids, with a strict dotted tail. */
function v6Ok(s: string): boolean {
  if (s.includes('%') || !ipaddr.IPv6.isValid(s)) return false;
  const tail = s.lastIndexOf(':');
  const t = s.slice(tail + 1);
  return !t.includes('.') || v4Ok(t);
}
function v6Words(s: string): number[] {
  const b = ipaddr.IPv6.parse(s).toByteArray();
  return [0, 4, 8, 12].map((k) => ((b[k]! << 24) | (b[k + 1]! << 16) | (b[k + 2]! << 8) | b[k + 3]!) >>> 0);
}

/** Text forms of an address given as 8 groups: full, RFC 5952, random compression, uppercase, dotted tail. */
const v6Forms = fc.tuple(fc.array(u16, { minLength: 8, maxLength: 8 }), fc.nat(4), fc.nat(7), fc.nat(8)).map(([g, form, a, l]) => {
  const hex = g.map((x) => x.toString(16));
  if (form === 0) return hex.join(':');
  if (form === 1) return hex.join(':').toUpperCase();
  if (form === 2) {
    // compress an arbitrary zero run if there is one at [a, a+l)
    const end = Math.min(8, a + Math.max(1, l));
    if (g.slice(a, end).every((x) => x === 0)) return `${hex.slice(0, a).join(':')}::${hex.slice(end).join(':')}`;
    return hex.join(':');
  }
  if (form === 3) {
    const tail = `${g[6]! >>> 8}.${g[6]! & 255}.${g[7]! >>> 8}.${g[7]! & 255}`;
    return `${hex.slice(0, 6).join(':')}:${tail}`;
  }
  return ipaddr.fromByteArray(g.flatMap((x) => [x >>> 8, x & 255])).toString();
});

/** Random junk biased towards address characters, plus mutations of valid text. */
const junk = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'0123456789.'), maxLength: 20 }),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%'), maxLength: 45 }),
  fc.tuple(v6Forms, fc.nat(50), fc.constantFrom('', ':', '.', '0', 'g', '::', '%eth0', ' ', '00000')).map(
    ([s, i, ins]) => s.slice(0, i % (s.length + 1)) + ins + s.slice((i % (s.length + 1)) + (ins === '' ? 1 : 0)),
  ),
  fc.tuple(u32, fc.nat(15), fc.constantFrom('', '.', '0', '00', '256', ' ', 'a', '..')).map(([a, i, ins]) => {
    const s = formatIPv4(a);
    const k = i % (s.length + 1);
    return s.slice(0, k) + ins + s.slice(k + (ins === '' ? 1 : 0));
  }),
);

describe('parseIPv4 vs ipaddr.js', () => {
  it('parses every dotted quad to its value', () => {
    fc.assert(
      fc.property(u32, (a) => {
        expect(parseIPv4(formatIPv4(a))).toBe(a);
      }),
      { numRuns: 500 },
    );
  });
  it('accepts exactly what ipaddr.js strict four-part decimal accepts', () => {
    fc.assert(
      fc.property(junk, (s) => {
        const r = parseIPv4(s);
        expect(r >= 0).toBe(v4Ok(s));
        if (r >= 0) expect(r).toBe(ipaddr.IPv4.parse(s).toByteArray().reduce((x, b) => x * 256 + b, 0));
      }),
      { numRuns: 1500 },
    );
  });
  it('respects [start, end)', () => {
    expect(parseIPv4('xx1.2.3.4yy', 2, 9)).toBe(0x01020304);
    expect(parseIPv4('1.2.3.4/24', 0, 7)).toBe(0x01020304);
  });
  it('rejects leading zeros, octets > 255, junk', () => {
    for (const s of ['01.2.3.4', '1.2.3.04', '256.1.1.1', '1.2.3', '1.2.3.4.5', ' 1.2.3.4', '1.2.3.4 ', '1..2.3', '', '1.2.3.-4'])
      expect(parseIPv4(s)).toBe(-1);
    expect(parseIPv4('0.0.0.0')).toBe(0);
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
  });
});

describe('parseIPv6 vs ipaddr.js', () => {
  const out = new Uint32Array(6);
  it('parses every text form to the same 128 bits', () => {
    fc.assert(
      fc.property(v6Forms, (s) => {
        expect(parseIPv6(s, out, 1)).toBe(true);
        expect([...out.subarray(1, 5)]).toEqual(v6Words(s));
      }),
      { numRuns: 800 },
    );
  });
  it('accepts exactly what the oracle accepts (zone ids and sloppy dotted tails rejected)', () => {
    fc.assert(
      fc.property(junk, (s) => {
        const ok = parseIPv6(s, out);
        expect(ok).toBe(v6Ok(s));
        if (ok) expect([...out.subarray(0, 4)]).toEqual(v6Words(s));
      }),
      { numRuns: 2000 },
    );
  });
  it('handles the documented edge forms', () => {
    const w = new Uint32Array(4);
    expect(parseIPv6('::ffff:1.2.3.4', w)).toBe(true);
    expect([...w]).toEqual([0, 0, 0xffff, 0x01020304]);
    expect(parseIPv6('64:ff9b::1.2.3.4', w)).toBe(true);
    expect([...w]).toEqual([0x0064ff9b, 0, 0, 0x01020304]);
    expect(parseIPv6('::', w)).toBe(true);
    expect([...w]).toEqual([0, 0, 0, 0]);
    for (const bad of ['fe80::1%eth0', ':::', '1:::2', ':1::', '1::2:', '1:2:3:4:5:6:7:8:9', '12345::', '1::2::3', '::ffff:01.2.3.4', '::1.2.3', 'g::'])
      expect(parseIPv6(bad, w)).toBe(false);
  });
});

describe('formatting', () => {
  it('formatIPv6 is RFC 5952 (ipaddr.js toRFC5952String) and mapped addresses use a dotted tail', () => {
    fc.assert(
      fc.property(fc.array(u16, { minLength: 8, maxLength: 8 }), fc.boolean(), (g, mapped) => {
        if (mapped) g.splice(0, 6, 0, 0, 0, 0, 0, 0xffff);
        const bytes = new Uint8Array(g.flatMap((x) => [x >>> 8, x & 255]));
        const a = ipaddr.fromByteArray([...bytes]) as ipaddr.IPv6;
        const expected = a.isIPv4MappedAddress() ? `::ffff:${a.toIPv4Address().toString()}` : a.toRFC5952String();
        const padded = new Uint8Array(20);
        padded.set(bytes, 4);
        expect(formatIPv6(padded, 4)).toBe(expected);
      }),
      { numRuns: 800 },
    );
    expect(formatIPv6Words(0, 0, 0, 0)).toBe('::');
    expect(formatIPv6Words(0x00010000, 0, 0, 0)).toBe('1::');
    expect(formatIPv6Words(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
    expect(formatIPv6Words(0x20010db8, 0, 0, 1)).toBe('2001:db8::1');
    expect(formatIPv6Words(0x00010000, 0x00010000, 0, 1)).toBe('1:0:1::1');
    expect(formatIPv6Words(0x00010000, 1, 0, 0x00010001)).toBe('1::1:0:0:1:1');
  });
});

describe('parsePrefixInto', () => {
  it('round-trips canonical text and folds IPv4-mapped prefixes to IPv4', () => {
    const p = newPrefixParts();
    parsePrefixInto('::ffff:10.0.0.0/104', p);
    expect([p.family, p.words[0], p.len]).toEqual([4, 0x0a000000, 8]);
    parsePrefixInto('::ffff:a00:0/104', p);
    expect([p.family, p.words[0], p.len]).toEqual([4, 0x0a000000, 8]);
    parsePrefixInto('::fffe:0:0/95', p);
    expect([p.family, p.len]).toEqual([6, 95]);
    parsePrefixInto('::ffff:1.2.3.4', p);
    expect([p.family, p.words[0], p.len]).toEqual([4, 0x01020304, 32]);
    parsePrefixInto('2001:db8::', p);
    expect([p.family, p.len]).toEqual([6, 128]);
  });
  it('formatIPv4 is ipaddr.js toString', () => {
    fc.assert(
      fc.property(u32, (a) => {
        expect(formatIPv4(a)).toBe(ipaddr.fromByteArray([a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255]).toString());
      }),
      { numRuns: 1000 },
    );
    expect([formatIPv4(0), formatIPv4(0xffffffff), formatIPv4(0x0a00090a)]).toEqual(['0.0.0.0', '255.255.255.255', '10.0.9.10']);
  });
  it('formatAddressPort: ip:port, [ipv6]:port or the bare address, as the formatters and a decimal port give', () => {
    fc.assert(
      fc.property(u32, fc.array(u16, { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 65535 }), fc.boolean(), fc.nat(6), (a, g, port, withPort, off) => {
        const b = new Uint8Array(off + 16);
        b.set(g.flatMap((x) => [x >>> 8, x & 255]), off);
        const v6 = formatIPv6(b, off);
        expect(formatAddressPort(4, a, b, off, port, withPort)).toBe(withPort ? `${formatIPv4(a)}:${port}` : formatIPv4(a));
        expect(formatAddressPort(6, a, b, off, port, withPort)).toBe(withPort ? `[${v6}]:${port}` : v6);
      }),
      { numRuns: 1000 },
    );
  });
});
