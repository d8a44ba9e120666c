/**
 * PPTP (spec: ../shared/reference/parts/2-ipsec-l2tp-pptp.md §PPTP; RFC 2637 §1.4, §2, §4.1).
 *
 * Owns: PPTP control messages on TCP (usually 1723: length, message type 1, magic cookie 1A2B3C4D, control type
 * 1–15 with its fixed length), the OCRQ/OCRP call-id echo, and the enhanced GRE (IP protocol 47, version 1,
 * protocol 880B) data channel with its payload-length field and per-direction call id/sequence runs.
 * Must never: claim plain GRE version 0 (an unencrypted carrier the decoder opens), key on the port, or allocate
 * when nothing matches.
 *
 * Offsets read from earlier packets (first ~48 bytes kept): control header 0–11, OCRQ call id 12–13, OCRP call
 * id/peer call id 12–15; GRE header 0–15 (flags, protocol, payload length, call id, sequence, ack).
 */
import { IPPROTO_GRE, IPPROTO_TCP, u8, u16be, u32be, type Detector, type Evidence, type FlowView } from './types.js';
import { dirText } from './esp.js';

export const PPTP_PORT = 1723;
export const PPTP_MAGIC = 0x1a2b3c4d;
const CTRL_OCRQ = 7, CTRL_OCRP = 8;
/** Fixed message length per control message type 1–15 (RFC 2637 §2.1–2.15). */
const CTRL_LEN = [0, 156, 156, 16, 16, 16, 20, 168, 32, 220, 24, 28, 16, 148, 40, 24];
const CTRL_NAMES = ['', 'SCCRQ', 'SCCRP', 'StopCCRQ', 'StopCCRP', 'Echo-Request', 'Echo-Reply', 'OCRQ', 'OCRP', 'ICRQ', 'ICRP', 'ICCN', 'CCRQ', 'CDN', 'WEN', 'SLI'];
const GRE_PPP = 0x880b;
const GRE_HDR = 8;
const GRE_S = 0x10, GRE_A = 0x80;
const GRE_STRONG_RUN = 3;

/** Control message at offset o of packet i: returns its type (1–15) when header and fixed length are valid, else 0. */
function controlAt(f: FlowView, i: number, o: number): number {
  const t = u16be(f, i, o + 8);
  if (t < 1 || t > 15) return 0;
  if (u16be(f, i, o) !== CTRL_LEN[t] || u16be(f, i, o + 2) !== 1 || u32be(f, i, o + 4) !== PPTP_MAGIC || u16be(f, i, o + 10) !== 0) return 0;
  return t;
}

/** Messages after the first one in the newest segment: count when their lengths sum exactly to the segment, else -1. */
function walkMessages(f: FlowView, i: number): number {
  const end = f.len(i);
  if (f.avail(i) < end) return -1;
  let o = 0, n = 0;
  while (o < end) {
    const t = controlAt(f, i, o);
    if (t === 0 || o + CTRL_LEN[t]! > end) return -1;
    o += CTRL_LEN[t]!;
    n++;
  }
  return n;
}

/** Enhanced GRE header length of packet i (8, 12 or 16), or -1 when flags/version/protocol are not PPTP's. */
function greHeader(f: FlowView, i: number): number {
  const b0 = u8(f, i, 0), b1 = u8(f, i, 1);
  // C R K S s Recur: only K (0x20) required and S (0x10) optional; A Flags Ver: version 1, A optional.
  if (b0 < 0 || (b0 & ~GRE_S) !== 0x20 || (b1 & ~GRE_A) !== 0x01 || u16be(f, i, 2) !== GRE_PPP) return -1;
  return GRE_HDR + (b0 & GRE_S ? 4 : 0) + (b1 & GRE_A ? 4 : 0);
}

export const pptp: Detector = {
  id: 'pptp',
  transports: [IPPROTO_TCP, IPPROTO_GRE],
  carriers: [],
  maxPackets: 8,
  rules: {
    'pptp.control':
      'PPTP control message at the start of a TCP segment: length == the fixed length of its control type (1–15), PPTP message type 1, magic cookie 1A2B3C4D, reserved 0',
    'pptp.call': 'OCRP whose peer call id echoes the call id of an opposite-direction OCRQ (ties the call to its GRE channel)',
    'pptp.gre':
      'enhanced GRE: flags K (S, A optional, C/R/recursion 0), version 1, protocol 880B, payload-length field == bytes after the 8/12/16-byte header',
    'pptp.gre-header': 'enhanced GRE version 1 + protocol 880B whose payload-length field does not match (snaplen cut or padding) (medium)',
    'pptp.gre-sequence': '≥3 enhanced GRE packets in one direction with one call id and sequence numbers rising by exactly 1',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    return f.transport === IPPROTO_GRE ? gre(f, i) : control(f, i);
  },
};

function control(f: FlowView, i: number): Evidence[] | null {
  const t = controlAt(f, i, 0);
  if (t === 0) return null;
  const len = f.len(i), d = f.dir(i);
  const n = walkMessages(f, i);
  const out: Evidence[] = [
    {
      source: 'pptp', protocol: 'pptp', strength: 'strong', rule: 'pptp.control', packet: i, offset: 0,
      reason: `packet ${i}: PPTP control message ${CTRL_NAMES[t]}(${t}), length ${CTRL_LEN[t]} (fixed for the type), message type 1, magic cookie 1A2B3C4D at offset 4, reserved 0; ${n > 0 ? `${n} message${n > 1 ? 's' : ''} sum to the ${len}-byte segment` : `segment is ${len} bytes`}`,
    },
  ];
  if (t === CTRL_OCRP) {
    const peer = u16be(f, i, 14);
    for (let j = i - 1; j >= 0; j--) {
      if (f.dir(j) === d || controlAt(f, j, 0) !== CTRL_OCRQ || u16be(f, j, 12) !== peer) continue;
      out.push({
        source: 'pptp', protocol: 'pptp', strength: 'strong', rule: 'pptp.call', packet: i, offset: 14,
        reason: `packet ${j}: OCRQ with call id ${peer}; packet ${i}: OCRP with call id ${u16be(f, i, 12)} and peer call id ${peer} echoing it`,
      });
      break;
    }
  }
  return out;
}

function gre(f: FlowView, i: number): Evidence[] | null {
  const h = greHeader(f, i);
  if (h < 0) return null;
  const len = f.len(i), d = f.dir(i), plen = u16be(f, i, 4), call = u16be(f, i, 6);
  let out: Evidence[] | null = null;
  if (u8(f, i, 0) & GRE_S) {
    let n = 1, seq = u32be(f, i, 8);
    for (let j = i - 1; j >= 0 && n <= GRE_STRONG_RUN; j--) {
      if (f.dir(j) !== d) continue;
      if (greHeader(f, j) < 0 || !(u8(f, j, 0) & GRE_S)) continue; // ack-only packets interleave
      if (u16be(f, j, 6) !== call || u32be(f, j, 8) !== ((seq - 1) >>> 0)) break;
      seq = u32be(f, j, 8);
      n++;
    }
    if (n === GRE_STRONG_RUN) {
      out = [
        {
          source: 'pptp', protocol: 'pptp', strength: 'strong', rule: 'pptp.gre-sequence', packet: i, offset: 6,
          reason: `${n} enhanced GRE packets ${dirText(d)} up to packet ${i}: call id ${call} constant, sequence numbers rising by 1 to ${u32be(f, i, 8)}`,
        },
      ];
    }
  }
  // Single-packet items: once per flow (the first packet that satisfies them).
  const exact = plen === len - h;
  for (let j = 0; j < i; j++) {
    const hj = greHeader(f, j);
    if (hj >= 0 && (u16be(f, j, 4) === f.len(j) - hj) === exact) return out;
  }
  (out ??= []).push({
    source: 'pptp', protocol: 'pptp', strength: exact ? 'strong' : 'medium', rule: exact ? 'pptp.gre' : 'pptp.gre-header', packet: i, offset: 0,
    reason: `packet ${i}: GRE flags 0x${u8(f, i, 0).toString(16).padStart(2, '0')}${u8(f, i, 1).toString(16).padStart(2, '0')} (K${u8(f, i, 0) & GRE_S ? ' S' : ''}${u8(f, i, 1) & GRE_A ? ' A' : ''}, version 1), protocol 880B (PPP), call id ${call}, payload length ${plen} ${exact ? '==' : '!='} ${len - h} bytes after the ${h}-byte header${u8(f, i, 0) & GRE_S ? `, sequence ${u32be(f, i, 8)}` : ''}`,
  });
  return out;
}


