/**
 * Fuzz: every UDP/overlay VPN detector survives random and mutated bytes (bit flips, truncation, length
 * changes, direction swaps, partially kept earlier packets) without throwing, and every item it returns is
 * well-formed (documented rule, own source id, valid strength, packet index within the flow).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IPPROTO_TCP, IPPROTO_UDP, type Detector, type Evidence } from '../../src/detect/types.js';
import {
  LimitedFlowView, OVPN_SPEC_CLIENT, OVPN_SPEC_SERVER, OVPN_SPEC_TCP_CLIENT, SOFTETHER_SPEC_PACK, TS_SPEC_DISCO, WG_SPEC_INIT,
  WG_SPEC_RESP, ZT_SPEC_HELLO, ascii, concat, nebulaStage1, ovpnDataV2, rng, tcpFrame, wgData, type Pkt,
} from './udp-vpn-builders.js';
import { UDP_VPN_DETECTORS } from './udp-vpn-all.js';

const r = rng(42);
/** Valid sequences to mutate (spec examples and builders). */
const SEEDS: { transport: number; pk: Pkt[] }[] = [
  { transport: IPPROTO_UDP, pk: [{ dir: 0, bytes: WG_SPEC_INIT }, { dir: 1, bytes: WG_SPEC_RESP }, { dir: 0, bytes: wgData(0x056e2188, 0, 32, r) }, { dir: 1, bytes: wgData(0xd7519a3c, 0, 96, r) }] },
  { transport: IPPROTO_UDP, pk: [{ dir: 0, bytes: TS_SPEC_DISCO }, { dir: 1, bytes: TS_SPEC_DISCO }] },
  { transport: IPPROTO_UDP, pk: [{ dir: 0, bytes: OVPN_SPEC_CLIENT }, { dir: 1, bytes: OVPN_SPEC_SERVER }, { dir: 0, bytes: ovpnDataV2(0x48, 1, 1, 80, r) }] },
  { transport: IPPROTO_TCP, pk: [{ dir: 0, bytes: OVPN_SPEC_TCP_CLIENT }, { dir: 1, bytes: tcpFrame(OVPN_SPEC_SERVER) }] },
  { transport: IPPROTO_UDP, pk: [{ dir: 0, bytes: ZT_SPEC_HELLO }, { dir: 1, bytes: ZT_SPEC_HELLO }] },
  { transport: IPPROTO_TCP, pk: [{ dir: 0, bytes: ascii('0 office_gw 17.7\n') }, { dir: 1, bytes: ascii('0 hub 17\n') }, { dir: 1, bytes: ascii('1 94 64 0 0 ' + 'AB'.repeat(128) + '\n') }] },
  { transport: IPPROTO_UDP, pk: [{ dir: 0, bytes: new Uint8Array([0x41]) }, { dir: 1, bytes: ascii('IP=203.0.113.7,PORT=40000') }, { dir: 0, bytes: concat(SOFTETHER_SPEC_PACK) }] },
  { transport: IPPROTO_TCP, pk: [{ dir: 0, bytes: concat(ascii('\x17\x03\x03\x00\x04\x01\x0e\x00\x02\x17\x03\x03\x00\x08\x04'), new Uint8Array(7)) }] },
  { transport: IPPROTO_TCP, pk: [{ dir: 0, bytes: ascii('POST /ts2021 HTTP/1.1\r\nUpgrade: tailscale-control-protocol\r\n\r\n') }] },
  { transport: IPPROTO_UDP, pk: [{ dir: 0, bytes: nebulaStage1(r) }, { dir: 1, bytes: nebulaStage1(r) }] },
  { transport: IPPROTO_TCP, pk: [{ dir: 0, bytes: concat(ascii('POST /ddns/ddns.aspx HTTP/1.1\r\nHost: a.softether-network.net\r\n\r\n'), SOFTETHER_SPEC_PACK) }] },
];

function check(det: Detector, transport: number, pk: Pkt[], keep: number): void {
  const v = new LimitedFlowView(transport, 40000, 1194, pk, 0, keep);
  for (let n = 1; n <= pk.length; n++) {
    v.nPackets = n;
    let ev: Evidence[] | null = null;
    expect(() => (ev = det.detect(v))).not.toThrow();
    if (det.excludes) {
      let x: unknown;
      expect(() => (x = det.excludes!(v))).not.toThrow();
      expect(typeof x).toBe('boolean');
      // The engine skips `detect` on a packet `excludes` rejects: it must have nothing there.
      if (x === true) expect(ev).toBeNull();
    }
    if (ev === null) continue;
    expect(Array.isArray(ev) && (ev as Evidence[]).length > 0).toBe(true);
    for (const e of ev as Evidence[]) {
      expect(e.source).toBe(det.id);
      expect(Object.keys(det.rules)).toContain(e.rule);
      expect(['strong', 'medium', 'weak']).toContain(e.strength);
      expect(typeof e.reason === 'string' && e.reason.length > 0).toBe(true);
      if (e.packet !== undefined) expect(e.packet >= 0 && e.packet < n).toBe(true);
      if (e.offset !== undefined) expect(Number.isInteger(e.offset) && e.offset >= 0).toBe(true);
    }
  }
}

type Mut = { kind: 'flip'; pkt: number; bit: number } | { kind: 'trunc'; pkt: number; at: number } | { kind: 'grow'; pkt: number; n: number; fill: number }
  | { kind: 'set'; pkt: number; at: number; v: number } | { kind: 'swap'; pkt: number } | { kind: 'drop'; pkt: number };
const mutation: fc.Arbitrary<Mut> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), pkt: fc.nat(), bit: fc.nat() }),
  fc.record({ kind: fc.constant('trunc' as const), pkt: fc.nat(), at: fc.nat() }),
  fc.record({ kind: fc.constant('grow' as const), pkt: fc.nat(), n: fc.integer({ min: 1, max: 64 }), fill: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('set' as const), pkt: fc.nat(), at: fc.nat(), v: fc.constantFrom(0, 1, 0xff, 0x7f, 0x80) }),
  fc.record({ kind: fc.constant('swap' as const), pkt: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const), pkt: fc.nat() }),
);
function apply(pk: Pkt[], m: Mut): Pkt[] {
  if (pk.length === 0) return pk;
  const i = m.pkt % pk.length;
  const p = pk[i]!;
  const out = pk.slice();
  const b = p.bytes;
  switch (m.kind) {
    case 'flip': if (b.length) { const c = b.slice(); c[(m.bit >> 3) % c.length]! ^= 1 << (m.bit & 7); out[i] = { dir: p.dir, bytes: c }; } break;
    case 'trunc': out[i] = { dir: p.dir, bytes: b.slice(0, m.at % (b.length + 1)) }; break;
    case 'grow': out[i] = { dir: p.dir, bytes: concat(b, new Uint8Array(m.n).fill(m.fill)) }; break;
    case 'set': if (b.length) { const c = b.slice(); c[m.at % c.length] = m.v; out[i] = { dir: p.dir, bytes: c }; } break;
    case 'swap': out[i] = { dir: 1 - p.dir, bytes: b }; break;
    case 'drop': out.splice(i, 1); break;
  }
  return out;
}

describe('UDP/overlay VPN detectors survive hostile bytes', () => {
  it('random bytes, both transports, any kept-prefix size', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dir: fc.integer({ min: 0, max: 1 }), bytes: fc.uint8Array({ maxLength: 1600 }) }), { minLength: 1, maxLength: 10 }),
        fc.boolean(), fc.integer({ min: 0, max: 64 }),
        (pk, isTcp, keep) => {
          for (const d of UDP_VPN_DETECTORS) check(d, isTcp ? IPPROTO_TCP : IPPROTO_UDP, pk, keep);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('mutated valid sequences (bit flips, truncation, length changes, direction swaps, drops)', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 64 }), (si, muts, keep) => {
        const seed = SEEDS[si % SEEDS.length]!;
        let pk = seed.pk;
        for (const m of muts) pk = apply(pk, m);
        if (pk.length === 0) return;
        for (const d of UDP_VPN_DETECTORS) {
          check(d, seed.transport, pk, keep);
          check(d, seed.transport, pk, 48);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('each unmutated seed still produces evidence (the fuzz corpus is meaningful)', () => {
    for (const s of SEEDS) {
      const v = new LimitedFlowView(s.transport, 40000, 1194, s.pk, 0);
      let n = 0;
      for (const d of UDP_VPN_DETECTORS) {
        if (!d.transports.includes(s.transport)) continue;
        for (let k = 1; k <= s.pk.length; k++) {
          v.nPackets = k;
          n += d.detect(v)?.length ?? 0;
        }
      }
      expect(n).toBeGreaterThan(0);
    }
  });
});

describe('detectors read through start(i) (slab buffers with other bytes around the payload)', () => {
  /** Same packets, each placed at a non-zero offset in a larger buffer filled with 0xEE. */
  class OffsetView extends LimitedFlowView {
    private readonly bufs: Uint8Array[];
    private readonly offs: number[];
    constructor(transport: number, pk: Pkt[], n: number) {
      super(transport, 40000, 1194, pk, n);
      this.offs = pk.map((_, k) => 3 + k * 5);
      this.bufs = pk.map((p, k) => {
        const b = new Uint8Array(p.bytes.length + 64).fill(0xee);
        b.set(p.bytes, this.offs[k]!);
        return b;
      });
    }
    override buf(i: number): Uint8Array {
      return this.bufs[i]!;
    }
    override start(i: number): number {
      return this.offs[i]!;
    }
  }
  it('every seed gives the same evidence (and exclusion) at offset 0 and at a shifted start', () => {
    for (const s of SEEDS) {
      for (const d of UDP_VPN_DETECTORS) {
        if (!d.transports.includes(s.transport)) continue;
        for (let n = 1; n <= s.pk.length; n++) {
          const a = d.detect(new LimitedFlowView(s.transport, 40000, 1194, s.pk, n));
          const b = d.detect(new OffsetView(s.transport, s.pk, n));
          expect(b).toEqual(a);
          if (d.excludes) expect(d.excludes(new OffsetView(s.transport, s.pk, n))).toBe(d.excludes(new LimitedFlowView(s.transport, 40000, 1194, s.pk, n)));
        }
      }
    }
  });
});
