/**
 * Fuzz: the IKE/ESP/AH/L2TP/PPTP detectors survive random and mutated bytes (bit flips, truncation, length
 * fields forced to 0 / 0xFF.. / huge, direction swaps, dropped packets, earlier packets cut to any kept size)
 * without throwing; every item they return is well-formed; and results do not depend on where the payload sits
 * in its buffer (non-zero `start`).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ah } from '../../src/detect/ah.js';
import { esp } from '../../src/detect/esp.js';
import { ike } from '../../src/detect/ike.js';
import { ikeTcp } from '../../src/detect/ike-tcp.js';
import { IPPROTO_L2TP, l2tp } from '../../src/detect/l2tp.js';
import { pptp } from '../../src/detect/pptp.js';
import { IPPROTO_AH, IPPROTO_ESP, IPPROTO_GRE, IPPROTO_TCP, IPPROTO_UDP, type Detector, type Evidence, type FlowView } from '../../src/detect/types.js';
import { concat, hex, LimitedFlowView, randomBytes, rng, type Pkt } from './udp-vpn-builders.js';
import {
  ahPacket, espPacket, greV1, icmpEcho, ipv4Header, l2tpControl, l2tpData, l2tpDataFrame, pppFrame, pptpOcrp, pptpOcrq, pptpSccrq, sccrq, SPEC_SPI_I, SPEC_SPI_R, u16, u32,
  v1Encrypted, v1MainMode1, v2Auth, v2SaInitRequest, v2SaInitResponse,
} from './ipsec-builders.js';

const DETECTORS: readonly Detector[] = [ike, ikeTcp, esp, ah, l2tp, pptp];
const r = rng(7);
interface Seed { transport: number; port: number; pk: Pkt[] }
/** Valid sequences to mutate: one per rule family. */
const SEEDS: Seed[] = [
  { transport: IPPROTO_UDP, port: 500, pk: [{ dir: 0, bytes: v2SaInitRequest(r) }, { dir: 1, bytes: v2SaInitResponse(r) }, { dir: 0, bytes: v2Auth(r, SPEC_SPI_I, SPEC_SPI_R, 1, false) }] },
  { transport: IPPROTO_UDP, port: 500, pk: [{ dir: 0, bytes: v1MainMode1(r, SPEC_SPI_I) }, { dir: 0, bytes: v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 32, 9) }, { dir: 1, bytes: v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 32, 9) }] },
  {
    transport: IPPROTO_UDP, port: 4500,
    pk: [
      { dir: 0, bytes: v2Auth(r, SPEC_SPI_I, SPEC_SPI_R, 1, false, true) }, { dir: 0, bytes: new Uint8Array([0xff]) },
      ...[1, 2, 3].map((s) => ({ dir: 0, bytes: espPacket(0x04888fe4, s, 200, r) })),
    ],
  },
  { transport: IPPROTO_ESP, port: 0, pk: [1, 2, 3, 4].map((s) => ({ dir: 0, bytes: espPacket(0xff3b6603, s, 68, r) })) },
  { transport: IPPROTO_AH, port: 0, pk: [1, 2, 3].map((s) => ({ dir: s & 1, bytes: ahPacket(1, 0x604816f6, s, icmpEcho(1, s, randomBytes(40, r)), r) })) },
  { transport: IPPROTO_UDP, port: 1701, pk: [{ dir: 0, bytes: sccrq(7) }, { dir: 1, bytes: l2tpControl(2, 7, 0, 0, 1) }, { dir: 0, bytes: l2tpControl(0, 9, 0, 1, 1) }, ...[0, 1, 2].map(() => ({ dir: 1, bytes: l2tpData(7, 1, 0x0021, randomBytes(30, r)) }))] },
  // Data messages whose PPP frames use ACFC+PFC and ACFC (RFC 1661 §6.5, §6.6): IPv4 behind a 1- or 2-octet protocol field.
  {
    transport: IPPROTO_UDP, port: 1701,
    pk: [0, 1, 2, 3].map((k) => {
      const ip = concat(ipv4Header(1, 8 + 3 * k), icmpEcho(1, k, randomBytes(3 * k, r)));
      return { dir: 0, bytes: l2tpDataFrame(7, 1, pppFrame(k & 1 ? 'acfc' : 'acfc+pfc', 0x21, ip), { length: k < 2, ...(k === 3 ? { pad: 2 } : {}) }) };
    }),
  },
  { transport: IPPROTO_L2TP, port: 0, pk: [{ dir: 0, bytes: concat(u32(0), hex('c8 03 00 14 00 00 00 00 00 00 00 00 80 08 00 00 00 00 00 01')) }] },
  { transport: IPPROTO_TCP, port: 1723, pk: [{ dir: 0, bytes: pptpSccrq() }, { dir: 0, bytes: pptpOcrq(0x4d2) }, { dir: 1, bytes: pptpOcrp(0x99, 0x4d2) }] },
  { transport: IPPROTO_GRE, port: 0, pk: [0, 1, 2].map((s) => ({ dir: 0, bytes: greV1(0x4d2, randomBytes(50, r), s, s) })) },
  // IKE over TCP (RFC 9329): the 'IKETCP' prefix, then frames of length (counting itself), non-ESP marker, message.
  {
    transport: IPPROTO_TCP, port: 4500,
    pk: [
      { dir: 0, bytes: concat(hex('49 4b 45 54 43 50'), u16(310), u32(0), v2SaInitRequest(r)) },
      { dir: 1, bytes: (() => { const m = v2SaInitResponse(r); return concat(u16(6 + m.length), u32(0), m); })() },
      { dir: 0, bytes: (() => { const m = v2Auth(r, SPEC_SPI_I, SPEC_SPI_R, 1, false); return concat(u16(6 + m.length), u32(0), m); })() },
    ],
  },
];

/** FlowView like the flow table's, with every payload placed at `pad` bytes into a larger buffer. */
class PaddedView implements FlowView {
  readonly ipVersion: 4 | 6;
  private readonly bufs: Uint8Array[];
  constructor(readonly transport: number, readonly srcPort: number, readonly dstPort: number, private readonly pk: Pkt[], readonly nPackets: number, private readonly keep: number, private readonly pad: number, v6: boolean) {
    this.ipVersion = v6 ? 6 : 4;
    this.bufs = pk.map((p) => { const b = new Uint8Array(pad + p.bytes.length + 7).fill(0xa5); b.set(p.bytes, pad); return b; });
  }
  dir(i: number): number { return this.pk[i]!.dir; }
  len(i: number): number { return this.pk[i]!.bytes.length; }
  avail(i: number): number { const l = this.pk[i]!.bytes.length; return i === this.nPackets - 1 ? l : Math.min(this.keep, l); }
  buf(i: number): Uint8Array { return this.bufs[i]!; }
  start(): number { return this.pad; }
}

function check(det: Detector, s: Seed, pk: Pkt[], keep: number, v6 = false): void {
  for (let n = 1; n <= pk.length; n++) {
    const plain = new LimitedFlowView(s.transport, s.port ? 40000 : 0, s.port, pk, n, keep);
    let ev: Evidence[] | null = null;
    expect(() => (ev = det.detect(v6 ? new PaddedView(s.transport, plain.srcPort, s.port, pk, n, keep, 0, true) : plain))).not.toThrow();
    if (!v6) expect(det.detect(new PaddedView(s.transport, plain.srcPort, s.port, pk, n, keep, 13, false))).toEqual(ev);
    if (det.excludes) {
      let x: unknown;
      expect(() => (x = det.excludes!(plain))).not.toThrow();
      expect(typeof x).toBe('boolean');
      expect(det.excludes(new PaddedView(s.transport, plain.srcPort, s.port, pk, n, keep, 13, false))).toBe(x);
      // The engine skips `detect` on a packet `excludes` rejects: it must have nothing there.
      if (x === true) expect(det.detect(plain)).toBeNull();
    }
    if (ev === null) continue;
    expect((ev as Evidence[]).length).toBeGreaterThan(0);
    for (const e of ev as Evidence[]) {
      expect(e.source).toBe(det.id);
      expect(Object.keys(det.rules)).toContain(e.rule);
      expect(['strong', 'medium', 'weak']).toContain(e.strength);
      expect(e.reason.length).toBeGreaterThan(0);
      expect(e.packet! >= 0 && e.packet! < n).toBe(true);
      expect(Number.isInteger(e.offset) && e.offset! >= 0).toBe(true);
    }
  }
}

type Mut =
  | { kind: 'flip'; pkt: number; bit: number } | { kind: 'trunc'; pkt: number; at: number } | { kind: 'set'; pkt: number; at: number; v: number }
  | { kind: 'len'; pkt: number; at: number; v: number } | { kind: 'swap'; pkt: number } | { kind: 'drop'; pkt: number } | { kind: 'grow'; pkt: number; n: number };
const mutation: fc.Arbitrary<Mut> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), pkt: fc.nat(), bit: fc.nat() }),
  fc.record({ kind: fc.constant('trunc' as const), pkt: fc.nat(), at: fc.nat() }),
  fc.record({ kind: fc.constant('set' as const), pkt: fc.nat(), at: fc.nat({ max: 64 }), v: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff) }),
  // Length-like fields (IKE 24–27 / 28–31, L2TP 2–3, PPTP 0–1, GRE 4–5, AH 1, AVP/payload lengths) set to 0 or huge.
  fc.record({ kind: fc.constant('len' as const), pkt: fc.nat(), at: fc.constantFrom(0, 1, 2, 4, 24, 26, 28, 30, 14, 30, 32), v: fc.constantFrom(0, 0xffff, 0x7fff, 1, 4) }),
  fc.record({ kind: fc.constant('swap' as const), pkt: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const), pkt: fc.nat() }),
  fc.record({ kind: fc.constant('grow' as const), pkt: fc.nat(), n: fc.integer({ min: 1, max: 70000 }) }),
);
function apply(pk: Pkt[], m: Mut): Pkt[] {
  if (pk.length === 0) return pk;
  const i = m.pkt % pk.length, p = pk[i]!, b = p.bytes, out = pk.slice();
  switch (m.kind) {
    case 'flip': if (b.length) { const c = b.slice(); c[(m.bit >> 3) % c.length]! ^= 1 << (m.bit & 7); out[i] = { dir: p.dir, bytes: c }; } break;
    case 'trunc': out[i] = { dir: p.dir, bytes: b.slice(0, m.at % (b.length + 1)) }; break;
    case 'set': if (m.at < b.length) { const c = b.slice(); c[m.at] = m.v; out[i] = { dir: p.dir, bytes: c }; } break;
    case 'len': if (m.at + 1 < b.length) { const c = b.slice(); c.set(u16(m.v), m.at); out[i] = { dir: p.dir, bytes: c }; } break;
    case 'swap': out[i] = { dir: 1 - p.dir, bytes: b }; break;
    case 'drop': out.splice(i, 1); break;
    case 'grow': out[i] = { dir: p.dir, bytes: concat(b, new Uint8Array(m.n % 2000)) }; break;
  }
  return out;
}

describe('IPsec/L2TP/PPTP detectors survive hostile bytes', () => {
  it('seeds are recognised (the fuzz starts from accepting inputs)', () => {
    for (const s of SEEDS) {
      const hit = DETECTORS.filter((d) => d.transports.includes(s.transport)).some((d) => {
        const v = new LimitedFlowView(s.transport, 40000, s.port, s.pk, 0);
        let any = false;
        for (let n = 1; n <= s.pk.length; n++) { v.nPackets = n; if (d.detect(v)?.some((e) => e.strength === 'strong')) any = true; }
        return any;
      });
      expect(hit, `seed on transport ${s.transport}/${s.port}`).toBe(true);
    }
  });

  it('random bytes on every transport, any kept-prefix size, IPv4 and IPv6', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dir: fc.integer({ min: 0, max: 1 }), bytes: fc.uint8Array({ maxLength: 600 }) }), { minLength: 1, maxLength: 8 }),
        fc.constantFrom(...SEEDS), fc.integer({ min: 0, max: 64 }), fc.boolean(),
        (pk, s, keep, v6) => { for (const d of DETECTORS) if (d.transports.includes(s.transport)) check(d, s, pk, keep, v6); },
      ),
      { numRuns: 300 },
    );
  });

  it('mutated valid sequences (1-4 mutations)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 64 }), (s, muts, keep) => {
        let pk = s.pk;
        for (const m of muts) pk = apply(pk, m);
        for (const d of DETECTORS) if (d.transports.includes(s.transport)) check(d, s, pk, keep);
      }),
      { numRuns: 600 },
    );
  });

  it('every truncation of every seed packet', () => {
    for (const s of SEEDS) {
      for (let i = 0; i < s.pk.length; i++) {
        for (let at = 0; at <= s.pk[i]!.bytes.length; at += at < 48 ? 1 : 17) {
          const pk = s.pk.slice();
          pk[i] = { dir: pk[i]!.dir, bytes: pk[i]!.bytes.subarray(0, at) };
          for (const d of DETECTORS) if (d.transports.includes(s.transport)) check(d, s, pk, 48);
        }
      }
    }
  });
});
