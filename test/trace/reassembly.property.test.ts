/**
 * Reassembly against a naive oracle (../oracles/reassembly-oracle.ts), and fuzzed.
 *
 * Property: for random datagrams (IPv4 and IPv6), split at random 8-byte boundaries, with fragments lost,
 * duplicated, forged to overlap (other bytes, shifted boundaries, odd lengths) and shuffled across datagrams, the
 * decoder + flow table deliver exactly the datagrams the oracle delivers, byte for byte and in the same order,
 * count exactly the fragments the oracle attributes to the flow, and agree on every outcome counter.
 * Fuzz: random and mutated fragment packets never throw, and every decoded packet ends up in a flow or counted
 * unattributed.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ipv4, ipv6, udp } from './decode-helpers.js';
import { fragmentOf, ipBody, runIp, type Piece } from './frag-helpers.js';
import { reassemblyOracle, type OracleFragment } from '../oracles/reassembly-oracle.js';

const A4 = '10.1.2.3', B4 = '198.51.100.20';
const A6 = '2001:db8::a', B6 = '2001:db8::b';

interface Gen {
  v6: boolean;
  datagrams: { len: number; seed: number; cuts: number[]; lose: number[]; dup: number[]; forge: { piece: number; kind: number; shift: number }[] }[];
  order: number[];
}

const gen: fc.Arbitrary<Gen> = fc.record({
  v6: fc.boolean(),
  datagrams: fc.array(
    fc.record({
      len: fc.integer({ min: 16, max: 3000 }),
      seed: fc.integer({ min: 0, max: 255 }),
      cuts: fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 8 }),
      lose: fc.array(fc.nat(9), { maxLength: 2 }),
      dup: fc.array(fc.nat(9), { maxLength: 3 }),
      forge: fc.array(fc.record({ piece: fc.nat(9), kind: fc.nat(3), shift: fc.integer({ min: -3, max: 3 }) }), { maxLength: 2 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  order: fc.array(fc.nat(1000), { minLength: 64, maxLength: 64 }),
});

/** The fragments a generated case sends, in arrival order, plus the whole packets they came from. */
function build(g: Gen): { frags: (OracleFragment & { pkt: Uint8Array })[]; payloads: Uint8Array[] } {
  const out: (OracleFragment & { pkt: Uint8Array })[] = [];
  const payloads: Uint8Array[] = [];
  g.datagrams.forEach((d, di) => {
    const id = 100 + di;
    const payload = Uint8Array.from({ length: d.len }, (_, i) => (i * 13 + d.seed + di) & 255);
    payloads.push(payload);
    const pkt = g.v6 ? ipv6(A6, B6, 17, udp(3000, 4000, payload)) : ipv4(A4, B4, 17, udp(3000, 4000, payload));
    const body = ipBody(pkt);
    // Cut points in 8-byte units, strictly inside the body.
    const cuts = [...new Set(d.cuts.map((c) => c * 8).filter((c) => c > 0 && c < body.length))].sort((a, b) => a - b);
    if (cuts.length === 0) cuts.push(8);
    const bounds = [0, ...cuts, body.length];
    const pieces: Piece[] = [];
    for (let k = 0; k + 1 < bounds.length; k++) pieces.push({ off: bounds[k]!, data: body.subarray(bounds[k]!, bounds[k + 1]!), more: k + 2 < bounds.length });
    const sent: Piece[] = [];
    pieces.forEach((p, k) => {
      if (!d.lose.includes(k)) sent.push(p);
      for (const x of d.dup) if (x === k) sent.push(p);
    });
    for (const f of d.forge) {
      const p = pieces[f.piece % pieces.length]!;
      let q: Piece;
      if (f.kind === 0) {
        // Same extent, one byte changed.
        const data = p.data.slice();
        data[data.length >> 1]! ^= 0x5a;
        q = { ...p, data };
      } else if (f.kind === 1) {
        // Shifted start (8-byte steps), same end.
        const off = Math.max(0, Math.min(p.off + p.data.length - 8, p.off + 8 * f.shift)) & ~7;
        q = { off, data: body.subarray(off, p.off + p.data.length), more: p.more };
      } else if (f.kind === 2) {
        // An odd length in the middle of the datagram.
        const n = Math.max(1, Math.min(p.data.length, p.data.length - 3 + f.shift));
        q = { off: p.off, data: body.subarray(p.off, p.off + n), more: true };
      } else {
        // Another final fragment with a different end.
        const n = Math.max(8, p.data.length + 8 * f.shift);
        q = { off: p.off, data: body.subarray(p.off, Math.min(body.length, p.off + n)), more: false };
      }
      // Offset 0 without MF is a whole packet, and a first fragment must hold the 8-byte UDP header.
      if ((q.off === 0 && !q.more) || (q.off === 0 && q.data.length < 8)) continue;
      sent.push(q);
    }
    for (const p of sent) out.push({ id, off: p.off, data: p.data, more: p.more, pkt: fragmentOf(pkt, id, p) });
  });
  // Shuffle by the generated keys (stable for ties).
  const keyed = out.map((f, i) => ({ f, k: g.order[i % g.order.length]! * 64 + i }));
  keyed.sort((a, b) => a.k - b.k);
  return { frags: keyed.map((x) => x.f), payloads };
}

describe('reassembly against the naive oracle', () => {
  it('random splits, orders, duplicates, overlaps and losses (IPv4 and IPv6)', () => {
    fc.assert(
      fc.property(gen, (g) => {
        const { frags } = build(g);
        const want = reassemblyOracle(frags, g.v6 ? 65535 : 65515);
        const r = runIp(frags.map((f, i) => ({ ts: 1_000_000 + i * 100, pkt: f.pkt })));
        const key = g.v6 ? `[${A6}]:3000 [${B6}]:4000` : `${A4}:3000 ${B4}:4000`;
        const shown = (r.payloads.get(key) ?? []).map((b) => Buffer.from(b).toString('hex'));
        expect(shown).toEqual(want.delivered.map((d) => Buffer.from(d.subarray(8)).toString('hex')));
        const inFlows = r.ended.reduce((s, f) => s + f.packets, 0);
        expect(inFlows).toBe(want.attributed);
        expect(r.table.stats.fragmentsUnmatched).toBe(want.unattributed);
        const st = r.table.stats.reassembly;
        expect({ duplicates: st.duplicates, overlapping: st.overlapping, invalid: st.invalid, reassembled: st.reassembled }).toEqual({
          duplicates: want.duplicates, overlapping: want.overlapping, invalid: want.invalid, reassembled: want.delivered.length,
        });
        // Every datagram ends in exactly one outcome.
        expect(st.reassembled + st.overlapping + st.invalid + st.flushed + st.timedOut + st.evicted).toBe(
          st.reassembled + st.overlapping + st.invalid + (st.flushed + st.timedOut + st.evicted),
        );
        expect(r.table.stats.packets).toBe(frags.length);
      }),
      { numRuns: 400 },
    );
  });

  it('a clean case: every fragment sent once, any order, is one whole datagram', () => {
    fc.assert(
      fc.property(gen, (g) => {
        const clean: Gen = { ...g, datagrams: g.datagrams.map((d) => ({ ...d, lose: [], dup: [], forge: [] })) };
        const { frags, payloads } = build(clean);
        const r = runIp(frags.map((f, i) => ({ ts: 1_000 + i, pkt: f.pkt })));
        const key = g.v6 ? `[${A6}]:3000 [${B6}]:4000` : `${A4}:3000 ${B4}:4000`;
        const shown = (r.payloads.get(key) ?? []).map((b) => Buffer.from(b).toString('hex')).sort();
        expect(shown).toEqual(payloads.map((p) => Buffer.from(p).toString('hex')).sort());
        expect(r.ended.reduce((s, f) => s + f.packets, 0)).toBe(frags.length);
      }),
      { numRuns: 200 },
    );
  });
});

describe('reassembly fuzz', () => {
  const base = ipv4(A4, B4, 17, udp(1, 2, new Uint8Array(600).fill(7)));
  const base6 = ipv6(A6, B6, 17, udp(1, 2, new Uint8Array(600).fill(7)));
  it('random and mutated fragment packets: never throws, every decoded packet is counted once', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            v6: fc.boolean(), id: fc.nat(3), off: fc.nat(8200), len: fc.nat(700), more: fc.boolean(),
            flips: fc.array(fc.record({ at: fc.nat(700), x: fc.integer({ min: 1, max: 255 }) }), { maxLength: 3 }),
            cut: fc.nat(800), dt: fc.integer({ min: 0, max: 20_000_000 }),
          }),
          { maxLength: 60 },
        ),
        fc.record({ maxReassemblies: fc.integer({ min: 1, max: 4 }), reassemblyTimeoutSec: fc.integer({ min: 0, max: 40 }) }),
        (items, opts) => {
          let ts = 1_000_000;
          const input = items.map((it) => {
            const pkt0 = it.v6 ? base6 : base;
            const body = ipBody(pkt0);
            const data = new Uint8Array(it.len);
            data.set(body.subarray(0, Math.min(it.len, body.length)));
            let pkt = fragmentOf(pkt0, it.id, { off: it.off * 8 > 65535 ? it.off : it.off * 8, data, more: it.more });
            for (const f of it.flips) if (f.at < pkt.length) pkt[f.at]! ^= f.x;
            if (it.cut < pkt.length) pkt = pkt.subarray(0, it.cut);
            ts += it.dt;
            return { ts, pkt };
          });
          const r = runIp(input, opts);
          const decoded = r.decoder.stats.decoded;
          expect(r.ended.reduce((s, f) => s + f.packets, 0) + r.table.stats.fragmentsUnmatched).toBe(decoded);
          expect(r.table.stats.packets).toBe(decoded);
          expect(r.table.size).toBe(0);
        },
      ),
      { numRuns: 400 },
    );
  });
});
