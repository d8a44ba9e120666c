/**
 * DnsBindings against a naive oracle (a list of (client, address) entries, newest answer wins, oldest dropped
 * beyond the bound): lookups through the address-hash prefilter and the bounded map give the same bindings, for
 * IPv4 and IPv6, with evictions and stale prefilter bits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DnsBindings } from '../../src/classify/dns-bindings.js';
import type { FlowAddresses } from '../../src/classify/engine.js';
import type { DnsAnswers } from '../../src/detect/names/dns.js';

const EMPTY = new Uint8Array(32);

function flow4(src: number, dst: number): FlowAddresses {
  return { ipVersion: 4, src4: src, dst4: dst, addrBytes: () => EMPTY, src6Off: () => 0, dst6Off: () => 16 };
}
function flow6(src: Uint8Array, dst: Uint8Array): FlowAddresses {
  const b = new Uint8Array(32);
  b.set(src, 0);
  b.set(dst, 16);
  return { ipVersion: 6, src4: 0, dst4: 0, addrBytes: () => b, src6Off: () => 0, dst6Off: () => 16 };
}
const v6 = (k: number): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 0x20 : i === 15 ? k : i === 14 ? k >> 8 : 0));

describe('DnsBindings (property)', () => {
  it('equals a naive list of entries under random answers, lookups and evictions', () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant('answer' as const), v6: fc.boolean(), client: fc.nat(2), addrs: fc.array(fc.nat(8), { minLength: 1, maxLength: 3 }), ttl: fc.nat(100) }),
      fc.record({ t: fc.constant('lookup' as const), v6: fc.boolean(), client: fc.nat(2), addr: fc.nat(8) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 12 }), (ops, max) => {
        const d = new DnsBindings(max);
        const naive: { key: string; at: number; until: number; name: string }[] = [];
        let now = 0;
        for (const o of ops) {
          now += 1_000_000;
          if (o.t === 'answer') {
            const name = `n${now}.example`;
            const ans: DnsAnswers = { qname: name, chain: [name], a4: o.v6 ? [] : o.addrs.map((a) => (0xc6336400 + a) >>> 0), a6: o.v6 ? o.addrs.map(v6) : [], ttl: o.ttl };
            if (o.v6) d.note(6, 0, v6(1000 + o.client), 0, ans, now, 'x');
            else d.note(4, (0x0a000000 + o.client) >>> 0, EMPTY, 0, ans, now, 'x');
            for (const a of o.addrs) {
              const key = `${o.v6 ? 6 : 4}|${o.client}|${a}`;
              const i = naive.findIndex((e) => e.key === key);
              if (i >= 0) naive.splice(i, 1);
              else if (naive.length >= max) naive.shift();
              naive.push({ key, at: now, until: now + Math.min(o.ttl * 1e6, 3600e6), name });
            }
          } else {
            const f = o.v6 ? flow6(v6(1000 + o.client), v6(o.addr)) : flow4((0x0a000000 + o.client) >>> 0, (0xc6336400 + o.addr) >>> 0);
            const got = d.lookup(f, now);
            const want = naive.find((e) => e.key === `${o.v6 ? 6 : 4}|${o.client}|${o.addr}`);
            if (!want) expect(got).toBeNull();
            else {
              expect(got?.binding.chain[0]).toBe(want.name);
              expect(got?.within).toBe(now <= want.until);
            }
          }
        }
        expect(d.size).toBe(naive.length);
      }),
      { numRuns: 300 },
    );
  });
});
