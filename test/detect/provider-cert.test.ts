/**
 * provider-cert: a TLS ≤ 1.2 server certificate whose subject O= names a VPN provider of the reference's starter
 * table is a medium name item; anything else (other organisations, near misses, the client side, TLS 1.3's
 * encrypted certificate) gives nothing.
 */
import { describe, expect, it } from 'vitest';
import { ArrayFlowView } from '../../src/detect/array-flow.js';
import { providerCert } from '../../src/detect/provider-cert.js';
import { IPPROTO_TCP } from '../../src/detect/types.js';

const tlv = (tag: number, body: number[]): number[] => (body.length < 128 ? [tag, body.length, ...body] : [tag, 0x82, body.length >> 8, body.length & 255, ...body]);
const atv = (oid: number, v: string): number[] => tlv(0x31, tlv(0x30, [...tlv(0x06, [0x55, 4, oid]), ...tlv(0x0c, [...Buffer.from(v)])]));

/** ServerHello + Certificate (one leaf whose subject has O=org, CN=cn) in one handshake record, as a server sends it. */
function serverFlight(org: string, cn = 'vpn.example.net'): Uint8Array {
  const subject = tlv(0x30, [...atv(10, org), ...atv(3, cn)]);
  const tbs = tlv(0x30, [...tlv(0xa0, tlv(2, [2])), ...tlv(2, [1]), ...tlv(0x30, []), ...tlv(0x30, []), ...tlv(0x30, []), ...subject]);
  const cert = tlv(0x30, [...tbs, ...tlv(0x30, []), ...tlv(3, [0])]);
  const list = [0, 0, cert.length + 3, 0, 0, cert.length, ...cert];
  const msg = [0x0b, 0, 0, list.length, ...list];
  const sh = [2, 0, 0, 4, 3, 3, 0, 0];
  const body = [...sh, ...msg];
  return Uint8Array.from([0x16, 3, 3, body.length >> 8, body.length & 255, ...body]);
}

function run(first: Uint8Array, dir = 1): ReturnType<typeof providerCert.detect> {
  const v = new ArrayFlowView({ transport: IPPROTO_TCP, srcPort: 50000, dstPort: 443 });
  v.push({ dir: 0, bytes: Uint8Array.of(0x16, 3, 1, 0, 4, 1, 0, 0, 0) }); // ClientHello stand-in
  v.push({ dir, bytes: first });
  return providerCert.detect(v);
}

describe('provider-cert', () => {
  it('a listed provider organisation in the leaf certificate subject is a medium name item naming it', () => {
    for (const org of ['Private Internet Access', 'Windscribe']) {
      const ev = run(serverFlight(org));
      expect(ev).toHaveLength(1);
      expect(ev![0]).toMatchObject({ source: 'provider-cert', protocol: 'vpn-provider', strength: 'medium', kind: 'name', rule: 'cert.org', packet: 1 });
      expect(ev![0]!.reason).toContain(`O=${org}`);
      expect(ev![0]!.reason).toContain('CN=vpn.example.net');
    }
  });

  it('other organisations, near misses, the client side and non-handshake records give nothing', () => {
    expect(run(serverFlight('Example Hosting Ltd'))).toBeNull();
    expect(run(serverFlight('Private Internet Access Inc'))).toBeNull(); // exact match only
    expect(run(serverFlight('windscribe'))).toBeNull(); // case-sensitive, as the subject is
    expect(run(serverFlight('Windscribe'), 0)).toBeNull(); // a client never sends the server's certificate
    const appData = serverFlight('Windscribe');
    appData[0] = 0x17; // TLS 1.3: the certificate travels encrypted in application-data records
    expect(run(appData)).toBeNull();
    const cut = serverFlight('Windscribe');
    expect(run(cut.subarray(0, cut.length - 20))).toBeNull(); // leaf certificate cut by the segment end
  });
});
