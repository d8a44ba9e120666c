/**
 * Fortinet FortiGate SSL VPN / FortiClient (spec: parts/3-tls-quic-sslvpn.md §"SSL VPNs", FortiClient row,
 * "Inner framings", evidence rules; Fortinet "FortiOS Administration Guide — SSL VPN"; OpenConnect's Fortinet
 * notes).
 *
 * Observable in clear, without decryption:
 *  - `forticlient.cert` (TCP, server → client, TLS ≤ 1.2): the leaf certificate's subject has `OU=FortiGate`,
 *    the FortiGate default certificate — medium only: the same certificate fronts FortiGate admin pages and
 *    explicit proxies (spec "False-positive traps"). Marked `kind: 'name'`: it is a certificate name, one of the
 *    spec's ways to find a corporate SSL VPN ("operator's endpoint list, a certificate name, or the companion
 *    rule"), so the combiner treats it like a listed name rather than a lone structural packet;
 *  - `forticlient.port` (TCP): a TLS ClientHello to port 10443, FortiGate's common SSL-VPN port — weak, never
 *    decides.
 * Observable only where TLS is terminated before the observer:
 *  - `forticlient.http`: a request for `/remote/sslvpn-tunnel` (strong: the tunnel request) or for the portal
 *    paths `/remote/login`, `/remote/logincheck`, `/remote/fortisslvpn_xml`, `/remote/fortisslvpn` (medium);
 *  - `forticlient.ppp`: a Fortinet tunnel frame — total length (2), `50 50`, PPP length (2) = total − 6 — whose
 *    lengths fill the segment exactly (medium).
 * The optional DTLS data channel on the TLS port is a companion-flow relation (classifier), not decided here.
 */
import { DIR_FWD, DIR_REV, IPPROTO_TCP, u8, u16be, type Detector, type Evidence, type FlowView } from './types.js';
import { findAscii, hasAsciiAt, requestTarget } from './ascii.js';
import { parseServerCertificate } from './names/cert.js';

export const FORTI_SSLVPN_PORT = 10443;
const FORTI_MAGIC = 0x5050;
const MAX_PACKETS = 8;
const TUNNEL_PATH = '/remote/sslvpn-tunnel';
const PORTAL_PATHS = ['/remote/logincheck', '/remote/login', '/remote/fortisslvpn_xml', '/remote/fortisslvpn'];

/** Frames `len(2) 50 50 pppLen(2)` filling packet i exactly; returns the frame count or 0. */
export function fortiFrames(f: FlowView, i: number): number {
  const n = f.avail(i);
  if (n !== f.len(i) || n < 7) return 0;
  let p = 0, count = 0;
  while (p < n) {
    const total = u16be(f, i, p);
    if (total < 7 || u16be(f, i, p + 2) !== FORTI_MAGIC || u16be(f, i, p + 4) !== total - 6) return 0;
    p += total;
    count++;
  }
  return p === n ? count : 0;
}

function httpRule(f: FlowView, i: number): Evidence | null {
  const m = u8(f, i, 0) === 0x47 ? 'GET ' : u8(f, i, 0) === 0x50 ? 'POST ' : '';
  if (!m) return null;
  const t = requestTarget(f, i, m);
  if (t < 0) return null;
  if (hasAsciiAt(f, i, t, TUNNEL_PATH)) {
    return {
      source: 'forticlient',
      protocol: 'forticlient',
      strength: 'strong',
      rule: 'forticlient.http',
      reason: `packet ${i}: cleartext request "${m}${TUNNEL_PATH}" (FortiGate SSL-VPN tunnel request; TLS terminated before the observer)`,
      packet: i,
      offset: t,
    };
  }
  for (const path of PORTAL_PATHS) {
    const c = u8(f, i, t + path.length);
    if (hasAsciiAt(f, i, t, path) && (c === 0x20 || c === 0x3f)) {
      return {
        source: 'forticlient',
        protocol: 'forticlient',
        strength: 'medium',
        rule: 'forticlient.http',
        reason: `packet ${i}: cleartext request "${m}${path}" (FortiGate SSL-VPN portal path)`,
        packet: i,
        offset: t,
      };
    }
  }
  return null;
}

export const forticlient: Detector = {
  id: 'forticlient',
  transports: [IPPROTO_TCP],
  carriers: ['tls', 'http'],
  maxPackets: MAX_PACKETS,
  rules: {
    'forticlient.cert': 'TLS ≤ 1.2 server certificate subject OU=FortiGate (FortiGate default certificate; also admin GUI) — medium',
    'forticlient.port': 'TLS ClientHello to TCP 10443 — weak, never decides',
    'forticlient.http': 'cleartext request for /remote/sslvpn-tunnel (strong) or a FortiGate SSL-VPN portal path (medium)',
    'forticlient.ppp': 'cleartext Fortinet tunnel frames (length, 50 50, PPP length = length − 6) filling the segment exactly',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    const c0 = u8(f, i, 0);
    const dir = f.dir(i);
    if (c0 === 0x16) {
      if (dir === DIR_FWD) {
        if (f.dstPort !== FORTI_SSLVPN_PORT || u8(f, i, 5) !== 0x01) return null;
        return [
          {
            source: 'forticlient',
            protocol: 'forticlient',
            strength: 'weak',
            rule: 'forticlient.port',
            reason: `packet ${i}: TLS ClientHello to TCP port ${FORTI_SSLVPN_PORT} (a common FortiGate SSL-VPN port; port alone is weak)`,
            packet: i,
            offset: 0,
          },
        ];
      }
      // The rule needs the subject OU to be exactly `FortiGate`, so its bytes must appear as such.
      if (dir !== DIR_REV || findAscii(f, i, 'FortiGate', 5, f.avail(i)) < 0) return null;
      const cert = parseServerCertificate(f.buf(i), f.start(i), f.start(i) + f.avail(i));
      if (cert && cert.ou === 'FortiGate') {
        return [
          {
            source: 'forticlient',
            protocol: 'forticlient',
            strength: 'medium',
            kind: 'name',
            rule: 'forticlient.cert',
            reason: `packet ${i}: TLS server certificate subject OU=FortiGate${cert.cn ? `, CN=${cert.cn}` : ''} (FortiGate default certificate: SSL VPN or admin GUI)`,
            packet: i,
          },
        ];
      }
      return null;
    }
    if (dir === DIR_FWD && (c0 === 0x47 || c0 === 0x50)) {
      const e = httpRule(f, i);
      return e ? [e] : null;
    }
    const k = fortiFrames(f, i);
    if (k > 0) {
      return [
        {
          source: 'forticlient',
          protocol: 'forticlient',
          strength: 'medium',
          rule: 'forticlient.ppp',
          reason: `packet ${i}: ${k} cleartext Fortinet tunnel frame(s) (length, 50 50, PPP length = length − 6) filling the ${f.avail(i)}-byte segment exactly`,
          packet: i,
          offset: 0,
        },
      ];
    }
    return null;
  },
};
