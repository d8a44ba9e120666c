/** Flow traits read from packet snippets (reference: RFC 5389 §6 STUN cookie, RFC 3948 §2 ESP-in-UDP / non-ESP marker). */
import { describe, expect, it } from 'vitest';
import { ArrayFlowView, type ArrayPacket } from '../../src/detect/array-flow.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/detect/types.js';
import { helloTrait, snippetTraits, TRAIT_DTLS_HELLO, TRAIT_ESP, TRAIT_IKE_MARKER, TRAIT_STUN, TRAIT_TLS_HELLO } from '../../src/classify/traits.js';
import { helloBody, sniExt, tlsRecord } from '../detect/names/builders.js';
import { v2SaInitRequest } from '../detect/ipsec-builders.js';
import { bytes, dtlsHello } from './flow-builders.js';

function view(transport: number, dstPort: number, pkts: ArrayPacket[]): ArrayFlowView {
  const v = new ArrayFlowView({ transport, srcPort: 40000, dstPort });
  for (const p of pkts) v.push(p);
  return v;
}
const esp = (seq: number, spi = 0x4a112233): ArrayPacket => ({ dir: 0, bytes: Uint8Array.from([spi >>> 24, (spi >> 16) & 255, (spi >> 8) & 255, spi & 255, 0, 0, 0, seq, ...bytes(60, seq)]) });

describe('flow traits', () => {
  it('hello traits: TLS ClientHello on TCP, whole DTLS ClientHello without use_srtp on UDP, from the initiator only', () => {
    const hello = tlsRecord(helloBody({ exts: [sniExt('a.example')] }));
    expect(helloTrait(view(IPPROTO_TCP, 443, [{ dir: 0, bytes: hello }]))).toBe(TRAIT_TLS_HELLO);
    expect(helloTrait(view(IPPROTO_TCP, 443, [{ dir: 1, bytes: hello }]))).toBe(0);
    expect(helloTrait(view(IPPROTO_UDP, 443, [{ dir: 0, bytes: dtlsHello() }]))).toBe(TRAIT_DTLS_HELLO);
    expect(helloTrait(view(IPPROTO_UDP, 443, [{ dir: 0, bytes: dtlsHello({ srtp: true }) }]))).toBe(0);
    expect(helloTrait(view(IPPROTO_UDP, 443, [{ dir: 0, bytes: bytes(100, 1) }]))).toBe(0);
  });
  it('ESP shape on 4500/4501 needs 3 packets one way with one SPI and sequence +1 (a few lost allowed); not on other ports', () => {
    expect(snippetTraits(view(IPPROTO_UDP, 4501, [esp(1), esp(2), esp(3)])) & TRAIT_ESP).toBe(TRAIT_ESP);
    expect(snippetTraits(view(IPPROTO_UDP, 4500, [esp(1), esp(2), esp(3)])) & TRAIT_ESP).toBe(TRAIT_ESP);
    expect(snippetTraits(view(IPPROTO_UDP, 4501, [esp(1), esp(2)])) & TRAIT_ESP).toBe(0);
    expect(snippetTraits(view(IPPROTO_UDP, 4501, [esp(1), esp(3), esp(4)])) & TRAIT_ESP).toBe(TRAIT_ESP); // one lost
    expect(snippetTraits(view(IPPROTO_UDP, 4501, [esp(1), esp(7), esp(8)])) & TRAIT_ESP).toBe(0);
    expect(snippetTraits(view(IPPROTO_UDP, 4501, [esp(1), esp(2, 0x4a112234), esp(3)])) & TRAIT_ESP).toBe(0);
    expect(snippetTraits(view(IPPROTO_UDP, 4502, [esp(1), esp(2), esp(3)])) & TRAIT_ESP).toBe(0);
  });
  it('IKE behind the non-ESP marker on 4500, and STUN anywhere', () => {
    let s = 7;
    const r = (): number => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
    expect(snippetTraits(view(IPPROTO_UDP, 4500, [{ dir: 0, bytes: v2SaInitRequest(r, undefined, true) }, esp(1)])) & TRAIT_IKE_MARKER).toBe(TRAIT_IKE_MARKER);
    expect(snippetTraits(view(IPPROTO_UDP, 4501, [{ dir: 0, bytes: v2SaInitRequest(r, undefined, true) }])) & TRAIT_IKE_MARKER).toBe(0);
    const stun = Uint8Array.from([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, ...bytes(12, 2)]);
    expect(snippetTraits(view(IPPROTO_UDP, 443, [{ dir: 0, bytes: dtlsHello() }, { dir: 1, bytes: stun }])) & TRAIT_STUN).toBe(TRAIT_STUN);
    expect(snippetTraits(view(IPPROTO_TCP, 443, [{ dir: 1, bytes: stun }]))).toBe(0);
  });
});
