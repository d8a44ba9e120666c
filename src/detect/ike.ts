/**
 * IKEv1/IKEv2 and NAT traversal (spec: ../shared/reference/parts/2-ipsec-l2tp-pptp.md §IKEv1 and IKEv2, §NAT
 * traversal on UDP 4500; RFC 2408 §3.1, RFC 7296 §3.1–3.3, RFC 3948 §2).
 *
 * Owns: the 28-byte ISAKMP header (at offset 0, or at offset 4 behind the 4-byte zero non-ESP marker), the
 * generic payload chain walk, the request/reply SPI relation, ESP-in-UDP sequence runs and NAT-keepalives on
 * UDP 4500. Must never: decide on the port alone (only the weak keepalive item and the ESP-in-UDP rule look at
 * the port — the latter because other protocols also start with a constant word and a +1 counter, e.g. OpenVPN
 * P_DATA_V2), or allocate when nothing matches.
 *
 * Strengths: `ike.message`, `ike.reply` and `natt.esp` strong; `ike.header` medium; `natt.keepalive` weak. The NAT-T
 * float (an IKE message on 4500 continuing an IKE SA seen on 500 between the same hosts, reference part 2 §2:
 * strong) needs two flows and lives in ../classify/companions.ts as `ike.natt-float`.
 *
 * Offsets read from earlier packets (first ~48 bytes kept): ISAKMP header bytes h..h+27 with h ∈ {0, 4} (SPIs,
 * version, flags, message id, length) and ESP SPI/sequence 0–7. The payload chain is walked only on the newest
 * packet, which is whole.
 */
import { eq32, IPPROTO_UDP, u8, u16be, u32be, sameBytes, type Detector, type Evidence, type FlowView } from './types.js';
import { dirText, espSeqRun, ESP_STRONG_RUN, seqRunText, type SeqSpan } from './esp.js';
import { hex32 } from './wireguard.js';
import { isTurnChannelData } from './lookalikes.js';

export const IKE_PORT = 500;
export const NATT_PORT = 4500;
export const IKE_HEADER_LEN = 28;
/** Length of the non-ESP marker that precedes IKE on port 4500. */
export const NON_ESP_MARKER_LEN = 4;
const V1 = 0x10, V2 = 0x20;
const V1_FLAG_ENC = 0x01;
const V2_FLAG_I = 0x08, V2_FLAG_R = 0x20;
const V2_SA_INIT = 34;
const V2_SK = 46, V2_SKF = 53;

/**
 * IKEv1 exchange types: RFC 2408/2409 (1–5, Quick Mode 32, New Group 33) and the Transaction exchange (6) in which
 * Mode Config and XAUTH run after phase 1 (draft-dukes-ike-mode-cfg §3.1; it carries the reference's attribute
 * payload 14). IKEv1 remote access (XAUTH, address pull) sends it in every session.
 */
function isV1Exchange(x: number): boolean {
  return (x >= 1 && x <= 6) || x === 32 || x === 33;
}
function isV2Exchange(x: number): boolean {
  return (x >= 34 && x <= 38) || x === 43 || x === 44;
}
/** IKEv1 payload types of the spec (RFC 2408/2409, Mode Config attributes 14, NAT-D/NAT-OA, 130/131, fragment 132). */
function isV1Payload(t: number): boolean {
  return (t >= 1 && t <= 14) || t === 20 || t === 21 || (t >= 130 && t <= 132);
}
/** IKEv2 payload types 33–54 (IANA "IKEv2 Payload Types": SA … SKF, PS). */
function isV2Payload(t: number): boolean {
  return t >= 33 && t <= 54;
}

/**
 * Header checks (check 1 of the spec) on packet i with the header at offset h: initiator SPI non-zero, version
 * 0x10/0x20, known exchange type, reserved flag bits zero, length == `msgLen` (the payload length − h in a
 * datagram; over TCP, the frame's length field says it), IKEv2 responder SPI zero only in IKE_SA_INIT,
 * IKE_SA_INIT message id 0. Reads bytes h..h+27. Returns the version byte or 0.
 */
export function headerOk(f: FlowView, i: number, h: number, msgLen: number = f.len(i) - h): number {
  if (f.avail(i) < h + IKE_HEADER_LEN) return 0;
  const ver = u8(f, i, h + 17);
  if (ver !== V1 && ver !== V2) return 0; // cheapest reject first: 254 of 256 random bytes
  if (!eq32(f, i, h + 24, msgLen)) return 0;
  const x = u8(f, i, h + 18), fl = u8(f, i, h + 19);
  if (eq32(f, i, h, 0) && eq32(f, i, h + 4, 0)) return 0;
  const rZero = eq32(f, i, h + 8, 0) && eq32(f, i, h + 12, 0);
  if (ver === V1) {
    if (!isV1Exchange(x) || (fl & 0xf8) !== 0) return 0;
  } else if (ver === V2) {
    if (!isV2Exchange(x) || (fl & 0xc7) !== 0) return 0;
    if (rZero && x !== V2_SA_INIT) return 0;
    if (x === V2_SA_INIT && !eq32(f, i, h + 20, 0)) return 0;
  } else return 0;
  const np = u8(f, i, h + 16);
  if (np !== 0 && !(ver === V1 ? isV1Payload(np) : isV2Payload(np))) return 0;
  return ver;
}

/**
 * Walks the generic payload chain of the newest packet (check 2): returns the number of payloads when the walk
 * ends with next payload 0 exactly at the message end `end` (the packet's end in a datagram; over TCP, the
 * frame's) or with an SK/SKF payload that reaches it, -1 otherwise (also when the message was not captured whole).
 */
export function walkChain(f: FlowView, i: number, h: number, ver: number, end: number = f.len(i)): number {
  if (f.avail(i) < end) return -1;
  let np = u8(f, i, h + 16), o = h + IKE_HEADER_LEN, n = 0;
  while (np !== 0) {
    if (o + 4 > end) return -1;
    if (!(ver === V1 ? isV1Payload(np) : isV2Payload(np))) return -1;
    const next = u8(f, i, o), crit = u8(f, i, o + 1), plen = u16be(f, i, o + 2);
    if ((ver === V1 ? crit : crit & 0x7f) !== 0 || plen < 4 || o + plen > end) return -1;
    n++;
    if (ver === V2 && (np === V2_SK || np === V2_SKF)) {
      // SK/SKF wraps the rest: it is the last payload and its "next payload" names the first inner one.
      if (np === V2_SKF) {
        if (plen < 8) return -1;
        const num = u16be(f, i, o + 4), tot = u16be(f, i, o + 6);
        if (num < 1 || num > tot) return -1;
      }
      return o + plen === end ? n : -1;
    }
    np = next;
    o += plen;
  }
  return o === end && n > 0 ? n : -1;
}

const V1_NAMES: Readonly<Record<number, string>> = {
  1: 'SA', 2: 'P', 3: 'T', 4: 'KE', 5: 'ID', 6: 'CERT', 7: 'CR', 8: 'HASH', 9: 'SIG', 10: 'Nonce', 11: 'N', 12: 'D',
  13: 'VID', 14: 'ATTR', 20: 'NAT-D', 21: 'NAT-OA', 130: 'NAT-D', 131: 'NAT-OA', 132: 'FRAG',
};
const V2_NAMES: Readonly<Record<number, string>> = {
  33: 'SA', 34: 'KE', 35: 'IDi', 36: 'IDr', 37: 'CERT', 38: 'CERTREQ', 39: 'AUTH', 40: 'Nonce', 41: 'N', 42: 'D',
  43: 'V', 44: 'TSi', 45: 'TSr', 46: 'SK', 47: 'CP', 48: 'EAP', 53: 'SKF',
};
export const X_NAMES: Readonly<Record<number, string>> = {
  1: 'Base', 2: 'Main Mode', 3: 'Auth Only', 4: 'Aggressive', 5: 'Informational', 6: 'Transaction', 32: 'Quick Mode', 33: 'New Group',
  34: 'IKE_SA_INIT', 35: 'IKE_AUTH', 36: 'CREATE_CHILD_SA', 37: 'INFORMATIONAL', 38: 'IKE_SESSION_RESUME',
  43: 'IKE_INTERMEDIATE', 44: 'IKE_FOLLOWUP_KE',
};

export function chainText(f: FlowView, i: number, h: number, ver: number): string {
  const names = ver === V1 ? V1_NAMES : V2_NAMES;
  const parts: string[] = [];
  let np = u8(f, i, h + 16), o = h + IKE_HEADER_LEN;
  while (np !== 0 && parts.length < 32) {
    parts.push(names[np] ?? String(np));
    if (ver === V2 && (np === V2_SK || np === V2_SKF)) break;
    const next = u8(f, i, o);
    o += u16be(f, i, o + 2);
    np = next;
  }
  return parts.join('→');
}

export function flagsText(ver: number, fl: number): string {
  if (ver === V2) return [fl & V2_FLAG_I ? 'I' : '', fl & 0x10 ? 'V' : '', fl & V2_FLAG_R ? 'R' : ''].join('') || 'none';
  return [fl & 1 ? 'E' : '', fl & 2 ? 'C' : '', fl & 4 ? 'A' : ''].join('') || 'none';
}

function headerText(f: FlowView, i: number, h: number, ver: number): string {
  const x = u8(f, i, h + 18), fl = u8(f, i, h + 19), len = u32be(f, i, h + 24);
  return `IKEv${ver === V1 ? 1 : 2} header${h ? ' after the 4-byte zero non-ESP marker' : ''}, exchange ${X_NAMES[x] ?? x}(${x}), flags ${flagsText(ver, fl)}, message id ${u32be(f, i, h + 20)}, length ${len} == UDP payload ${f.len(i)}${h ? ' − 4' : ''}`;
}

/** Header offset of an IKE message in packet i (0, or 4 behind the non-ESP marker), or -1. */
function ikeAt(f: FlowView, i: number): number {
  if (eq32(f, i, 0, 0)) return headerOk(f, i, NON_ESP_MARKER_LEN) ? NON_ESP_MARKER_LEN : -1;
  return headerOk(f, i, 0) ? 0 : -1;
}

/**
 * Check 4: an earlier opposite-direction IKE message j (same header offset, same version) whose initiator SPI
 * this one echoes, with this responder SPI non-zero and either j's responder SPI zero (reply to a first message)
 * or equal to ours; same message id; IKEv2: exactly one of the two has the response flag. Returns j or -1.
 */
function findRequest(f: FlowView, i: number, h: number, ver: number): number {
  const d = f.dir(i);
  if (eq32(f, i, h + 8, 0) && eq32(f, i, h + 12, 0)) return -1;
  for (let j = i - 1; j >= 0; j--) {
    if (f.dir(j) === d || f.avail(j) < h + IKE_HEADER_LEN) continue;
    if (h === NON_ESP_MARKER_LEN && !eq32(f, j, 0, 0)) continue;
    if (u8(f, j, h + 17) !== ver || !sameBytes(f, i, h, j, h, 8) || !sameBytes(f, i, h + 20, j, h + 20, 4)) continue;
    const jZero = eq32(f, j, h + 8, 0) && eq32(f, j, h + 12, 0);
    if (!jZero && !sameBytes(f, i, h + 8, j, h + 8, 8)) continue;
    if (ver === V2 && ((u8(f, i, h + 19) ^ u8(f, j, h + 19)) & V2_FLAG_R) === 0) continue;
    if (ver === V1 && !isV1Exchange(u8(f, j, h + 18))) continue;
    if (ver === V2 && !isV2Exchange(u8(f, j, h + 18))) continue;
    return j;
  }
  return -1;
}

/** An IKEv1 encrypted message of `msgLen` bytes (header included) has a body, padded to the 8-byte cipher block. */
export function paddedV1Body(msgLen: number): boolean {
  return msgLen > IKE_HEADER_LEN && (msgLen - IKE_HEADER_LEN) % 8 === 0;
}

/**
 * Earlier IKEv1 encrypted messages (flag E) of this flow carrying the same 128-bit SPI pair as packet i (responder
 * SPI non-zero: the SA exists), at the same header offset, whose headers pass on their own — either direction, any
 * message id (a DPD R-U-THERE and its ACK are two informational exchanges with message ids of their own).
 */
function sameV1SaBefore(f: FlowView, i: number, h: number): number {
  let n = 0;
  for (let j = 0; j < i; j++) {
    if (f.avail(j) < h + IKE_HEADER_LEN || (h === NON_ESP_MARKER_LEN && !eq32(f, j, 0, 0))) continue;
    if (u8(f, j, h + 17) !== V1 || (u8(f, j, h + 19) & V1_FLAG_ENC) === 0) continue;
    if (paddedV1Body(f.len(j) - h) && sameBytes(f, i, h, j, h, 16) && headerOk(f, j, h) === V1) n++;
  }
  return n;
}

/**
 * The last `n` packets of direction `dir` up to i that open with packet i's first word are all TURN ChannelData
 * (lookalikes.ts): relayed constant-size RTP reads as a constant SPI and a sequence rising by 1.
 */
function channelDataRun(f: FlowView, i: number, dir: number, n: number): boolean {
  const w = u32be(f, i, 0);
  for (let j = i; j >= 0 && n > 0; j--) {
    if (f.dir(j) !== dir || u32be(f, j, 0) !== w) continue;
    if (!isTurnChannelData(f, j)) return false;
    n--;
  }
  return true;
}

/** The span of the ESP-in-UDP run natt.esp walked last (read for its reason; no object per packet). */
const NATT_SPAN: SeqSpan = { lo: 0, hi: 0 };

function isNattFlow(f: FlowView): boolean {
  return f.srcPort === NATT_PORT || f.dstPort === NATT_PORT;
}

function isIkeVersion(v: number): boolean {
  return v >> 4 === 1 || v >> 4 === 2;
}

export const ike: Detector = {
  id: 'ike',
  transports: [IPPROTO_UDP],
  carriers: [],
  maxPackets: 12,
  rules: {
    'ike.message':
      'IKEv1/IKEv2 header (version 0x10/0x20, known exchange, reserved flags 0, length == UDP payload) and the payload chain walks exactly to that length with known payload types (at offset 0, or behind the 4-byte zero non-ESP marker)',
    'ike.reply':
      'IKE reply: valid header whose initiator SPI (64 bits) and message id echo an opposite-direction IKE message, responder SPI non-zero (zero or equal in the request), IKEv2 response flag differing',
    'ike.header': 'IKE header with length == UDP payload but the chain cannot be walked (IKEv1 encrypted body padded to 8, or snaplen-cut) (medium)',
    'ike.v1-sa':
      'a second IKEv1 encrypted message (flag E, body padded to 8) carrying the same initiator and responder SPIs (128 bits, responder SPI non-zero) as an earlier one of the flow, either direction, any message id: an established IKEv1 SA seen mid-stream (reference part 2 §1 "Mid-stream")',
    'natt.esp': 'UDP 4500: ≥3 ESP-in-UDP packets in one direction with one SPI ≥ 256 and distinct sequence numbers rising by 1 per packet, up to 4 lost packets and reordering allowed',
    'natt.keepalive': 'UDP 4500: single-byte 0xFF NAT-keepalive (weak; corroborates an IPsec 5-tuple only)',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    const len = f.len(i);
    const h = len >= IKE_HEADER_LEN ? ikeAt(f, i) : -1;
    if (h >= 0) {
      const ver = u8(f, i, h + 17);
      const fl = u8(f, i, h + 19);
      const n = ver === V1 && fl & V1_FLAG_ENC ? -2 : walkChain(f, i, h, ver);
      const j = findRequest(f, i, h, ver);
      let out: Evidence[] | null = null;
      if (n > 0) {
        out = [
          {
            source: 'ike', protocol: 'ipsec', strength: 'strong', rule: 'ike.message', packet: i, offset: h,
            reason: `packet ${i}: ${headerText(f, i, h, ver)}, payload chain ${chainText(f, i, h, ver)} (${n} payloads) sums to ${len - h}`,
          },
        ];
      } else if (n === -2 ? paddedV1Body(len - h) : f.avail(i) < len) {
        out = [
          {
            source: 'ike', protocol: 'ipsec', strength: 'medium', rule: 'ike.header', packet: i, offset: h,
            reason: `packet ${i}: ${headerText(f, i, h, ver)}; ${n === -2 ? `encrypted body of ${len - h - IKE_HEADER_LEN} bytes (multiple of 8), chain not walkable` : `only ${f.avail(i)} of ${len} bytes captured, chain not walked`}`,
          },
        ];
        // The second encrypted message of one IKEv1 SA (once per flow: exactly one before this one).
        if (n === -2 && !(eq32(f, i, h + 8, 0) && eq32(f, i, h + 12, 0)) && sameV1SaBefore(f, i, h) === 1) {
          out.push({
            source: 'ike', protocol: 'ipsec', strength: 'strong', rule: 'ike.v1-sa', packet: i, offset: h,
            reason: `packet ${i}${f.dir(i) ? ' (reverse)' : ''}: a second IKEv1 encrypted message (exchange ${X_NAMES[u8(f, i, h + 18)] ?? u8(f, i, h + 18)}, message id ${u32be(f, i, h + 20)}) on SPI pair ${hex32(u32be(f, i, h))}${hex32(u32be(f, i, h + 4))}/${hex32(u32be(f, i, h + 8))}${hex32(u32be(f, i, h + 12))}, as an earlier one of this flow`,
          });
        }
      }
      if (j >= 0) {
        // Whatever the walk gave, the header checks passed; the 64-bit SPI echo decides.
        (out ??= []).push({
          source: 'ike', protocol: 'ipsec', strength: 'strong', rule: 'ike.reply', packet: i, offset: h + 8,
          reason: `packet ${j}${f.dir(j) ? ' (reverse)' : ''}: IKEv${ver === V1 ? 1 : 2} initiator SPI ${hex32(u32be(f, j, h))}${hex32(u32be(f, j, h + 4))}, responder SPI ${hex32(u32be(f, j, h + 8))}${hex32(u32be(f, j, h + 12))}; packet ${i}${f.dir(i) ? ' (reverse)' : ''}: initiator SPI echoed, responder SPI ${hex32(u32be(f, i, h + 8))}${hex32(u32be(f, i, h + 12))} set, message id ${u32be(f, i, h + 20)} equal${ver === V2 ? ', response flag on one side only' : ''}, length ${len - h} == UDP payload`,
        });
      }
      return out;
    }
    if (!isNattFlow(f)) return null;
    if (len === 1) {
      if (u8(f, i, 0) !== 0xff) return null;
      for (let j = 0; j < i; j++) if (f.len(j) === 1 && u8(f, j, 0) === 0xff) return null;
      return [
        {
          source: 'ike', protocol: 'ipsec', strength: 'weak', rule: 'natt.keepalive', packet: i, offset: 0,
          reason: `packet ${i}: single byte 0xFF on UDP ${NATT_PORT} (NAT-keepalive, RFC 3948 §2.3)`,
        },
      ];
    }
    const d = f.dir(i);
    const run = espSeqRun(f, i, d, 0, true, undefined, NATT_SPAN);
    if (run !== ESP_STRONG_RUN || channelDataRun(f, i, d, run)) return null;
    return [
      {
        source: 'ike', protocol: 'ipsec', strength: 'strong', rule: 'natt.esp', packet: i, offset: 0,
        reason: `${run} ESP-in-UDP packets ${dirText(d)} on UDP ${NATT_PORT} up to packet ${i}: constant SPI 0x${hex32(u32be(f, i, 0))} (≥ 256), ${seqRunText(run, NATT_SPAN)}`,
      },
    ];
  },
  /**
   * Off UDP 4500 (where ESP-in-UDP and keepalives share the port), an IKE flow carries ISAKMP messages: a 28-byte
   * header whose version byte (offset 17) has major version 1 or 2, at offset 0 or behind a zero non-ESP marker.
   * Anything else excludes the flow. Trade-off: a NAT-T port other than 4500 also carries ESP; a capture that joins
   * such a flow mid-stream loses the IKE rules there (its ESP is read by no rule off 4500 either).
   */
  excludes(f: FlowView): boolean {
    if (isNattFlow(f)) return false;
    const i = f.nPackets - 1, len = f.len(i);
    if (len < IKE_HEADER_LEN) return true;
    if (f.avail(i) < 18) return false;
    if (isIkeVersion(u8(f, i, 17))) return false;
    if (!eq32(f, i, 0, 0) || len < NON_ESP_MARKER_LEN + IKE_HEADER_LEN) return true;
    if (f.avail(i) < 22) return false;
    return !isIkeVersion(u8(f, i, 21));
  },
};
