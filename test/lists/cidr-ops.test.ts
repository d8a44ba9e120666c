import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CidrError } from '../../src/errors.js';
import { containsCidrs, excludeCidrs, mergeCidrs, overlapCidrs } from '../../src/lists/cidr-ops.js';
import { OracleMap } from '../oracles/cidr-oracle.js';

const v4 = (a: number): string => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
const mask = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);
// prefixes near a shared base so they nest, touch and overlap
const prefix = fc
  .tuple(fc.constantFrom(0x0a000000, 0xc0a80000), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 12, max: 32 }))
  .map(([b, x, len]) => `${v4(((b | x) & mask(len)) >>> 0)}/${len}`);
const addr = fc.tuple(fc.constantFrom(0x0a000000, 0xc0a80000), fc.integer({ min: 0, max: 0xfffff })).map(([b, x]) => v4((b + x) >>> 0));
const inSet = (list: string[], ip: string): boolean => new OracleMap(list.map((c) => [c, 1] as [string, number]), 'first').lookup(ip) !== undefined;

describe('cidr-ops (cidr-tools behind strict parsing)', () => {
  it('mergeCidrs covers exactly the same addresses with non-overlapping prefixes', () => {
    fc.assert(
      fc.property(fc.array(prefix, { maxLength: 12 }), fc.array(addr, { maxLength: 20 }), (list, ips) => {
        const merged = mergeCidrs(list);
        for (const ip of ips) expect(inSet(merged, ip)).toBe(inSet(list, ip));
        for (let i = 0; i < merged.length; i++)
          for (let j = i + 1; j < merged.length; j++) expect(overlapCidrs(merged[i]!, merged[j]!)).toBe(false);
      }),
      { numRuns: 60 },
    );
    expect(mergeCidrs(['1.0.0.0/24', '1.0.1.0/24', '::ffff:1.0.2.0/119'])).toEqual(['1.0.0.0/22']);
  });
  it('excludeCidrs = base minus exclude', () => {
    fc.assert(
      fc.property(fc.array(prefix, { maxLength: 6 }), fc.array(prefix, { maxLength: 6 }), fc.array(addr, { maxLength: 20 }), (base, ex, ips) => {
        const r = excludeCidrs(base, ex);
        for (const ip of ips) expect(inSet(r, ip)).toBe(inSet(base, ip) && !inSet(ex, ip));
      }),
      { numRuns: 40 },
    );
    expect(excludeCidrs('2001:db8::/32', '2001:db8:8000::/33')).toEqual(['2001:db8::/33']);
  });
  it('overlapCidrs and containsCidrs', () => {
    expect(overlapCidrs('10.0.0.0/8', ['192.0.2.0/24', '10.9.0.0/16'])).toBe(true);
    expect(overlapCidrs('10.0.0.0/8', '11.0.0.0/8')).toBe(false);
    expect(overlapCidrs([], '11.0.0.0/8')).toBe(false);
    expect(containsCidrs(['10.0.0.0/9', '10.128.0.0/9'], '10.200.0.0/16')).toBe(true);
    expect(containsCidrs('10.0.0.0/9', ['10.1.0.0/16', '10.200.0.0/16'])).toBe(false);
    expect(containsCidrs('10.0.0.0/8', '::ffff:10.1.2.3')).toBe(true);
    expect(containsCidrs([], [])).toBe(true);
  });
  it('rejects invalid input with CidrError naming it', () => {
    expect(() => mergeCidrs(['10.0.0.0/8', 'bogus'])).toThrow(CidrError);
    expect(() => excludeCidrs('10.0.0.0/8', '10.0.0.0/40')).toThrow(/"10\.0\.0\.0\/40"/);
    expect(() => overlapCidrs('fe80::%1', '::/0')).toThrow(/zone/);
  });
});
