/**
 * Microsoft DirectAccess IP-HTTPS (spec: parts/3-tls-quic-sslvpn.md §"DirectAccess IP-HTTPS" and its evidence rules;
 * Microsoft's DirectAccess documentation on null-encryption cipher suites, Windows Server 2012 and later).
 *
 * What is observable: a DirectAccess client tunnels IPv6 in HTTPS, and the server chooses a null-encryption suite
 * (`TLS_RSA_WITH_NULL_SHA` 00 02, `TLS_RSA_WITH_NULL_SHA256` 00 3B) because the IPv6 inside is IPsec already. With
 * such a suite an application-data record is plaintext followed by its MAC, so the HTTP `POST` that opens the
 * tunnel is readable in the client's first application-data record.
 *  - `directaccess.null-suite` (medium): the server's ServerHello (TLS 1.0–1.2; handshake type 2 at the start of a
 *    handshake record) chooses 00 02 or 00 3B. A null suite alone is a configuration choice other software can make.
 *  - `directaccess.post` (strong): after such a flow's ServerHello, a client application-data record (type 23,
 *    version 3.1–3.3, a length of at least 5: the record may run on past the segment) whose content starts `POST ` — readable only under a null suite
 *    (ciphertext reads as those five bytes with probability 2^-40), the tunnel request itself.
 *
 * Reads the newest packet in full (the ServerHello's cipher suite lies past byte 48 when the session id is long) and
 * bytes 0–5 and the direction of earlier packets.
 */
import { hasAsciiAt } from './ascii.js';
import { DIR_FWD, DIR_REV, IPPROTO_TCP, u8, u16be, type Detector, type Evidence, type FlowView } from './types.js';

const NULL_SHA = 0x0002, NULL_SHA256 = 0x003b;
const TLS_HANDSHAKE = 0x16, TLS_APP_DATA = 0x17, HS_SERVER_HELLO = 2;
/** Record header (5), handshake header (4), server_version (2), random (32): the session id length's offset. */
const SID_LEN_AT = 5 + 4 + 2 + 32;

/** Record version 3.1–3.3 (TLS 1.0–1.2: null suites do not exist in TLS 1.3). */
function tls12Record(f: FlowView, i: number, type: number): boolean {
  return u8(f, i, 0) === type && u8(f, i, 1) === 3 && u8(f, i, 2) >= 1 && u8(f, i, 2) <= 3;
}

/** The cipher suite a ServerHello at the start of packet i chooses (server_version 3.1–3.3), or -1. */
function serverHelloSuite(f: FlowView, i: number): number {
  if (!tls12Record(f, i, TLS_HANDSHAKE) || u8(f, i, 5) !== HS_SERVER_HELLO) return -1;
  const minor = u8(f, i, 10);
  if (u8(f, i, 9) !== 3 || minor < 1 || minor > 3) return -1;
  const recLen = u16be(f, i, 3);
  const sid = u8(f, i, SID_LEN_AT);
  if (sid < 0 || sid > 32) return -1;
  const at = SID_LEN_AT + 1 + sid;
  if (at + 2 > 5 + recLen) return -1;
  return u16be(f, i, at);
}

/** An earlier server packet starting a TLS ≤ 1.2 handshake record with a ServerHello (bytes 0–5 only), or -1. */
function serverHelloBefore(f: FlowView, i: number): number {
  for (let j = 0; j < i; j++) if (f.dir(j) === DIR_REV && tls12Record(f, j, TLS_HANDSHAKE) && u8(f, j, 5) === HS_SERVER_HELLO) return j;
  return -1;
}

const POST = 'POST ';

export const directaccess: Detector = {
  id: 'directaccess',
  transports: [IPPROTO_TCP],
  carriers: ['tls'],
  maxPackets: 8,
  rules: {
    'directaccess.null-suite': 'ServerHello (TLS 1.0–1.2) choosing a null-encryption suite, TLS_RSA_WITH_NULL_SHA (00 02) or TLS_RSA_WITH_NULL_SHA256 (00 3B), as DirectAccess servers do (medium)',
    'directaccess.post':
      'after such a ServerHello, a client application-data record whose content reads "POST " in clear (a null suite: the IP-HTTPS tunnel request) (strong)',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    const d = f.dir(i);
    if (d === DIR_REV) {
      const suite = serverHelloSuite(f, i);
      if (suite !== NULL_SHA && suite !== NULL_SHA256) return null;
      return [
        {
          source: 'directaccess', protocol: 'directaccess', strength: 'medium', rule: 'directaccess.null-suite', packet: i, offset: 0,
          reason: `packet ${i} (reverse): ServerHello, TLS 1.${u8(f, i, 10) - 1}, cipher suite 0x${suite.toString(16).padStart(4, '0')} (${suite === NULL_SHA ? 'TLS_RSA_WITH_NULL_SHA' : 'TLS_RSA_WITH_NULL_SHA256'}: no encryption)`,
        },
      ];
    }
    if (d !== DIR_FWD || !tls12Record(f, i, TLS_APP_DATA)) return null;
    const recLen = u16be(f, i, 3);
    if (recLen < POST.length || !hasAsciiAt(f, i, 5, POST)) return null;
    const j = serverHelloBefore(f, i);
    if (j < 0) return null;
    return [
      {
        source: 'directaccess', protocol: 'directaccess', strength: 'strong', rule: 'directaccess.post', packet: i, offset: 5,
        reason: `packet ${j} (reverse): ServerHello; packet ${i}: application-data record of ${recLen} bytes whose content reads "POST " in clear (a null-encryption suite: the IP-HTTPS tunnel request)`,
      },
    ];
  },
  /** A ServerHello that chose any other suite (every HTTPS flow but DirectAccess): nothing later can be readable. */
  excludes(f: FlowView): boolean {
    const i = f.nPackets - 1;
    if (f.dir(i) !== DIR_REV) return false;
    const suite = serverHelloSuite(f, i);
    return suite >= 0 && suite !== NULL_SHA && suite !== NULL_SHA256;
  },
};
