/**
 * Tailscale peer flows (spec: parts/1-udp-vpns.md §Tailscale). The data plane is plain WireGuard; what ties a
 * flow to Tailscale is the disco packet sharing the same 5-tuple: `54 53 F0 9F 92 AC` ("TS" + U+1F4AC) at
 * offset 0, then the sender's 32-byte disco key (constant per node), a 24-byte nonce and a ≥16-byte NaCl box.
 *
 * Owns: the disco magic, the per-direction disco-key repetition, and "WireGuard handshake on a flow that also
 * carried disco". Must never: label STUN on 3478 or port 41641 alone, or rely on the encrypted disco sizes.
 *
 * Also owns the cleartext control-plane upgrade on TCP 80 (`POST /ts2021 HTTP/1.1` with
 * `Upgrade: tailscale-control-protocol`): a coordination flow, reported so the host is known to run Tailscale.
 *
 * Offsets read from earlier packets: 0–5 (magic), 6–37 (disco key), WireGuard header words 0–11.
 */
import { DIR_FWD, eq32, IPPROTO_TCP, IPPROTO_UDP, sameBytes, u8, u32le, type Detector, type Evidence, type FlowView } from './types.js';
import { WG_RESPONSE_LEN, WG_TYPE_RESPONSE, findInitiationWithSender, hasDiscoMagic, hex32, isWgHeaderWord } from './wireguard.js';

const DISCO_KEY_OFFSET = 6;
const DISCO_KEY_LEN = 32;
/** magic 6 + key 32 + nonce 24 + box tag 16. */
export const DISCO_MIN_LEN = 78;

export function isDisco(f: FlowView, i: number): boolean {
  return f.len(i) >= DISCO_MIN_LEN && hasDiscoMagic(f, i);
}

/** Earlier disco packet in direction `dir` (before `before`) whose key bytes 6–37 are fully visible; -1 if none. */
function firstDisco(f: FlowView, before: number, dir: number): number {
  for (let j = 0; j < before; j++) if ((dir < 0 || f.dir(j) === dir) && isDisco(f, j)) return j;
  return -1;
}

const STUN_HEADER_LEN = 20;
const STUN_COOKIE = 0x2112a442;

export const tailscale: Detector = {
  id: 'tailscale',
  transports: [IPPROTO_UDP, IPPROTO_TCP],
  carriers: ['http'],
  maxPackets: 16,
  rules: {
    'ts.disco': 'Tailscale disco packet: ≥78 bytes starting with the 48-bit magic 54 53 F0 9F 92 AC ("TS💬")',
    'ts.disco-keys':
      'disco packets in both directions, each direction repeating its own 32-byte disco key at offset 6',
    'ts.wireguard': 'WireGuard 148/92 handshake with index echo on a 5-tuple that also carried a disco packet',
    'ts.control':
      'TCP stream opening with "POST /ts2021 HTTP/1.1" and the header "Upgrade: tailscale-control-protocol" (control connection, not a tunnel)',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    if (f.transport === IPPROTO_TCP) return control(f, i);
    const d = f.dir(i);
    if (isDisco(f, i)) {
      const dirName = d === DIR_FWD ? '' : ' (reverse)';
      // Key repetition: one direction repeats its own disco key and the other direction sent disco too. Fires on
      // the packet that first makes this true.
      if (keysHold(f, i, d) && !keysHold(f, i - 1, d)) {
        return [
          {
            source: 'tailscale', protocol: 'tailscale', strength: 'strong', rule: 'ts.disco-keys', packet: i, offset: DISCO_KEY_OFFSET,
            reason: `disco packets in both directions up to packet ${i}${dirName}; a direction repeats its 32-byte disco key at offset 6 (key ${hexKey(f, i)} on this packet)`,
          },
        ];
      }
      if (firstDisco(f, i, -1) >= 0) return null; // the magic already produced its item on the first disco packet
      return [
        {
          source: 'tailscale', protocol: 'tailscale', strength: 'strong', rule: 'ts.disco', packet: i, offset: 0,
          reason: `packet ${i}${dirName}: bytes 0-5 are the disco magic 54 53 f0 9f 92 ac ("TS💬"), length ${f.len(i)} ≥ 78`,
        },
      ];
    }
    if (u32le(f, i, 0) === WG_TYPE_RESPONSE && f.len(i) === WG_RESPONSE_LEN) {
      const rx = u32le(f, i, 8);
      const j = findInitiationWithSender(f, i, 1 - d, rx, true);
      const k = firstDisco(f, i, -1);
      if (j < 0 || k < 0) return null;
      return [
        {
          source: 'tailscale', protocol: 'tailscale', strength: 'strong', rule: 'ts.wireguard', packet: i, offset: 8,
          reason: `packet ${j}: WireGuard initiation (148 bytes) with sender index 0x${hex32(rx)}, echoed by the 92-byte response at packet ${i}; packet ${k}: Tailscale disco magic on the same 5-tuple`,
        },
      ];
    }
    return null;
  },
  /**
   * Tailscale's UDP socket carries WireGuard messages, disco packets and STUN (RFC 8489 §5: top two bits zero,
   * magic cookie 2112A442 at offset 4); anything else on a UDP flow is not Tailscale. TCP: never excluded.
   */
  excludes(f: FlowView): boolean {
    if (f.transport !== IPPROTO_UDP) return false;
    const i = f.nPackets - 1;
    if (isWgHeaderWord(f, i) || hasDiscoMagic(f, i)) return false;
    if (f.len(i) >= STUN_HEADER_LEN && (u8(f, i, 0) & 0xc0) === 0 && eq32(f, i, 4, STUN_COOKIE)) return false;
    return f.avail(i) >= 8 || f.avail(i) >= f.len(i);
  },
};

/** Disco packets of direction `dir` in [0, upTo] carrying the same key as that direction's first disco packet. */
function sameKeyCount(f: FlowView, upTo: number, dir: number): number {
  let n = 0, first = -1;
  for (let j = 0; j <= upTo; j++) {
    if (f.dir(j) !== dir || !isDisco(f, j)) continue;
    if (first < 0) first = j;
    if (sameBytes(f, j, DISCO_KEY_OFFSET, first, DISCO_KEY_OFFSET, DISCO_KEY_LEN)) n++;
  }
  return n;
}
/** Some direction repeats its disco key and the other direction has at least one disco packet. */
function keysHold(f: FlowView, upTo: number, d: number): boolean {
  if (upTo < 0) return false;
  const a = sameKeyCount(f, upTo, d), b = sameKeyCount(f, upTo, 1 - d);
  return (a >= 2 && b >= 1) || (b >= 2 && a >= 1);
}
function hexKey(f: FlowView, i: number): string {
  let s = '';
  for (let q = 0; q < 8; q++) s += u8(f, i, DISCO_KEY_OFFSET + q).toString(16).padStart(2, '0');
  return s + '…';
}

const TS2021_LINE = 'POST /ts2021 HTTP/1.1\r\n';
const TS_UPGRADE = 'upgrade: tailscale-control-protocol';

/** The request is the initiator's first segment; the header is searched up to the end of the header block. */
function control(f: FlowView, i: number): Evidence[] | null {
  if (i !== 0 && !(f.dir(i) === DIR_FWD && firstFwd(f, i))) return null;
  for (let q = 0; q < TS2021_LINE.length; q++) if (u8(f, i, q) !== TS2021_LINE.charCodeAt(q)) return null;
  const end = f.avail(i);
  outer: for (let k = TS2021_LINE.length; k + TS_UPGRADE.length <= end; k++) {
    // header names start a line; compare case-insensitively
    if (u8(f, i, k - 1) !== 0x0a) continue;
    for (let q = 0; q < TS_UPGRADE.length; q++) {
      let c = u8(f, i, k + q);
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      if (c !== TS_UPGRADE.charCodeAt(q)) continue outer;
    }
    return [
      {
        source: 'tailscale', protocol: 'tailscale', strength: 'strong', rule: 'ts.control', packet: i, offset: k,
        reason: `packet ${i}: "POST /ts2021 HTTP/1.1" with "Upgrade: tailscale-control-protocol" at offset ${k} (Tailscale control-plane connection, not a tunnel)`,
      },
    ];
  }
  return null;
}
function firstFwd(f: FlowView, i: number): boolean {
  for (let j = 0; j < i; j++) if (f.dir(j) === DIR_FWD) return false;
  return true;
}
