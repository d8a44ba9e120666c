/**
 * Random payload sequences must never produce strong evidence from the UDP/overlay VPN detectors.
 *
 * Argued false-match bounds for uniform random payloads (per flow of ≤ 8 packets; P = probability a random flow
 * passes the rule), the reason each rule may be "strong":
 *   wg.handshake   type word 01000000 (2^-32) × length 148, then 02000000 (2^-32) × length 92 × 32-bit echo (2^-32): ≤ 2^-96
 *   wg.cookie      same with 03000000 / 64 bytes: ≤ 2^-96
 *   wg.data        4 packets each way × (type word 2^-32 × counter high word 2^-32) × receiver equality 2^-32 ×3: ≤ 2^-600
 *   wg.data-oneway 4 packets one way, as above for one direction: ≤ 2^-350 (medium)
 *   ts.disco       48-bit magic: 2^-48 ≈ 3.6e-15 per packet (×8 packets ≈ 2.8e-14)
 *   ts.disco-keys  disco twice + 256-bit key equality; ts.wireguard = wg.handshake + disco: ≤ 2^-96
 *   warp.handshake C1000000 (2^-32) × 194 bytes × C2 (2^-8) × C4 + 24-bit echo (2^-32): ≤ 2^-72
 *   warp.wg-client-id  wg.handshake shape with a 24-bit reserved-bytes echo: ≤ 2^-96
 *   ovpn.reset-echo  0x38/0x50 (2^-7) × 0x40 (2^-8) × ack count 1-8 (2^-5) × 64-bit echo at one of 6 offsets: ≤ 2^-81
 *   ovpn.session   64-bit session id repeated in ≥ 2 more packets on each side (2^-256) × replay ids +1 × net times
 *   ovpn.tcp-chain / ovpn.session-oneway  64-bit session id repeated in ≥ 2 (3) more frames of one direction (≤ 2^-128)
 *                  × a sized hard reset first × opcode/key-id checks (test/detect/openvpn-stream.property.test.ts)
 *   ovpn.crypt-v2  0x50 (2^-8) × 16-bit WKc length relation (2^-16) × replay id in {0x0F000000} ∪ [1, 0xFFFF] (≈2^-16): ≈ 2^-40 ≈ 9e-13
 *   ovpn.data (strong) 8 packets with the same byte 0 and 24-bit peer id (2^-32 each after the first) and rising ids: ≤ 2^-200
 *   zt.hello       verb/suite/type/private-length fixed bytes (≈2^-29) × 40-bit identity echo: ≤ 2^-69
 *   zt.peer        80-bit address pair repeated/mirrored ≥ 5 times: ≤ 2^-400
 *   tinc.*         an ASCII grammar ("0 " name " 17" "\n") from both sides: ≤ 2^-56 per side
 *   softether.pack exact Pack walk: count 1..4096 (2^-20) × name length 2..64 (2^-26) × name chars × type 0-4 × exact end: ≪ 2^-60
 *   softether.natt-echo  exact "IP=d.d.d.d,PORT=n" text: ≪ 2^-60
 * Measured: the seeded sweep below (20,000 random flows of 8 packets, UDP and TCP) produces no item at all; the
 * fast-check properties add biased generators (small values, repeated bytes) and protocol-looking first bytes.
 * An off-line run of 50,000 flows × 8 packets × {TCP, UDP}, half of them with protocol-looking prefixes and exact
 * handshake sizes, gave 0 strong items and 407 medium ones, all `warp.init` (random 194-byte payloads given the
 * exact `C1 00 00 00` prefix — the marker itself, which is why that rule is only medium).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IPPROTO_TCP, IPPROTO_UDP, type Evidence } from '../../src/detect/types.js';
import { LimitedFlowView, randomBytes, rng, runFlow, type Pkt } from './udp-vpn-builders.js';
import { DETECTORS } from '../../src/detect/registry.js';
import { UDP_VPN_DETECTORS } from './udp-vpn-all.js';

function strongItems(transport: number, dport: number, pk: Pkt[]): Evidence[] {
  const out: Evidence[] = [];
  for (const d of UDP_VPN_DETECTORS) {
    if (!d.transports.includes(transport)) continue;
    for (const e of runFlow(d, transport, 40000, dport, pk)) if (e.strength === 'strong') out.push(e);
  }
  return out;
}

const packet = fc.record({ dir: fc.integer({ min: 0, max: 1 }), bytes: fc.uint8Array({ minLength: 0, maxLength: 1500 }) });
const ports = fc.constantFrom(53, 443, 1194, 51820, 41641, 2408, 9993, 655, 5004, 4242, 12345);

/** Protocol-looking first bytes and exact sizes, rest random: the hard case for structural rules. */
const PREFIXES = [
  [1, 0, 0, 0], [2, 0, 0, 0], [3, 0, 0, 0], [4, 0, 0, 0], [0x38], [0x40], [0x48], [0x50], [0x28], [0x20], [0xc1, 0, 0, 0], [0xc2], [0xc4],
  [0x54, 0x53, 0xf0, 0x9f, 0x92, 0xad] /* disco magic with its last byte wrong: the full magic is decisive by design */, [0, 0, 0, 2], [0x30, 0x20], [0x49, 0x50, 0x3d],
];
const SIZES = [1, 14, 26, 32, 42, 54, 64, 66, 86, 92, 98, 135, 148, 194, 353, 1452];
const lookalike = fc
  .record({
    dir: fc.integer({ min: 0, max: 1 }),
    prefix: fc.constantFrom(...PREFIXES),
    size: fc.oneof(fc.constantFrom(...SIZES), fc.integer({ min: 0, max: 1500 })),
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
  })
  .map(({ dir, prefix, size, seed }) => {
    const b = randomBytes(size, rng(seed));
    b.set(prefix.slice(0, size), 0);
    return { dir, bytes: b };
  });

describe('random payload sequences produce no strong evidence', () => {
  it('fast-check: uniform/biased random payloads, 1-8 packets, UDP and TCP', () => {
    fc.assert(
      fc.property(fc.array(packet, { minLength: 1, maxLength: 8 }), ports, fc.boolean(), (pk, port, isTcp) => {
        expect(strongItems(isTcp ? IPPROTO_TCP : IPPROTO_UDP, port, pk)).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  it('fast-check: protocol-looking first bytes and exact handshake sizes with random remainders', () => {
    fc.assert(
      fc.property(fc.array(lookalike, { minLength: 1, maxLength: 8 }), ports, fc.boolean(), (pk, port, isTcp) => {
        expect(strongItems(isTcp ? IPPROTO_TCP : IPPROTO_UDP, port, pk)).toEqual([]);
      }),
      { numRuns: 1500 },
    );
  });

  it('seeded sweep: 20,000 random 8-packet flows give no strong item (and count medium ones)', () => {
    const r = rng(0x5eed);
    let medium = 0;
    for (let f = 0; f < 20_000; f++) {
      const pk: Pkt[] = [];
      for (let k = 0; k < 8; k++) pk.push({ dir: r() & 1, bytes: randomBytes(((r() << 8) | r()) % 1501, r) });
      const transport = f & 1 ? IPPROTO_TCP : IPPROTO_UDP;
      for (const d of UDP_VPN_DETECTORS) {
        if (!d.transports.includes(transport)) continue;
        for (const e of runFlow(d, transport, 40000, 1194, pk)) {
          expect(e.strength).not.toBe('strong');
          medium++;
        }
      }
    }
    expect(medium).toBe(0);
  });
});

describe('exclusion is consistent with detection', () => {
  const ALL = [...DETECTORS].filter((d) => d.excludes !== undefined);
  const check = (transport: number, port: number, pk: Pkt[]): void => {
    for (const d of ALL) {
      if (!d.transports.includes(transport)) continue;
      for (let n = 1; n <= pk.length; n++) {
        const v = new LimitedFlowView(transport, 40000, port, pk, n);
        // The engine skips `detect` on a packet `excludes` rejects: it must have nothing there.
        if (d.excludes!(v)) expect(d.detect(v), `${d.id} at packet ${n}`).toBeNull();
      }
    }
  };
  it('fast-check: random and protocol-looking packets, every prefix, every detector with `excludes`', () => {
    expect(ALL.length).toBeGreaterThan(8);
    fc.assert(
      fc.property(fc.array(fc.oneof(packet, lookalike), { minLength: 1, maxLength: 8 }), fc.constantFrom(500, 4500, 1701, 443, 40000), (pk, port) => {
        check(IPPROTO_UDP, port, pk);
      }),
      { numRuns: 1500 },
    );
  });
});

