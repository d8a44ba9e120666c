/**
 * IP reassembly through Decoder + FlowTable (src/trace/reassembly.ts): spec-built IPv4 (RFC 791) and IPv6
 * (RFC 8200 §4.5) fragments; outcomes and counters for whole, duplicated, overlapping (RFC 5722), lost, late,
 * oversized and snaplen-cut datagrams; the bounds; tunnels inside reassembled datagrams.
 */
import { describe, expect, it } from 'vitest';
import { cat, eth, gre, gtpu, ipv4, ipv6, tcp, udp } from './decode-helpers.js';
import { fragmentOf, ipBody, runIp, split, type Piece } from './frag-helpers.js';
import { Reassembler } from '../../src/trace/reassembly.js';
import { FlowTable } from '../../src/trace/flow-table.js';

const A4 = '10.0.0.1', B4 = '192.0.2.7';
const A6 = '2001:db8::1', B6 = '2001:db8:1::2';
const pattern = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 8)) & 255);

/** Fragments of `pkt` as timed raw packets, in the order of `order` (indices into the pieces). */
function frags(pkt: Uint8Array, id: number, pieces: Piece[], order = pieces.map((_, i) => i), t0 = 1_000_000, dt = 1000): { ts: number; pkt: Uint8Array }[] {
  return order.map((i, k) => ({ ts: t0 + k * dt, pkt: fragmentOf(pkt, id, pieces[i]!) }));
}

describe('whole datagrams', () => {
  for (const fam of [4, 6] as const) {
    it(`IPv${fam}: a 3000-byte UDP datagram in 3 fragments, in order and reversed, reaches the flow once, whole`, () => {
      const payload = pattern(2992);
      const pkt = fam === 4 ? ipv4(A4, B4, 17, udp(40000, 4500, payload)) : ipv6(A6, B6, 17, udp(40000, 4500, payload));
      const pieces = split(ipBody(pkt), [1480, 1480]);
      expect(pieces).toHaveLength(3);
      for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0]]) {
        const input = frags(pkt, 0x4242, pieces, order);
        const r = runIp(input);
        expect(r.ended).toHaveLength(1);
        const f = r.ended[0]!;
        expect(f.src).toBe(fam === 4 ? `${A4}:40000` : `[${A6}]:40000`);
        expect(f.packets).toBe(3); // every fragment counts
        expect(f.bytes).toBe(input.reduce((s, p) => s + p.pkt.length, 0)); // wire bytes of the fragments
        expect(f.first).toBe(input[0]!.ts);
        expect(f.last).toBe(input[2]!.ts);
        const got = [...r.payloads.values()];
        expect(got).toHaveLength(1);
        expect(got[0]).toHaveLength(1); // one payload packet: the datagram
        expect(Buffer.from(got[0]![0]!).equals(Buffer.from(payload))).toBe(true);
        expect(r.table.stats.reassembly).toMatchObject({ fragments: 3, reassembled: 1, cut: 0, overlapping: 0, invalid: 0 });
        expect(r.table.stats.packets).toBe(3);
        expect(r.table.stats.fragmentsUnmatched).toBe(0);
      }
    });
  }

  it('a TCP segment in fragments: ports, flags and payload come from the reassembled segment', () => {
    const payload = pattern(1800, 3);
    const pkt = ipv4(A4, B4, 6, tcp(40001, 443, payload, { flags: 0x18 }));
    const r = runIp(frags(pkt, 7, split(ipBody(pkt), [1000]), [1, 0]));
    expect(r.ended.map((f) => [f.src, f.dst, f.packets])).toEqual([[`${A4}:40001`, `${B4}:443`, 2]]);
    expect(Buffer.from([...r.payloads.values()][0]![0]!).equals(Buffer.from(payload))).toBe(true);
  });

  it('fragments of different datagrams (ids) and of different flows interleave without mixing', () => {
    const p1 = ipv4(A4, B4, 17, udp(1, 2, pattern(2000, 1)));
    const p2 = ipv4(A4, B4, 17, udp(1, 2, pattern(2000, 2)));
    const p3 = ipv4(A4, B4, 17, udp(3, 4, pattern(2000, 3)));
    const s = (p: Uint8Array): Piece[] => split(ipBody(p), [1000]);
    const input = [
      ...frags(p1, 1, s(p1), [0]), ...frags(p2, 2, s(p2), [1]), ...frags(p3, 3, s(p3), [0]),
      ...frags(p1, 1, s(p1), [1]), ...frags(p3, 3, s(p3), [1]), ...frags(p2, 2, s(p2), [0]),
    ].map((x, i) => ({ ...x, ts: 1000 + i }));
    const r = runIp(input);
    expect(r.table.stats.reassembly.reassembled).toBe(3);
    const flow12 = r.payloads.get(`${A4}:1 ${B4}:2`)!;
    expect(flow12.map((b) => b[0])).toEqual([pattern(2000, 1)[0], pattern(2000, 2)[0]]);
    expect(r.ended.find((f) => f.src === `${A4}:1`)!.packets).toBe(4);
  });
});

describe('duplicates and overlaps (RFC 5722; IPv4 by the same policy)', () => {
  for (const fam of [4, 6] as const) {
    const payload = pattern(2392);
    const pkt = fam === 4 ? ipv4(A4, B4, 17, udp(5, 6, payload)) : ipv6(A6, B6, 17, udp(5, 6, payload));
    const pieces = split(ipBody(pkt), [1200]);

    it(`IPv${fam}: an exact duplicate is dropped and counted; the datagram still completes once`, () => {
      const input = [...frags(pkt, 9, pieces, [0, 0, 1]), ...frags(pkt, 9, pieces, [1], 5_000_000)];
      const r = runIp(input);
      expect(r.table.stats.reassembly).toMatchObject({ reassembled: 1, duplicates: 1 });
      expect([...r.payloads.values()][0]).toHaveLength(1);
      // The copy arriving after completion opens a new datagram that never completes: it counts, unattributed.
      expect(r.table.stats.fragmentsUnmatched).toBe(1);
      expect(r.ended[0]!.packets).toBe(3);
    });

    it(`IPv${fam}: a fragment overlapping with different bytes abandons the datagram; its fragments still count`, () => {
      const forged: Piece = { ...pieces[1]!, data: pieces[1]!.data.slice() };
      forged.data[100]! ^= 0xff;
      const input = [...frags(pkt, 9, pieces, [1]), { ts: 1_001_000, pkt: fragmentOf(pkt, 9, forged) }, ...frags(pkt, 9, pieces, [0], 1_002_000)];
      const r = runIp(input);
      expect(r.table.stats.reassembly).toMatchObject({ reassembled: 0, overlapping: 1 });
      expect(r.payloads.size).toBe(0); // never handed on
      expect(r.ended.map((f) => f.packets)).toEqual([3]);
    });

    it(`IPv${fam}: a fragment overlapping with a different extent abandons it, later fragments included`, () => {
      const shifted: Piece = { off: pieces[1]!.off - 8, data: cat(pieces[0]!.data.subarray(pieces[0]!.data.length - 8), pieces[1]!.data), more: false };
      const input = [...frags(pkt, 9, pieces, [1]), { ts: 1_000_500, pkt: fragmentOf(pkt, 9, shifted) }, ...frags(pkt, 9, pieces, [0], 1_001_000)];
      const r = runIp(input);
      expect(r.table.stats.reassembly).toMatchObject({ reassembled: 0, overlapping: 1 });
      expect(r.payloads.size).toBe(0);
      expect(r.ended.map((f) => f.packets)).toEqual([3]);
    });
  }
});

describe('datagrams that never complete', () => {
  const payload = pattern(2992);
  const pkt = ipv4(A4, B4, 17, udp(7, 8, payload));
  const pieces = split(ipBody(pkt), [1480, 1480]);

  it('a lost fragment: the others count to their flow at the timeout (30 s of capture time), nothing is shown', () => {
    const r = runIp(frags(pkt, 1, pieces, [0, 2]), {}, false);
    expect(r.ended).toHaveLength(0);
    r.table.advance(1_000_000 + 29e6);
    expect(r.table.stats.reassembly.timedOut).toBe(0);
    r.table.advance(1_000_000 + 31e6);
    expect(r.table.stats.reassembly.timedOut).toBe(1);
    r.table.flush();
    expect(r.ended.map((f) => [f.src, f.packets])).toEqual([[`${A4}:7`, 2]]);
    expect(r.payloads.size).toBe(0);
  });

  it('the timeout is an option, and a fragment past it starts a new datagram', () => {
    const input = [...frags(pkt, 1, pieces, [0, 1]), ...frags(pkt, 1, pieces, [2], 1_000_000 + 6e6)];
    const r = runIp(input, { reassemblyTimeoutSec: 5 });
    expect(r.table.stats.reassembly).toMatchObject({ timedOut: 1, flushed: 1, reassembled: 0 });
    expect(r.table.stats.fragmentsUnmatched).toBe(1); // the late last fragment alone names no flow
    expect(r.ended.map((f) => f.packets)).toEqual([2]);
  });

  it('no first fragment: the fragments cannot name a flow (unattributed, counted)', () => {
    const r = runIp(frags(pkt, 1, pieces, [1, 2]));
    expect(r.ended).toHaveLength(0);
    expect(r.table.stats.fragmentsUnmatched).toBe(2);
    expect(r.table.stats.reassembly).toMatchObject({ flushed: 1, unattributed: 2 });
  });

  it('non-final length not a multiple of 8, past 64 KiB, or two different ends: invalid, still counted', () => {
    const bad8: Piece[] = [{ off: 0, data: ipBody(pkt).subarray(0, 1001), more: true }, { off: 1001, data: ipBody(pkt).subarray(1001), more: false }];
    const r1 = runIp(frags(pkt, 1, bad8));
    expect(r1.table.stats.reassembly.invalid).toBe(1);
    expect(r1.ended.map((f) => f.packets)).toEqual([2]);
    const huge: Piece = { off: 65512, data: pattern(16), more: false };
    const r2 = runIp([...frags(pkt, 1, pieces, [0]), { ts: 2_000_000, pkt: fragmentOf(pkt, 1, huge) }]);
    expect(r2.table.stats.reassembly.invalid).toBe(1);
    const otherEnd: Piece = { off: 1480, data: pattern(40), more: false };
    const r3 = runIp([...frags(pkt, 1, pieces, [0, 2]), { ts: 2_000_000, pkt: fragmentOf(pkt, 1, otherEnd) }, ...frags(pkt, 1, pieces, [1], 3_000_000)]);
    expect(r3.table.stats.reassembly).toMatchObject({ invalid: 1, reassembled: 0 });
    expect(r3.ended.map((f) => f.packets)).toEqual([4]);
  });
});

describe('bounds', () => {
  it('at most maxReassemblies datagrams at once: the oldest is dropped (evicted) and still counted', () => {
    const input: { ts: number; pkt: Uint8Array }[] = [];
    for (let k = 0; k < 5; k++) {
      const pkt = ipv4(A4, B4, 17, udp(100 + k, 9, pattern(2000, k)));
      input.push(...frags(pkt, k, split(ipBody(pkt), [1000]), [0], 1_000_000 + k * 1000));
    }
    const r = runIp(input, { maxReassemblies: 2 }, false);
    expect(r.table.stats.reassembly.evicted).toBe(3);
    r.table.flush();
    expect(r.table.stats.reassembly.flushed).toBe(2);
    expect(r.ended.map((f) => f.packets)).toEqual([1, 1, 1, 1, 1]);
  });

  it('at most reassemblyMaxBytes of fragment data: oldest datagrams go first; a 64 KiB datagram still fits', () => {
    const input: { ts: number; pkt: Uint8Array }[] = [];
    const big = ipv4(A4, B4, 17, udp(9, 9, pattern(65000, 5)));
    input.push(...frags(big, 99, split(ipBody(big), Array(44).fill(1480))));
    for (let k = 0; k < 6; k++) {
      const pkt = ipv4(A4, B4, 17, udp(200 + k, 9, pattern(40000, k)));
      input.push(...frags(pkt, k, split(ipBody(pkt), Array(20).fill(1480)).slice(0, 20), undefined, 2_000_000 + k * 100_000));
    }
    const r = runIp(input, { reassemblyMaxBytes: 131072 }, false);
    expect(r.table.stats.reassembly.reassembled).toBe(1);
    expect(r.payloads.get(`${A4}:9 ${B4}:9`)![0]!.length).toBe(65000);
    expect(r.table.stats.reassembly.evicted).toBeGreaterThan(0);
    r.table.flush();
    const packets = r.ended.reduce((s, f) => s + f.packets, 0);
    expect(packets + r.table.stats.fragmentsUnmatched).toBe(input.length);
  });

  it('validates its options', () => {
    expect(() => new FlowTable({ reassemblyMaxBytes: 1000 }, { onEnd() {} })).toThrow(/maxBytes/);
    expect(() => new FlowTable({ reassemblyTimeoutSec: -1 }, { onEnd() {} })).toThrow(/timeoutSec/);
    expect(() => new FlowTable({ maxReassemblies: Number.NaN }, { onEnd() {} })).toThrow(/maxReassemblies/);
    expect(() => new Reassembler({ maxDatagrams: 2 ** 21 }, { datagram() {}, unattributed() {} })).toThrow(/maxDatagrams/);
  });
});

describe('snap length and tunnels', () => {
  it('a snaplen-cut fragment: the datagram is handed on cut there, with its full length on the wire', () => {
    const payload = pattern(2992);
    const pkt = ipv4(A4, B4, 17, udp(7, 8, payload));
    const pieces = split(ipBody(pkt), [1480, 1480]);
    const input = frags(pkt, 1, pieces);
    // The middle fragment is cut to 200 bytes of data by the capture (its header still says 1480).
    const cutPkt = input[1]!.pkt.subarray(0, 20 + 200);
    const lens: number[] = [];
    const r = runIp([input[0]!, { ts: input[1]!.ts, pkt: cutPkt }, input[2]!]);
    void lens;
    expect(r.table.stats.reassembly).toMatchObject({ reassembled: 1, cut: 1 });
    const shown = [...r.payloads.values()][0]![0]!;
    expect(shown.length).toBe(1480 - 8 + 200);
    expect(Buffer.from(shown).equals(Buffer.from(payload.subarray(0, shown.length)))).toBe(true);
  });

  it('a fragmented GTP-U carrier is reassembled, then opened: the inner flow gets the whole inner packet', () => {
    const inner = ipv4('172.16.0.5', '8.8.4.4', 17, udp(5555, 443, pattern(1700, 9)));
    const outer = ipv4(A4, B4, 17, udp(2152, 2152, gtpu(inner)));
    const r = runIp(frags(outer, 77, split(ipBody(outer), [1000])));
    expect(r.ended.map((f) => [f.src, f.dst, f.packets])).toEqual([['172.16.0.5:5555', '8.8.4.4:443', 2]]);
    expect([...r.payloads.values()][0]![0]!.length).toBe(1700);
  });

  it('fragments inside an unfragmented GRE tunnel are reassembled at their own level', () => {
    const inner = ipv6(A6, B6, 17, udp(1, 2, pattern(2000, 4)));
    const pieces = split(ipBody(inner), [1024]);
    const input = pieces.map((p, k) => ({ ts: 5000 + k, pkt: ipv4(A4, B4, 47, gre(0x86dd, fragmentOf(inner, 0xabcdef, p))) }));
    const r = runIp(input);
    expect(r.ended.map((f) => [f.src, f.packets])).toEqual([[`[${A6}]:1`, 2]]);
    expect(r.table.stats.reassembly.reassembled).toBe(1);
  });

  it('a fragmented carrier whose inner packet is itself a fragment: both levels reassemble', () => {
    const inner = ipv4('172.16.0.5', '172.16.0.6', 17, udp(7, 7, pattern(1600, 2)));
    const innerPieces = split(ipBody(inner), [800]);
    const input: { ts: number; pkt: Uint8Array }[] = [];
    innerPieces.forEach((p, k) => {
      const outer = ipv4(A4, B4, 4, fragmentOf(inner, 55, p)); // IP-in-IP
      split(ipBody(outer), [400]).forEach((q, j) => input.push({ ts: 10_000 + k * 10 + j, pkt: fragmentOf(outer, 100 + k, q) }));
    });
    const r = runIp(input);
    expect(r.table.stats.reassembly.reassembled).toBe(3);
    expect(r.ended.map((f) => [f.src, f.packets])).toEqual([['172.16.0.5:7', input.length]]);
    expect([...r.payloads.values()][0]![0]!.length).toBe(1600);
    void eth;
  });
});
