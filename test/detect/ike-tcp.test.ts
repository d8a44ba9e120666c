/**
 * IKE over TCP (RFC 9329; reference part 2 §"IKE and ESP over TCP"): the initiator's 'IKETCP' prefix, then frames
 * of a 2-byte length that counts itself, the 4-byte zero non-ESP marker and an IKE message. Packets are built field
 * by field from the RFC's layout with the IKE builders of the UDP tests.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ikeTcp } from '../../src/detect/ike-tcp.js';
import { IPPROTO_TCP, type Evidence } from '../../src/detect/types.js';
import { classify, tcpConnection } from '../classify/flow-builders.js';
import { concat, hex, randomBytes, rng, runFlow, type Pkt } from './udp-vpn-builders.js';
import { espPacket, ikeMessage, SPEC_SPI_I, SPEC_SPI_R, u16, u32, v1Encrypted, v2Auth, v2SaInitRequest, v2SaInitResponse } from './ipsec-builders.js';

const PREFIX = hex('49 4b 45 54 43 50'); // "IKETCP"
/** One RFC 9329 frame around an IKE message: length (counting itself), non-ESP marker, message. */
const frame = (msg: Uint8Array): Uint8Array => concat(u16(2 + 4 + msg.length), u32(0), msg);
const run = (pk: Pkt[], dport = 4500): Evidence[] => runFlow(ikeTcp, IPPROTO_TCP, 50000, dport, pk);
const rules = (ev: Evidence[]) => ev.map((e) => `${e.rule}@${e.packet}:${e.strength}`);

describe('ike-tcp: the RFC 9329 stream', () => {
  it('prefix and IKE_SA_INIT in one segment: strong at packet 0, the frame right after the prefix', () => {
    const r = rng(1);
    const ev = run([{ dir: 0, bytes: concat(PREFIX, frame(v2SaInitRequest(r))) }]);
    expect(rules(ev)).toEqual(['ike.tcp@0:strong']);
    expect(ev[0]).toMatchObject({ source: 'ike-tcp', protocol: 'ipsec', offset: 6 });
    expect(ev[0]!.reason).toContain("stream prefix 'IKETCP'");
    expect(ev[0]!.reason).toContain('frame length 310 at offset 6');
    expect(ev[0]!.reason).toContain('IKE_SA_INIT(34)');
    expect(ev[0]!.reason).toContain('SA→KE→Nonce→N→N');
  });

  it('prefix in a segment of its own, the request and the response after it: strong on each frame', () => {
    const r = rng(2);
    const ev = run([
      { dir: 0, bytes: PREFIX },
      { dir: 0, bytes: frame(v2SaInitRequest(r)) },
      { dir: 1, bytes: frame(v2SaInitResponse(r)) },
      { dir: 0, bytes: frame(v2Auth(r, SPEC_SPI_I, SPEC_SPI_R, 1, false)) },
    ]);
    expect(rules(ev)).toEqual(['ike.tcp@1:strong', 'ike.tcp@2:strong', 'ike.tcp@3:strong']);
    expect(ev[1]!.reason).toContain('packet 2 (reverse)');
  });

  it('an IKE_AUTH larger than a segment: the prefixed stream still decides on its header', () => {
    const r = rng(3);
    const auth = frame(v2Auth(r, SPEC_SPI_I, SPEC_SPI_R, 1, false, false, 3000));
    const ev = run([{ dir: 0, bytes: concat(PREFIX, frame(v2SaInitRequest(r))) }, { dir: 1, bytes: frame(v2SaInitResponse(r)) }, { dir: 0, bytes: auth.subarray(0, 1448) }]);
    expect(rules(ev)).toEqual(['ike.tcp@0:strong', 'ike.tcp@1:strong', 'ike.tcp@2:strong']);
  });

  it('joined mid-stream (no prefix seen): a whole frame is strong, a frame running past its segment medium', () => {
    const r = rng(4);
    expect(rules(run([{ dir: 0, bytes: frame(v2Auth(r, SPEC_SPI_I, SPEC_SPI_R, 7, false)) }]))).toEqual(['ike.tcp-message@0:strong']);
    const big = frame(v2Auth(r, SPEC_SPI_I, SPEC_SPI_R, 8, true, false, 3000));
    const ev = run([{ dir: 1, bytes: big.subarray(0, 1448) }]);
    expect(rules(ev)).toEqual(['ike.tcp-message@0:medium']);
    expect(ev[0]!.reason).toContain('continues past this 1448-byte segment');
    // IKEv1 encrypted (flag E) whole in its frame, body a multiple of 8: medium, as ike.header on UDP.
    expect(rules(run([{ dir: 0, bytes: frame(v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 32, 9, 64)) }]))).toEqual(['ike.tcp-message@0:medium']);
    // … but not a bare header: an encrypted IKEv1 message always has a body (the UDP rule's paddedV1Body).
    expect(rules(run([{ dir: 0, bytes: frame(v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 32, 9, 0)) }]))).toEqual([]);
  });

  it('never on the prefix alone, a frame that disagrees with its IKE length, a missing marker, ESP frames or random bytes', () => {
    const r = rng(5);
    const req = v2SaInitRequest(r);
    expect(run([{ dir: 0, bytes: PREFIX }, { dir: 1, bytes: randomBytes(40, r) }])).toEqual([]);
    // Frame length off by one either way.
    for (const d of [-1, 1]) expect(run([{ dir: 0, bytes: concat(PREFIX, u16(2 + 4 + req.length + d), u32(0), req) }])).toEqual([]);
    // No non-ESP marker: the frame would hold ESP, and ESP frames are not claimed.
    expect(run([{ dir: 0, bytes: concat(PREFIX, u16(2 + req.length), req) }])).toEqual([]);
    expect(run([{ dir: 0, bytes: PREFIX }, ...[1, 2, 3].map((s) => ({ dir: 0, bytes: concat(u16(2 + 100), espPacket(0x0c0ffee1, s, 100, r)) }))])).toEqual([]);
    // A header with another version.
    const v3 = ikeMessage({ spiI: SPEC_SPI_I, next: 0, version: 0x30, exchange: 34, flags: 0x08 }, new Uint8Array(0));
    expect(run([{ dir: 0, bytes: concat(PREFIX, frame(v3)) }])).toEqual([]);
    // The prefix must open the initiator's stream: later, or from the responder, it proves nothing.
    expect(run([{ dir: 0, bytes: randomBytes(20, r) }, { dir: 0, bytes: concat(PREFIX, frame(req)) }])).toEqual([]);
    expect(run([{ dir: 1, bytes: concat(PREFIX, frame(req)) }])).toEqual([]);
  });

  it('fast-check: random TCP payloads, with or without the prefix, give nothing', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.record({ dir: fc.constantFrom(0, 1), bytes: fc.uint8Array({ minLength: 0, maxLength: 400 }) }), { minLength: 1, maxLength: 6 }), (prefixed, pk) => {
        const pkts = prefixed ? [{ dir: 0, bytes: PREFIX }, ...pk] : pk;
        expect(run(pkts)).toEqual([]);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('ike-tcp in a session', () => {
  it('a TCP connection to 443 opening with the prefix is IPsec, decided at its first payload packet', () => {
    const r = rng(9);
    const [rec] = classify(tcpConnection(51000, 443, [{ dir: 0, payload: concat(PREFIX, frame(v2SaInitRequest(r))) }, { dir: 1, payload: frame(v2SaInitResponse(r)) }]));
    expect([rec!.label, rec!.protocol, rec!.decidedAtPacket]).toEqual(['unregistered_vpn', 'ipsec', 1]);
    expect(rec!.evidence.map((e) => e.rule)).toContain('ike.tcp');
  });
});
