/**
 * Palo Alto Networks GlobalProtect (spec: parts/3-tls-quic-sslvpn.md §"SSL VPNs", GlobalProtect row, "Inner
 * framings", evidence rules; Palo Alto "GlobalProtect Administrator's Guide"; OpenConnect's GlobalProtect notes).
 *
 * What is observable: the portal/gateway HTTP exchange and the TLS tunnel are inside TLS; the documented clear
 * observable is the ESP-in-UDP data channel on port 4501 next to a TLS flow to the same server, a cross-flow
 * relation the classifier's companion index decides (ESP shape itself is the esp/ike detectors' business).
 * A lone TLS flow to a GlobalProtect portal carries nothing in clear that differs from any HTTPS site.
 * Rules below fire only where TLS is terminated before the observer:
 *  - `globalprotect.tunnel`: request line `GET /ssl-tunnel-connect.sslvpn?…` (strong: the tunnel request), or a
 *    server payload starting `START_TUNNEL` right after such a request (strong, cross-packet);
 *  - `globalprotect.http`: a request for a documented portal/gateway path (`/global-protect/prelogin.esp`,
 *    `/global-protect/getconfig.esp`, `/ssl-vpn/prelogin.esp`, `/ssl-vpn/login.esp`, `/ssl-vpn/getconfig.esp`)
 *    — medium;
 *  - `globalprotect.frame`: a tunnel frame `1a 2b 3c 4d`, EtherType `08 00`/`86 dd`, length, `01 00 00 00 00 00
 *    00 00`, with 16 + length filling the segment exactly (strong: 12 fixed bytes and a matching length).
 */
import { DIR_FWD, DIR_REV, IPPROTO_TCP, u8, u16be, u32be, type Detector, type Evidence, type FlowView } from './types.js';
import { hasAsciiAt, requestTarget } from './ascii.js';

const GP_MAGIC = 0x1a2b3c4d;
const GP_HDR = 16;
const TUNNEL_PATH = '/ssl-tunnel-connect.sslvpn';
const PATHS = ['/global-protect/prelogin.esp', '/global-protect/getconfig.esp', '/ssl-vpn/prelogin.esp', '/ssl-vpn/login.esp', '/ssl-vpn/getconfig.esp'];
const MAX_PACKETS = 8;

/** Number of GlobalProtect tunnel frames filling packet i exactly, or 0. */
export function gpFrames(f: FlowView, i: number): number {
  const n = f.avail(i);
  if (n !== f.len(i) || n < GP_HDR) return 0;
  let p = 0, count = 0;
  while (p < n) {
    if (u32be(f, i, p) !== GP_MAGIC) return 0;
    const et = u16be(f, i, p + 4);
    if (et !== 0x0800 && et !== 0x86dd) return 0;
    const len = u16be(f, i, p + 6);
    if (u32be(f, i, p + 8) !== 0x01000000 || u32be(f, i, p + 12) !== 0) return 0;
    p += GP_HDR + len;
    count++;
  }
  return p === n ? count : 0;
}

function tunnelRequestBefore(f: FlowView, i: number): number {
  for (let j = i - 1; j >= 0; j--) {
    if (f.dir(j) === DIR_FWD && hasAsciiAt(f, j, 0, 'GET ' + TUNNEL_PATH)) return j;
  }
  return -1;
}

function ev(strength: 'strong' | 'medium', rule: string, reason: string, i: number, offset: number): Evidence[] {
  return [{ source: 'globalprotect', protocol: 'globalprotect', strength, rule, reason, packet: i, offset }];
}

export const globalprotect: Detector = {
  id: 'globalprotect',
  transports: [IPPROTO_TCP],
  carriers: ['http'],
  maxPackets: MAX_PACKETS,
  rules: {
    'globalprotect.tunnel': 'cleartext "GET /ssl-tunnel-connect.sslvpn" request, or "START_TUNNEL" answering it (TLS terminated before the observer)',
    'globalprotect.http': 'cleartext request for a documented GlobalProtect portal/gateway path (prelogin.esp, getconfig.esp, login.esp) — medium',
    'globalprotect.frame': 'cleartext tunnel frames 1a2b3c4d + EtherType + length + 01 00 00 00 00 00 00 00 filling the segment exactly',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    const c0 = u8(f, i, 0);
    const dir = f.dir(i);
    if (dir === DIR_FWD && (c0 === 0x47 || c0 === 0x50)) {
      const m = c0 === 0x47 ? 'GET ' : 'POST ';
      const t = requestTarget(f, i, m);
      if (t < 0) return null;
      if (m === 'GET ' && hasAsciiAt(f, i, t, TUNNEL_PATH)) {
        return ev('strong', 'globalprotect.tunnel', `packet ${i}: cleartext request "GET ${TUNNEL_PATH}…" (GlobalProtect SSL tunnel request)`, i, t);
      }
      for (const path of PATHS) {
        const c = u8(f, i, t + path.length);
        if (hasAsciiAt(f, i, t, path) && (c === 0x20 || c === 0x3f)) {
          return ev('medium', 'globalprotect.http', `packet ${i}: cleartext request "${m}${path}" (GlobalProtect portal/gateway path)`, i, t);
        }
      }
      return null;
    }
    if (dir === DIR_REV && c0 === 0x53 && hasAsciiAt(f, i, 0, 'START_TUNNEL')) {
      const j = tunnelRequestBefore(f, i);
      if (j >= 0) return ev('strong', 'globalprotect.tunnel', `packet ${i}: server answers "START_TUNNEL" to the tunnel request of packet ${j}`, i, 0);
      return null;
    }
    if (c0 === 0x1a) {
      const k = gpFrames(f, i);
      if (k > 0) return ev('strong', 'globalprotect.frame', `packet ${i}: ${k} cleartext GlobalProtect tunnel frame(s) (1a2b3c4d, EtherType, length, 01 00…00) filling the ${f.avail(i)}-byte segment exactly`, i, 0);
    }
    return null;
  },
};
