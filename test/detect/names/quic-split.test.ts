/**
 * A QUIC ClientHello spread over two client Initials (large post-quantum key shares make this the common case
 * for current browsers): the SNI is read from whichever packet carries the server_name extension whole, with
 * keys from the client's first DCID (RFC 9001 §5.2).
 */
import { describe, expect, it } from 'vitest';
import { ArrayFlowView } from '../../../src/detect/array-flow.js';
import { IPPROTO_UDP } from '../../../src/detect/types.js';
import { flowNames } from '../../../src/detect/names/index.js';
import { parseQuicInitial, QUIC_V1, QUIC_V2 } from '../../../src/detect/names/quic.js';
import { alpnExt, cryptoFrame, ext, handshake, helloBody, protectInitial, sniExt } from './builders.js';

const DCID = Uint8Array.from([0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08]);
const SERVER_CID = Uint8Array.from([0x11, 0x22, 0x33, 0x44]);
// A 1,300-byte key_share-like extension (type 51) before the SNI pushes the SNI into the second packet.
const BIG = ext(51, Array.from({ length: 1300 }, (_, i) => (i * 7 + 1) & 255));

function split(version: number, sniFirst: boolean, secondDcid: Uint8Array = DCID): { hs: number[]; p0: Uint8Array; p1: Uint8Array; cut: number } {
  const exts = sniFirst ? [sniExt('consumer-masque.cloudflareclient.com'), alpnExt(['h3']), BIG] : [alpnExt(['h3']), BIG, sniExt('consumer-masque.cloudflareclient.com')];
  const hs = handshake(helloBody({ exts }));
  const cut = 900;
  const p0 = protectInitial(version, DCID, cryptoFrame(0, hs.slice(0, cut)), 0);
  const p1 = protectInitial(version, secondDcid, cryptoFrame(cut, hs.slice(cut)), 1, [], true, DCID);
  return { hs, p0, p1, cut };
}

describe('QUIC ClientHello over two Initials', () => {
  for (const version of [QUIC_V1, QUIC_V2]) {
    it(`v${version === QUIC_V1 ? 1 : 2}: SNI in the second packet is found there (laterSni), not in the first`, () => {
      const { p0, p1 } = split(version, false);
      const q0 = parseQuicInitial(p0, 0, p0.length)!;
      expect(q0.hello?.sni ?? null).toBeNull();
      expect(q0.hello?.alpn).toEqual(['h3']);
      expect(q0.laterSni).toBeNull();
      const q1 = parseQuicInitial(p1, 0, p1.length)!;
      expect(q1.hello).toBeNull();
      expect(q1.laterSni).toBe('consumer-masque.cloudflareclient.com');
    });
  }
  it('flowNames: packet 0 gives the ALPN, packet 1 the SNI — also when packet 1 carries the server-chosen DCID', () => {
    for (const second of [DCID, SERVER_CID]) {
      const { p0, p1 } = split(QUIC_V1, false, second);
      const v = new ArrayFlowView({ transport: IPPROTO_UDP, srcPort: 50000, dstPort: 443 });
      v.push({ dir: 0, bytes: p0 });
      expect(flowNames(v)).toMatchObject({ kind: 'quic', packet: 0, alpn: ['h3'] });
      expect(flowNames(v)!.sni).toBeUndefined();
      v.push({ dir: 0, bytes: p1 });
      expect(flowNames(v)).toMatchObject({ kind: 'quic', packet: 1, sni: 'consumer-masque.cloudflareclient.com', complete: false });
    }
  });
  it('without the first packet, a second Initial under the server-chosen DCID cannot be opened (wrong keys): no name', () => {
    const { p1 } = split(QUIC_V1, false, SERVER_CID);
    const v = new ArrayFlowView({ transport: IPPROTO_UDP, srcPort: 50000, dstPort: 443 });
    v.push({ dir: 0, bytes: p1 });
    expect(flowNames(v)).toBeNull();
  });
  it('SNI in the first packet: read from the hello as before; the second packet adds nothing', () => {
    const { p0, p1 } = split(QUIC_V1, true);
    expect(parseQuicInitial(p0, 0, p0.length)!.hello!.sni).toBe('consumer-masque.cloudflareclient.com');
    const q1 = parseQuicInitial(p1, 0, p1.length)!;
    expect(q1.laterSni).toBeNull();
  });
});
