/**
 * Ivanti (Pulse) Connect Secure (spec: parts/3-tls-quic-sslvpn.md §"SSL VPNs", Ivanti row, "Inner framings",
 * evidence rules; TCG "IF-T: Protocol Bindings for TLS"; Ivanti "Connect Secure Administration Guide").
 *
 * What is observable: the IF-T/TLS exchange is inside TLS; the documented clear observable is the ESP-in-UDP
 * data channel (4500 by default) next to a TLS flow to the same server **without any IKE** — a cross-flow
 * relation for the classifier's companion index. Rules below fire only where TLS is terminated before the
 * observer:
 *  - `pulse.upgrade`: an HTTP request carrying `Upgrade: IF-T/TLS 1.0` (strong: the documented protocol
 *    switch), or the server's `HTTP/1.1 101` answering it (strong, cross-packet);
 *  - `pulse.ift`: IF-T/TLS messages — vendor id `00 00 55 97` (TCG) or `00 00 0a 4c` (Juniper), type (4),
 *    length including the 16-byte header (4), sequence (4) — filling the segment exactly (medium; strong when
 *    two or more messages chain exactly).
 */
import { DIR_FWD, DIR_REV, IPPROTO_TCP, u8, u32be, type Detector, type Evidence, type FlowView } from './types.js';
import { findAsciiNoCase, hasAsciiAt, headEnd } from './ascii.js';

const VENDOR_TCG = 0x00005597;
const VENDOR_JUNIPER = 0x00000a4c;
const IFT_HDR = 16;
const MAX_PACKETS = 8;
const UPGRADE = 'upgrade: if-t/tls 1.0';

/** Number of IF-T/TLS messages filling packet i exactly, or 0. */
export function iftMessages(f: FlowView, i: number): number {
  const n = f.avail(i);
  if (n !== f.len(i) || n < IFT_HDR) return 0;
  let p = 0, count = 0;
  while (p < n) {
    const v = u32be(f, i, p);
    if (v !== VENDOR_TCG && v !== VENDOR_JUNIPER) return 0;
    const len = u32be(f, i, p + 8);
    if (len < IFT_HDR || len > n - p) return 0;
    p += len;
    count++;
  }
  return p === n ? count : 0;
}

function upgradeRequest(f: FlowView, j: number): boolean {
  if (f.dir(j) !== DIR_FWD || !hasAsciiAt(f, j, 0, 'GET ')) return false;
  const he = headEnd(f, j, 8192);
  return he > 0 && findAsciiNoCase(f, j, UPGRADE, 0, he) >= 0;
}

function ev(strength: 'strong' | 'medium', rule: string, reason: string, i: number, offset: number): Evidence[] {
  return [{ source: 'pulse', protocol: 'pulse', strength, rule, reason, packet: i, offset }];
}

export const pulse: Detector = {
  id: 'pulse',
  transports: [IPPROTO_TCP],
  carriers: ['http'],
  maxPackets: MAX_PACKETS,
  rules: {
    'pulse.upgrade': 'cleartext HTTP request with "Upgrade: IF-T/TLS 1.0", or the 101 answer to it (TLS terminated before the observer)',
    'pulse.ift': 'cleartext IF-T/TLS messages (vendor 00005597 or 00000a4c, length incl. header) filling the segment exactly',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    const c0 = u8(f, i, 0);
    if (c0 === 0x47 && upgradeRequest(f, i)) {
      const k = findAsciiNoCase(f, i, UPGRADE, 0, headEnd(f, i, 8192));
      return ev('strong', 'pulse.upgrade', `packet ${i}: cleartext HTTP request with header "Upgrade: IF-T/TLS 1.0" (Ivanti/Pulse Connect Secure)`, i, k);
    }
    if (c0 === 0x48 && f.dir(i) === DIR_REV && hasAsciiAt(f, i, 0, 'HTTP/1.1 101')) {
      for (let j = i - 1; j >= 0; j--) {
        if (upgradeRequest(f, j)) return ev('strong', 'pulse.upgrade', `packet ${i}: "HTTP/1.1 101" switches to IF-T/TLS as requested in packet ${j}`, i, 0);
      }
      return null;
    }
    if (c0 === 0x00) {
      const k = iftMessages(f, i);
      if (k > 0) {
        return ev(k >= 2 ? 'strong' : 'medium', 'pulse.ift', `packet ${i}: ${k} cleartext IF-T/TLS message(s) (vendor ${u32be(f, i, 0) === VENDOR_TCG ? 'TCG 00005597' : 'Juniper 00000a4c'}, lengths incl. header) filling the ${f.avail(i)}-byte segment exactly`, i, 0);
      }
    }
    return null;
  },
};
