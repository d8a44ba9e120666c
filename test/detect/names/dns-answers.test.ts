/**
 * DNS response answers (RFC 1035 §4.1.3, RFC 3596): the CNAME chain from the question and the A/AAAA records on
 * it, against a naive oracle over the records a generator put in the message (any order, unrelated records mixed
 * in, owner names written in full or as compression pointers).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDnsAnswers } from '../../../src/detect/names/dns.js';
import { dnsResponse, type DnsRec as Rec } from './builders.js';

/** Naive oracle: follow CNAMEs breadth-first from the question name; keep A/AAAA whose owner is on the chain. */
function oracle(qname: string, recs: Rec[]): { chain: string[]; a4: number[]; a6: string[]; ttl: number } | null {
  const chain = [qname];
  for (let k = 0; k < chain.length; k++) {
    for (const r of recs) if (r.type === 5 && r.owner === chain[k] && !chain.includes(r.data as string) && chain.length < 8) chain.push(r.data as string);
  }
  const a4: number[] = [];
  const a6: string[] = [];
  let ttl = Infinity;
  for (const r of recs) {
    if ((r.type !== 1 && r.type !== 28) || !chain.includes(r.owner)) continue;
    const d = r.data as Uint8Array;
    if (r.type === 1) a4.push(((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0);
    else a6.push(Buffer.from(d).toString('hex'));
    ttl = Math.min(ttl, r.ttl > 0x7fffffff ? 0 : r.ttl);
  }
  return a4.length + a6.length === 0 ? null : { chain, a4, a6, ttl };
}

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?$/);
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));

describe('parseDnsAnswers', () => {
  it('a CNAME chain to A and AAAA records, with an unrelated record between them', () => {
    const recs: Rec[] = [
      { owner: 'vpn.example-provider.com', type: 5, ttl: 300, data: 'edge.example-cdn.net' },
      { owner: 'unrelated.example', type: 1, ttl: 60, data: Uint8Array.of(192, 0, 2, 99) },
      { owner: 'edge.example-cdn.net', type: 1, ttl: 120, data: Uint8Array.of(198, 51, 100, 7) },
      { owner: 'edge.example-cdn.net', type: 28, ttl: 90, data: Uint8Array.from(Buffer.from('20010db8000000000000000000000007', 'hex')) },
    ];
    const b = dnsResponse('VPN.Example-Provider.com', recs.map((x) => (x.owner === 'vpn.example-provider.com' ? { ...x, owner: 'VPN.Example-Provider.com' } : x)));
    const r = parseDnsAnswers(b, 0, b.length);
    expect(r).not.toBeNull();
    expect(r!.qname).toBe('vpn.example-provider.com');
    expect(r!.chain).toEqual(['vpn.example-provider.com', 'edge.example-cdn.net']);
    expect(r!.a4).toEqual([(198 << 24 | 51 << 16 | 100 << 8 | 7) >>> 0]);
    expect(r!.a6.map((x) => Buffer.from(x).toString('hex'))).toEqual(['20010db8000000000000000000000007']);
    expect(r!.ttl).toBe(90);
  });

  it('over TCP (length prefix) as over UDP', () => {
    const recs: Rec[] = [{ owner: 'a.example', type: 1, ttl: 5, data: Uint8Array.of(10, 0, 0, 1) }];
    const ub = dnsResponse('a.example', recs);
    const u = parseDnsAnswers(ub, 0, ub.length);
    expect(u).not.toBeNull();
    const t = dnsResponse('a.example', recs, { tcp: true });
    expect(parseDnsAnswers(t, 0, t.length, true)).toEqual(u);
  });

  it('refuses queries, error responses, wrong address lengths, truncation, and answers with no address on the chain', () => {
    const a: Rec = { owner: 'a.example', type: 1, ttl: 5, data: Uint8Array.of(10, 0, 0, 1) };
    const ok = dnsResponse('a.example', [a]);
    expect(parseDnsAnswers(ok, 0, ok.length)).not.toBeNull();
    for (const bad of [
      dnsResponse('a.example', [a], { qr: false }),
      dnsResponse('a.example', [a], { rcode: 3 }),
      dnsResponse('a.example', [{ ...a, data: Uint8Array.of(10, 0, 0) }]),
      dnsResponse('a.example', [{ ...a, owner: 'b.example' }]),
      dnsResponse('a.example', []),
    ]) {
      expect(parseDnsAnswers(bad, 0, bad.length)).toBeNull();
    }
    for (let cut = 0; cut < ok.length; cut++) expect(parseDnsAnswers(ok, 0, cut)).toBeNull();
  });

  it('equals the naive oracle on random answer sections (any order, pointers, unrelated records, CNAME loops)', () => {
    const rec = (names: string[]): fc.Arbitrary<Rec> =>
      fc.oneof(
        fc.record({ owner: fc.constantFrom(...names), type: fc.constant(1 as const), ttl: fc.nat(), data: fc.uint8Array({ minLength: 4, maxLength: 4 }) }),
        fc.record({ owner: fc.constantFrom(...names), type: fc.constant(28 as const), ttl: fc.nat(), data: fc.uint8Array({ minLength: 16, maxLength: 16 }) }),
        fc.record({ owner: fc.constantFrom(...names), type: fc.constant(5 as const), ttl: fc.nat(), data: fc.constantFrom(...names) }),
        fc.record({ owner: fc.constantFrom(...names), type: fc.constant(16 as const), ttl: fc.nat(), data: fc.uint8Array({ maxLength: 12 }) }),
      );
    const gen = fc
      .uniqueArray(name, { minLength: 1, maxLength: 6 })
      .chain((names) => fc.tuple(fc.constant(names), fc.array(rec(names), { maxLength: 14 }), fc.subarray(names)));
    fc.assert(
      fc.property(gen, ([names, recs, listed]) => {
        const q = names[0]!;
        const b = dnsResponse(q, recs);
        const got = parseDnsAnswers(b, 0, b.length);
        const want = oracle(q, recs);
        // With a `wanted` filter: the same answer when a chain name is wanted, else nothing.
        const filtered = parseDnsAnswers(b, 0, b.length, false, (n) => listed.includes(n));
        expect(filtered).toEqual(want !== null && want.chain.some((n) => listed.includes(n)) ? got : null);
        if (want === null) {
          expect(got).toBeNull();
          return;
        }
        expect(got).not.toBeNull();
        expect({ chain: got!.chain, a4: got!.a4, a6: got!.a6.map((x) => Buffer.from(x).toString('hex')), ttl: got!.ttl }).toEqual(want);
      }),
      { numRuns: 400 },
    );
  });
});
