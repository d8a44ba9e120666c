import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CidrError, TunnelscopeError } from '../../src/errors.js';
import { CidrMap, CidrMapBuilder } from '../../src/trie/cidr-map.js';
import { OracleMap } from '../oracles/cidr-oracle.js';
import { prefixSpec, querySpec, renderPrefix, renderQuery, world, type QuerySpec, type World } from './gen.js';

const RUNS = 150;

const scenario = fc.record({
  w: world,
  prefixes: fc.array(fc.tuple(prefixSpec, fc.integer({ min: 0, max: 5 })), { maxLength: 40 }),
  queries: fc.array(querySpec, { minLength: 1, maxLength: 30 }),
});

function entriesOf(w: World, ps: [Parameters<typeof renderPrefix>[1], number][]): [string, number][] {
  return ps.map(([s, v]) => [renderPrefix(w, s), v]);
}

function checkAgainstOracle(m: CidrMap<number>, o: OracleMap<number>, w: World, queries: QuerySpec[]): void {
  for (const qs of queries) {
    const q = renderQuery(w, qs);
    const best = o.best(q.text);
    expect(m.lookup(q.text)).toBe(best?.value);
    expect(m.contains(q.text)).toBe(best !== undefined);
    const mt = m.match(q.text);
    expect(mt && { prefix: mt.prefix, value: mt.value }).toEqual(best && { prefix: OracleMap.format(best), value: best.value });
    expect(m.lookup6(q.bytes)).toBe(best?.value);
    expect(m.contains6(q.bytes)).toBe(best !== undefined);
    const padded = new Uint8Array(q.bytes.length + 3);
    padded.set(q.bytes, 3);
    const i6 = m.matchIndex6(padded, 3);
    expect(i6 < 0 ? undefined : m.valueAt(i6)).toBe(best?.value);
    if (best) expect(m.prefixAt(i6)).toBe(OracleMap.format(best));
    if (q.u32 !== null) {
      expect(m.lookup4(q.u32)).toBe(best?.value);
      expect(m.contains4(q.u32)).toBe(best !== undefined);
      expect(m.matchIndex4(q.u32)).toBe(i6);
    }
  }
  const sorted = o.sorted();
  expect([...m.entries()]).toEqual(sorted.map((p) => [OracleMap.format(p), p.value]));
  expect(m.size).toBe(sorted.length);
  expect(m.size4).toBe(sorted.filter((p) => p.family === 4).length);
  expect(m.size6).toBe(sorted.filter((p) => p.family === 6).length);
  for (const p of sorted) {
    const text = OracleMap.format(p);
    expect(m.get(text)).toBe(p.value);
    expect(m.has(text)).toBe(true);
  }
}

describe('CidrMap vs naive oracle', () => {
  it('lookup/contains/match/lookup4/lookup6/get/has/entries agree (both families, nesting, mapped)', () => {
    fc.assert(
      fc.property(scenario, ({ w, prefixes, queries }) => {
        const entries = entriesOf(w, prefixes);
        const o = new OracleMap(entries, 'last');
        const m = CidrMap.from(entries, { merge: 'last' });
        checkAgainstOracle(m, o, w, queries);
        // exact lookups of prefixes that are not in the map
        for (const [s] of prefixes) {
          const other = renderPrefix(w, { ...s, l4: Math.max(0, s.l4 - 1), l6: Math.max(0, s.l6 - 1) });
          expect(m.get(other)).toBe(o.get(other));
          expect(m.has(other)).toBe(o.get(other) !== undefined);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('fromBuffer(toBuffer()) answers the same (SAB, ArrayBuffer copy, Uint8Array view)', () => {
    fc.assert(
      fc.property(scenario, fc.nat(2), ({ w, prefixes, queries }, kind) => {
        const entries = entriesOf(w, prefixes);
        const o = new OracleMap(entries, 'first');
        const m = CidrMap.from(entries, { merge: 'first' });
        const sab = m.toBuffer();
        let buf: SharedArrayBuffer | ArrayBuffer | Uint8Array = sab;
        if (kind === 1) {
          const ab = new ArrayBuffer(sab.byteLength);
          new Uint8Array(ab).set(new Uint8Array(sab));
          buf = ab;
        } else if (kind === 2) {
          const big = new Uint8Array(sab.byteLength + 8);
          big.set(new Uint8Array(sab), 8);
          buf = big.subarray(8);
        }
        const m2 = CidrMap.fromBuffer(buf, m.values());
        checkAgainstOracle(m2, o, w, queries);
        expect(Object.isFrozen(m2)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('build() is idempotent and the builder stays usable', () => {
    fc.assert(
      fc.property(scenario, ({ w, prefixes, queries }) => {
        const entries = entriesOf(w, prefixes);
        const b = new CidrMapBuilder<number>({ merge: 'last' });
        for (const [c, v] of entries) b.add(c, v);
        const a1 = [...b.build().entries()];
        expect([...b.build().entries()]).toEqual(a1);
        b.add('203.0.113.0/24', 99);
        const o = new OracleMap([...entries, ['203.0.113.0/24', 99] as [string, number]], 'last');
        checkAgainstOracle(b.build(), o, w, queries);
      }),
      { numRuns: 40 },
    );
  });

  it('builder remove() matches a Map model over random add/remove sequences', () => {
    const op = fc.tuple(fc.boolean(), prefixSpec, fc.integer({ min: 0, max: 3 }));
    fc.assert(
      fc.property(world, fc.array(op, { maxLength: 40 }), fc.array(querySpec, { maxLength: 10 }), (w, ops, queries) => {
        const b = new CidrMapBuilder<number>({ merge: 'last' });
        const model = new Map<string, [string, number]>();
        for (const [isRemove, s, v] of ops) {
          const text = renderPrefix(w, s);
          const key = OracleMap.format(new OracleMap([[text, 0]]).list[0]!);
          if (isRemove) {
            b.remove(text);
            model.delete(key);
          } else {
            b.add(text, v);
            model.set(key, [text, v]);
          }
        }
        const o = new OracleMap([...model.values()], 'last');
        checkAgainstOracle(b.build(), o, w, queries);
      }),
      { numRuns: 80 },
    );
  });

  it('handles /0 and full-length prefixes in both families', () => {
    const m = CidrMap.from([
      ['0.0.0.0/0', 'any4'],
      ['::/0', 'any6'],
      ['255.255.255.255/32', 'bcast'],
      ['::1', 'lo6'],
      ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128', 'top'],
    ]);
    expect(m.lookup('255.255.255.255')).toBe('bcast');
    expect(m.lookup('255.255.255.254')).toBe('any4');
    expect(m.lookup4(0)).toBe('any4');
    expect(m.lookup('::1')).toBe('lo6');
    expect(m.lookup('::2')).toBe('any6');
    expect(m.lookup('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe('top');
    // IPv4-mapped addresses are IPv4: ::/0 does not cover them, 0.0.0.0/0 does
    expect(m.lookup('::ffff:1.2.3.4')).toBe('any4');
    expect(m.lookup('::ffff:102:304')).toBe('any4');
    expect(m.size4).toBe(2);
    expect(m.size6).toBe(3);
  });

  it('treats ::ffff:10.0.0.0/104 as 10.0.0.0/8 (same prefix, duplicate policy applies)', () => {
    const m = CidrMap.from([['::ffff:10.0.0.0/104', 'x'], ['10.0.0.0/8', 'x']]);
    expect(m.size).toBe(1);
    expect([...m.entries()]).toEqual([['10.0.0.0/8', 'x']]);
    expect(m.get('::ffff:a00:0/104')).toBe('x');
    expect(() => CidrMap.from([['::ffff:10.0.0.0/104', 'x'], ['10.0.0.0/8', 'y']])).toThrow(/10\.0\.0\.0\/8/);
  });

  it('numeric builder doors add4/add6 equal the text door', () => {
    fc.assert(
      fc.property(scenario, ({ w, prefixes }) => {
        const entries = entriesOf(w, prefixes);
        const ref = CidrMap.from(entries, { merge: 'last' });
        const b = new CidrMapBuilder<number>({ merge: 'last' });
        for (const [text, v] of entries) {
          const p = new OracleMap([[text, 0]]).list[0]!;
          if (p.family === 4) b.add4(Number(p.addr), p.len, v);
          else {
            const bytes = new Uint8Array(16);
            for (let i = 0; i < 16; i++) bytes[i] = Number((p.addr >> BigInt(8 * (15 - i))) & 255n);
            b.add6(bytes, 0, p.len, v);
          }
        }
        expect([...b.build().entries()]).toEqual([...ref.entries()]);
      }),
      { numRuns: 60 },
    );
  });
});

describe('CidrMap immutability', () => {
  it('is frozen and exposes no mutators or tables', () => {
    const m = CidrMap.from([['10.0.0.0/8', 1]]);
    expect(Object.isFrozen(m)).toBe(true);
    expect(() => {
      (m as unknown as Record<string, unknown>).extra = 1;
    }).toThrow(TypeError);
    const names = Object.getOwnPropertyNames(Object.getPrototypeOf(m));
    for (const bad of ['add', 'set', 'delete', 'remove', 'insert', 'clear']) expect(names).not.toContain(bad);
    expect(Object.keys(m)).toEqual([]);
    for (const k of names) {
      const d = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(m), k)!;
      if (d.get) expect(ArrayBuffer.isView(d.get.call(m))).toBe(false);
    }
    const vs = m.values();
    vs[0] = 2;
    expect(m.lookup('10.1.1.1')).toBe(1);
  });
});

describe('CidrMap duplicate policy', () => {
  it('default: identical value accepted, different value throws TS_DUPLICATE_PREFIX naming the prefix', () => {
    expect(CidrMap.from([['10.0.0.0/8', 'a'], ['10.0.0.0/8', 'a']]).size).toBe(1);
    try {
      CidrMap.from([['192.0.2.0/24', 'a'], ['192.0.2.0/24', 'b']]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CidrError);
      expect((e as CidrError).code).toBe('TS_DUPLICATE_PREFIX');
      expect((e as CidrError).input).toBe('192.0.2.0/24');
      expect((e as Error).message).toContain('"a" vs "b"');
    }
  });
  it('first / last / function', () => {
    const e: [string, number][] = [['2001:db8::/32', 1], ['2001:db8::/32', 2], ['2001:db8::/32', 4]];
    expect(CidrMap.from(e, { merge: 'first' }).lookup('2001:db8::1')).toBe(1);
    expect(CidrMap.from(e, { merge: 'last' }).lookup('2001:db8::1')).toBe(4);
    const seen: string[] = [];
    const m = CidrMap.from(e, { merge: (a, b, p) => (seen.push(p), a + b) });
    expect(m.lookup('2001:db8::1')).toBe(7);
    expect(seen).toEqual(['2001:db8::/32', '2001:db8::/32']);
  });
});

describe('CidrMap errors name the offending text', () => {
  const cases: [string, string, RegExp][] = [
    ['10.0.0.256/8', 'TS_INVALID_CIDR', /not an IPv4 or IPv6 address: "10\.0\.0\.256\/8"/],
    ['010.0.0.0/8', 'TS_INVALID_CIDR', /strict form.*"010\.0\.0\.0\/8"/],
    ['fe80::1%eth0/64', 'TS_INVALID_CIDR', /zone.*"fe80::1%eth0\/64"/],
    ['10.0.0.0/', 'TS_INVALID_CIDR', /missing prefix length.*"10\.0\.0\.0\/"/],
    ['10.0.0.0/x', 'TS_INVALID_CIDR', /not a decimal.*"10\.0\.0\.0\/x"/],
    ['10.0.0.0/08', 'TS_INVALID_CIDR', /leading zero.*"10\.0\.0\.0\/08"/],
    ['10.0.0.0/33', 'TS_PREFIX_LENGTH', /33 is out of range 0\.\.32.*"10\.0\.0\.0\/33"/],
    ['::/129', 'TS_PREFIX_LENGTH', /129.*0\.\.128.*"::\/129"/],
    ['10.0.0.0/1234', 'TS_PREFIX_LENGTH', /0\.\.32.*"10\.0\.0\.0\/1234"/],
    ['10.0.0.1/8', 'TS_HOST_BITS', /network is 10\.0\.0\.0\/8.*"10\.0\.0\.1\/8"/],
    ['2001:db8::1/32', 'TS_HOST_BITS', /2001:db8::\/32.*"2001:db8::1\/32"/],
    ['', 'TS_INVALID_CIDR', /""/],
  ];
  for (const [text, code, re] of cases) {
    it(`${JSON.stringify(text)} -> ${code}`, () => {
      const b = new CidrMapBuilder<number>();
      try {
        b.add(text, 1);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(CidrError);
        expect((e as CidrError).code).toBe(code);
        expect((e as CidrError).input).toBe(text);
        expect((e as Error).message).toMatch(re);
      }
    });
  }
  it('normalize clears host bits instead', () => {
    const m = CidrMap.from([['10.9.8.7/8', 1], ['2001:db8::1/32', 2]], { normalize: true });
    expect([...m.entries()]).toEqual([['10.0.0.0/8', 1], ['2001:db8::/32', 2]]);
  });
  it('numeric doors validate length and host bits', () => {
    const b = new CidrMapBuilder<number>();
    expect(() => b.add4(0x0a000000, 33, 1)).toThrow(/0\.\.32.*"10\.0\.0\.0\/33"/);
    expect(() => b.add4(0x0a000001, 8, 1)).toThrow(expect.objectContaining({ code: 'TS_HOST_BITS' }));
    expect(() => b.add6(new Uint8Array(16), 0, 129, 1)).toThrow(expect.objectContaining({ code: 'TS_PREFIX_LENGTH' }));
    const one = new Uint8Array(16);
    one[15] = 1;
    expect(() => b.add6(one, 0, 64, 1)).toThrow(/host bits.*"::1\/64"/);
  });
  it('lookup doors throw TS_INVALID_IP for non-addresses; get/has validate the prefix', () => {
    const m = CidrMap.from([['10.0.0.0/8', 1]]);
    expect(() => m.lookup('10.0.0')).toThrow(expect.objectContaining({ code: 'TS_INVALID_IP', input: '10.0.0' }));
    expect(() => m.contains('fe80::1%eth0')).toThrow(/"fe80::1%eth0"/);
    expect(() => m.match('x')).toThrow(CidrError);
    expect(() => m.lookup(undefined as unknown as string)).toThrow(expect.objectContaining({ code: 'TS_INVALID_ARG' }));
    expect(() => m.get('10.0.0.1/8')).toThrow(expect.objectContaining({ code: 'TS_HOST_BITS' }));
    expect(() => m.prefixAt(1)).toThrow(expect.objectContaining({ code: 'TS_INVALID_ARG' }));
    expect(() => m.valueAt(-1)).toThrow(/-1 out of range/);
  });
});

describe('CidrMap.fromBuffer validation (TS_BAD_BUFFER)', () => {
  const m = CidrMap.from([['10.0.0.0/8', 1], ['10.1.2.0/24', 2], ['10.1.2.128/25', 3], ['2001:db8::/48', 4]]);
  const good = (): Uint8Array => new Uint8Array(m.toBuffer()).slice();
  const expectBad = (buf: Uint8Array | ArrayBuffer, values: unknown[], re: RegExp): void => {
    try {
      CidrMap.fromBuffer(buf, values);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TunnelscopeError);
      expect((e as TunnelscopeError).code).toBe('TS_BAD_BUFFER');
      expect((e as Error).message).toMatch(re);
    }
  };
  it('accepts the good buffer', () => {
    expect(CidrMap.fromBuffer(good(), m.values()).lookup('10.1.2.200')).toBe(3);
  });
  it('names each structural inconsistency', () => {
    type Parts = { h: Uint32Array; root4: Int32Array; root6: Int32Array; nodes: Int32Array; len4: Uint8Array; len6: Uint8Array };
    const parts = (b: Uint8Array): Parts => {
      const h = new Uint32Array(b.buffer, 0, 16);
      return {
        h,
        root4: new Int32Array(b.buffer, h[7]!, 65536),
        root6: new Int32Array(b.buffer, h[8]!, 65536),
        nodes: new Int32Array(b.buffer, h[9]!, h[4]!),
        len4: new Uint8Array(b.buffer, h[12]!, h[2]!),
        len6: new Uint8Array(b.buffer, h[13]!, h[3]!),
      };
    };
    const tailOf = (p: Parts): number => {
      for (let o = 0; o + 8 <= p.nodes.length; o++) if (p.nodes[o] === 0 && p.nodes[o + 3] === 48 && p.nodes[o + 4] === 0x20010db8) return o;
      throw new Error('no tail node');
    };
    const cases: [string, (p: Parts) => void, RegExp][] = [
      ['root flags', (p) => (p.h[5] = 0), /root flags disagree/],
      ['section alignment', (p) => (p.h[9] = p.h[9]! + 2), /section 2 out of bounds/],
      ['IPv4 length', (p) => (p.len4[0] = 40), /IPv4 prefix length > 32/],
      ['IPv6 length', (p) => (p.len6[0] = 200), /IPv6 prefix length > 128/],
      ['shared node', (p) => (p.root4[0x0a02] = p.root4[0x0a01]!), /reached twice/],
      ['tail malformed', (p) => (p.nodes[tailOf(p) + 3] = 200), /tail node \d+ malformed/],
      ['tail under IPv4', (p) => (p.root4[0x0a05] = ~tailOf(p)), /tail node \d+ out of range/],
      ['no first run', (p) => (p.nodes[~p.root4[0x0a01]!] = 2), /has no first run/],
      ['runs out of range', (p) => p.nodes.fill(-1, ~p.root4[0x0a01]! + 1, ~p.root4[0x0a01]! + 8), /runs out of range/],
    ];
    for (const [name, mutate, re] of cases) {
      const b = good();
      mutate(parts(b));
      expect(() => CidrMap.fromBuffer(b, m.values()), name).toThrow(re);
    }
    const g = good();
    const shifted = new Uint8Array(g.length + 2);
    shifted.set(g, 2);
    expectBad(shifted.subarray(2), m.values(), /byteOffset is not 4-byte aligned/);
  });
  it('is zero-copy: the map reads the shared buffer in place', () => {
    const sab = m.toBuffer();
    const m2 = CidrMap.fromBuffer(sab, m.values());
    expect(m2.lookup('10.200.0.1')).toBe(1);
    const h = new Uint32Array(sab, 0, 16);
    new Int32Array(sab, h[7]!, 65536)[0x0ac8] = 0; // 10.200.0.0/16 -> no match, written through the SAB
    expect(m2.lookup('10.200.0.1')).toBeUndefined();
    expect(m.lookup('10.200.0.1')).toBe(1);
  });
  it('rejects bad magic, version, truncation, values mismatch, short input, wrong type', () => {
    const b1 = good();
    b1[0] = b1[0]! ^ 1;
    expectBad(b1, m.values(), /bad magic/);
    const b2 = good();
    b2[4] = 9;
    expectBad(b2, m.values(), /version 9/);
    expectBad(good().slice(0, 200), m.values(), /truncated/);
    expectBad(good(), [1, 2], /values\.length 2 != 4/);
    expectBad(new Uint8Array(10), [], /too short/);
    expect(() => CidrMap.fromBuffer({} as ArrayBuffer, [])).toThrow(/not a SharedArrayBuffer/);
  });
  it('rejects corrupted node pointers and rank words', () => {
    const b = good();
    const h = new Uint32Array(b.buffer, 0, 16);
    const nodes = new Int32Array(b.buffer, h[9]!, h[4]!);
    const root4 = new Int32Array(b.buffer, h[7]!, 65536);
    const saved = root4[0x0a01]!;
    root4[0x0a01] = ~(nodes.length + 5);
    expectBad(b, m.values(), /node offset/);
    root4[0x0a01] = saved;
    nodes[8] = 12345;
    expectBad(b, m.values(), /rank word 0/);
    const b3 = good();
    const r3 = new Int32Array(b3.buffer, new Uint32Array(b3.buffer, 0, 16)[7]!, 65536);
    r3[5] = 77;
    expectBad(b3, m.values(), /leaf 77 out of range/);
  });
});
