/**
 * Microsoft SSTP (spec: parts/3-tls-quic-sslvpn.md §"SSL VPNs — what a passive observer sees", SSTP rows and
 * "SSTP packet layout"; MS-SSTP §2.2, §3.2.4 HTTPS set-up).
 *
 * What is observable: SSTP runs inside TLS on 443, so on the wire a gateway normally sees only a TLS ClientHello
 * (whose SNI the domain list handles). The rules below fire only where the HTTP layer is in clear — a TLS
 * terminator / SSL offloader in front of the server, or a capture taken behind one:
 *  - `sstp.http`: the client stream starts with the fixed request line
 *    `SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/` (strong: a 60-byte constant no other
 *    protocol sends);
 *  - `sstp.control`: an SSTP control packet (version `10`, C bit set, 12-bit length equal to the segment
 *    length, message type 1–9, attribute chain filling the packet exactly) — medium alone, strong after
 *    `sstp.http` in the same flow (cross-packet consistency).
 * Must never: fire on port 443 or on a lone TLS flow.
 */
import { DIR_FWD, IPPROTO_TCP, u8, u16be, type Detector, type Evidence, type FlowView } from './types.js';
import { hasAsciiAt, findAsciiNoCase, headEnd } from './ascii.js';

const SSTP_REQUEST = 'SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/';
const SSTP_VERSION = 0x10;
const SSTP_CONTROL = 0x01;
const MSG_MIN = 1, MSG_MAX = 9;
const ATTR_MIN = 1, ATTR_MAX = 4;
const MAX_PACKETS = 8;

/** True when packet i is exactly one SSTP control packet (or a chain of them filling the payload). */
export function isSstpControl(f: FlowView, i: number): boolean {
  const n = f.avail(i);
  if (n !== f.len(i) || n < 8) return false;
  let p = 0;
  while (p < n) {
    if (u8(f, i, p) !== SSTP_VERSION || u8(f, i, p + 1) !== SSTP_CONTROL) return false;
    const lw = u16be(f, i, p + 2);
    if (lw < 0 || (lw & 0xf000) !== 0) return false;
    const len = lw & 0x0fff;
    const msg = u16be(f, i, p + 4);
    const nAttr = u16be(f, i, p + 6);
    if (len < 8 || p + len > n || msg < MSG_MIN || msg > MSG_MAX || nAttr < 0) return false;
    let q = p + 8;
    for (let a = 0; a < nAttr; a++) {
      if (u8(f, i, q) !== 0) return false;
      const id = u8(f, i, q + 1);
      const al = u16be(f, i, q + 2);
      if (id < ATTR_MIN || id > ATTR_MAX || al < 4 || (al & 0xf000) !== 0 || q + al > p + len) return false;
      q += al;
    }
    if (q !== p + len) return false;
    p += len;
  }
  return true;
}

function sawRequest(f: FlowView, upTo: number): number {
  for (let j = 0; j < upTo; j++) if (f.dir(j) === DIR_FWD && hasAsciiAt(f, j, 0, SSTP_REQUEST)) return j;
  return -1;
}

export const sstp: Detector = {
  id: 'sstp',
  transports: [IPPROTO_TCP],
  carriers: [],
  maxPackets: MAX_PACKETS,
  rules: {
    'sstp.http': 'cleartext client stream starts "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/" (TLS terminated before the observer)',
    'sstp.control': 'cleartext SSTP control packet: version 0x10, C bit, 12-bit length = segment length, message type 1–9, attribute chain exact',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    const c0 = u8(f, i, 0);
    if (c0 === 0x53 && f.dir(i) === DIR_FWD && hasAsciiAt(f, i, 0, SSTP_REQUEST)) {
      const he = headEnd(f, i, 4096);
      const cl = he > 0 ? findAsciiNoCase(f, i, 'content-length: 18446744073709551615', 0, he) : -1;
      const corr = he > 0 ? findAsciiNoCase(f, i, 'sstpcorrelationid:', 0, he) : -1;
      return [
        {
          source: 'sstp',
          protocol: 'sstp',
          strength: 'strong',
          rule: 'sstp.http',
          reason:
            `packet ${i}: cleartext request line "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/" (MS-SSTP HTTPS set-up)` +
            (cl >= 0 ? ', Content-Length 2^64-1' : '') +
            (corr >= 0 ? ', SSTPCORRELATIONID header' : ''),
          packet: i,
          offset: 0,
        },
      ];
    }
    if (c0 === SSTP_VERSION && isSstpControl(f, i)) {
      const req = sawRequest(f, i);
      const msg = u16be(f, i, 4);
      return [
        {
          source: 'sstp',
          protocol: 'sstp',
          strength: req >= 0 ? 'strong' : 'medium',
          rule: 'sstp.control',
          reason:
            `packet ${i}: SSTP control packet, version 1.0, length ${u16be(f, i, 2) & 0xfff} = segment length, message type ${msg}, attribute chain exact` +
            (req >= 0 ? `; follows the SSTP_DUPLEX_POST request of packet ${req}` : ''),
          packet: i,
          offset: 0,
        },
      ];
    }
    return null;
  },
};
