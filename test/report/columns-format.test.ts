import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { floatColumn, intColumn, joinEndpoint, splitEndpoint, StringTable } from '../../src/report/columns.js';
import { formatBytes, formatCount, formatDuration, formatShare, isoToMicros, niceBinUs, niceTicks } from '../../src/report/format.js';

describe('splitEndpoint / joinEndpoint', () => {
  it('splits the record forms: ip:port, [ipv6]:port, bare addresses', () => {
    expect(splitEndpoint('192.0.2.1:443')).toEqual(['192.0.2.1', 443]);
    expect(splitEndpoint('[2001:db8::1]:51820')).toEqual(['2001:db8::1', 51820]);
    expect(splitEndpoint('2001:db8::1')).toEqual(['2001:db8::1', -1]);
    expect(splitEndpoint('10.24.46.4')).toEqual(['10.24.46.4', -1]);
    expect(splitEndpoint('x:0')).toEqual(['x', 0]);
    for (const odd of ['a:08', 'a:65536', ':1', 'a:', '[::1:2', '[x]:1', '[:]:1]', 'a]:1', '1:2:3']) expect(joinEndpoint(...splitEndpoint(odd))).toBe(odd);
  });
  it('join(split(s)) === s for any text (a host with a port is never invented or lost)', () => {
    const ep = fc.oneof(
      fc.string(),
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 65535 })).map(([a, p]) => `${a}:${p}`),
      fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 70000 })).map(([a, p]) => `[${a}]:${p}`),
      fc.ipV6(),
    );
    fc.assert(fc.property(ep, (s) => {
      const [h, p] = splitEndpoint(s);
      expect(joinEndpoint(h, p)).toBe(s);
      expect(p).toBeLessThanOrEqual(65535);
    }));
  });
});

describe('columns', () => {
  it('grow past their capacity and serialise the used part', () => {
    const a = intColumn(2), f = floatColumn(1);
    for (let i = 0; i < 9; i++) {
      a.push(i - 1);
      f.push(i * 1e12);
    }
    expect(JSON.parse(a.json())).toEqual([-1, 0, 1, 2, 3, 4, 5, 6, 7]);
    expect(JSON.parse(f.json())[8]).toBe(8e12);
  });
  it('a string table interns each text once, made visible', () => {
    const s = new StringTable();
    expect([s.id('a'), s.id('b'), s.id('a'), s.id(null), s.id('\u202ex')]).toEqual([0, 1, 0, -1, 2]);
    expect(s.strings).toEqual(['a', 'b', '\\u{202e}x']);
  });
});

describe('format', () => {
  it('isoToMicros agrees with Date.parse plus the fraction (oracle), and rejects other text', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 4_102_444_800_000_000 }), fc.integer({ min: 0, max: 9 }), (us, digits) => {
      const base = new Date(Math.floor(us / 1e6) * 1000).toISOString().slice(0, 19);
      const frac = String(us % 1e6).padStart(6, '0');
      const text = digits === 0 ? `${base}Z` : `${base}.${(frac + '000').slice(0, digits)}Z`;
      const want = Date.parse(`${base}Z`) * 1000 + (digits === 0 ? 0 : Math.floor(Number(`0.${(frac + '000').slice(0, digits)}`) * 1e6 + 1e-6));
      expect(isoToMicros(text)).toBe(want);
    }));
    for (const bad of ['', 'x', '2026-01-01', '2026-01-01T00:00:00', '2026-01-01T00:00:00.Z', '2026-13-01T00:00:00Z', '2026-01-01T00:00:00.12a456Z', '2026-01-01T00:00:00.1234567890Z', ' 2026-01-01T00:00:00Z',
      // Dates Date.parse rolls over (to March 2, May 1, the next day): the page would show another time than the record's.
      '2026-02-30T00:00:00Z', '2026-04-31T12:00:00.5Z', '2026-01-01T24:00:00Z', '2025-02-29T00:00:00Z'])
      expect(isoToMicros(bad), bad).toBeNaN();
  });
  it('numbers, sizes, shares and durations read the same in any locale', () => {
    fc.assert(fc.property(fc.integer({ min: -1e15, max: 1e15 }), (n) => {
      expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
    }));
    expect(formatCount(1234.5, 1)).toBe('1,234.5');
    expect([formatBytes(0), formatBytes(999), formatBytes(1000), formatBytes(66_376), formatBytes(4_615_190), formatBytes(2.5e12)]).toEqual(['0 B', '999 B', '1.00 kB', '66.4 kB', '4.62 MB', '2.50 TB']);
    expect([formatShare(1, 3), formatShare(0, 0), formatShare(1, 10_000)]).toEqual(['33.3%', '–', '<0.1%']);
    expect([formatDuration(870), formatDuration(12_400_000), formatDuration(185e6), formatDuration(7380e6), formatDuration(100_000e6)]).toEqual(['0.9 ms', '12.4 s', '3 min 05 s', '2 h 03 min', '1 d 03 h']);
  });
  it('time bins: a nice width giving at most the asked number of bins; ticks cover the maximum', () => {
    fc.assert(fc.property(fc.double({ min: 0, max: 1e13, noNaN: true }), fc.integer({ min: 1, max: 200 }), (span, max) => {
      expect(span / niceBinUs(span, max)).toBeLessThanOrEqual(max);
    }));
    // 0.20000000020000003: a running sum of steps once stopped at 0.2, short of the maximum.
    fc.assert(fc.property(fc.oneof(fc.constant(0.20000000020000003), fc.double({ min: 1e-3, max: 1e15, noNaN: true })), (max) => {
      const t = niceTicks(max);
      expect(t[0]).toBe(0);
      expect(t[t.length - 1]!).toBeGreaterThanOrEqual(max * (1 - 1e-9));
      expect(t.length).toBeLessThanOrEqual(7);
    }));
  });
});
