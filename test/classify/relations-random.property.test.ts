/**
 * Random payloads against the cross-flow relations added for issue 19.
 *
 * `ike.natt-float` needs, in a recorded UDP 4500 packet, the 32-bit zero non-ESP marker (2^-32), an IKE version byte
 * (2^-7), a 32-bit length equal to the datagram's minus 4 (2^-32), a non-zero responder SPI, and a 64-bit initiator
 * SPI equal to one an IKE exchange used on UDP 500 between the same hosts (2^-64 per remembered SA): ≤ 2^-135 per
 * packet for random bytes; with the marker, version and length forced valid the SPI equality alone is 2^-64 (swept
 * below: 0 matches).
 * `sslvpn.side-connection` asks nothing of a flow's bytes beyond a TLS ClientHello opening (content type, version
 * 3.x, handshake type: ≤ 2^-29 for random bytes, swept below) and the relation to a gateway that strong evidence
 * identified; a random TCP flow to the gateway's port does not open with a ClientHello.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CompanionIndex, ikeSpisOf } from '../../src/classify/companions.js';
import { helloTrait, TRAIT_TLS_HELLO } from '../../src/classify/traits.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/detect/types.js';
import { LimitedFlowView, randomBytes, rng } from '../detect/udp-vpn-builders.js';
import { stubFlow } from './flow-builders.js';

const flow = (transport: number, srcPort: number, dstPort: number) => stubFlow(transport, 0xc000020a, srcPort, dstPort, `192.0.2.10:${srcPort}`, `198.51.100.7:${dstPort}`);

describe('ike.natt-float on random bytes', () => {
  const idx = new CompanionIndex();
  const r0 = rng(1);
  // 64 IKE exchanges remembered on UDP 500 between the hosts (random initiator SPIs, some with responder SPIs).
  for (let k = 0; k < 64; k++) {
    const hex = (n: number): string => Array.from(randomBytes(n, r0), (b) => b.toString(16).padStart(2, '0')).join('');
    idx.noteIkeSpis(flow(IPPROTO_UDP, 500, 500), [{ initiator: hex(8), responder: k & 1 ? hex(8) : '' }]);
  }
  it('fast-check: random 4500 datagrams (and random ones behind a zero marker) never float', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ marker: fc.boolean(), b: fc.uint8Array({ minLength: 0, maxLength: 600 }) }), { minLength: 1, maxLength: 8 }), (pk) => {
        const pkts = pk.map(({ marker, b }) => ({ dir: 0, bytes: marker && b.length >= 4 ? Uint8Array.from([0, 0, 0, 0, ...b.subarray(4)]) : b }));
        const spis = ikeSpisOf(new LimitedFlowView(IPPROTO_UDP, 4500, 4500, pkts), 4);
        expect(idx.floatEvidence(flow(IPPROTO_UDP, 4500, 4500), spis)).toBeNull();
      }),
      { numRuns: 1000 },
    );
  });
  it('seeded sweep: 50,000 look-alikes with marker, version and length forced valid (random SPIs): no match', () => {
    const r = rng(0xf10a7);
    let hits = 0;
    for (let k = 0; k < 50_000; k++) {
      const m = randomBytes(4 + 28 + (r() % 200), r);
      m.set([0, 0, 0, 0], 0);
      m[4 + 17] = k & 1 ? 0x10 : 0x20;
      const len = m.length - 4;
      m.set([len >>> 24, (len >>> 16) & 255, (len >>> 8) & 255, len & 255], 4 + 24);
      const spis = ikeSpisOf(new LimitedFlowView(IPPROTO_UDP, 4500, 4500, [{ dir: 0, bytes: m }]), 4);
      expect(spis.length).toBe(1); // the forced fields are read as an IKE message
      if (idx.floatEvidence(flow(IPPROTO_UDP, 4500, 4500), spis) !== null) hits++;
    }
    expect(hits).toBe(0);
  });
});

describe('sslvpn.side-connection on random bytes', () => {
  it('seeded sweep: 200,000 random first TCP payloads never open with a TLS ClientHello (the relation never applies)', () => {
    const r = rng(0x51de);
    let hello = 0;
    for (let k = 0; k < 200_000; k++) {
      const b = randomBytes(1 + (r() % 200), r);
      if ((helloTrait(new LimitedFlowView(IPPROTO_TCP, 50000, 443, [{ dir: 0, bytes: b }])) & TRAIT_TLS_HELLO) !== 0) hello++;
    }
    expect(hello).toBe(0);
  });
});
