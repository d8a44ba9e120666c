/**
 * L2TP (spec: ../shared/reference/parts/2-ipsec-l2tp-pptp.md §L2TP; RFC 2661 §3–4, §6; RFC 3931 §4.1).
 *
 * Owns: L2TPv2 control and data headers over UDP (usually 1701), the mandatory Message Type AVP, the AVP walk,
 * the Ns/Nr acknowledgement relation between the two directions, data-session runs carrying PPP, the PPP control
 * packet inside a lone data message (RFC 1661 §5: LCP, and the NCPs sharing its packet format), and L2TPv3
 * control messages over UDP and over IP protocol 115. Must never: key on the port, allocate when nothing
 * matches. L2TP/IPsec (the common deployment) is invisible here: it is ESP/IKE and detected as IPsec.
 *
 * Offsets read from earlier packets (first ~48 bytes kept): v2 control header 0–11 and Message Type AVP 12–19;
 * v2 data header 0–(6 + 2 + 4 + 2 + offset size) and the PPP bytes after it — `FF 03` + protocol (4 bytes), or
 * for a compressed frame the protocol field and the inner packet's first 4 (IPv4, PPP control) or 6 (IPv6) bytes;
 * the data rules require them within 48 bytes. AVP walks and the PPP control packet walk run only on the newest
 * packet, which is whole.
 *
 * Compressed PPP frames (RFC 1661 §6.5 PFC, §6.6 ACFC; pppd negotiates both by default): after LCP the address and
 * control fields `FF 03` may be left out and a protocol below 0x100 sent as one octet (RFC 1661 §2: protocol values
 * are odd with an even high octet, so an odd first octet is a 1-octet field). L2TP carries the frame as the PPP
 * endpoint built it: Linux's kernel data path always prepends `FF 03` itself, but a userspace LAC/LNS (xl2tpd on a
 * pty) forwards pppd's compressed frames unchanged (and the Linux receive path strips `FF 03` only when present,
 * so both forms are legal on the wire). Such a frame is accepted only when the protocol is in the data
 * set (IPv4, IPv6, IPCP, IPv6CP, CCP, PAP, CHAP, EAP — never LCP, which is always sent whole) and the inner packet's
 * own length field equals the bytes that remain (IPv4 total length; IPv6 payload length + 40; a PPP control packet's
 * length, with a code defined for its protocol): with the protocol alone a 1-octet field would be ~2^-7 of
 * structure where `FF 03` + protocol has ~2^-29. A compressed datagram (0x00FD) has no length to check and is not
 * accepted compressed. See test/detect/l2tp-random.property.test.ts for the bound and the measured rates.
 *
 * Strengths: `l2tp.control`, `l2tp.v3-control`, `l2tp.ack`, `l2tp.data-session` and `l2tp.data-ppp` strong;
 * `l2tp.zlb` and `l2tp.data` medium. A run (`l2tp.data-session`, the reference's "≥ 2 packets" row) counts
 * compressed frames like whole ones: per packet each passes random bytes with probability ≤ 2^-39.5, `FF 03` +
 * protocol ≤ 2^-40.7, and the second one must repeat the first's 32-bit tunnel/session ids, so two of one session
 * are strong either way; one compressed message alone stays medium, as one whole one does.
 * `l2tp.data-ppp` is the reference's "consistent inner chain" (part 2 §L2TP, and
 * RFC 1661 §5): a data header with its fixed bits (12), `FF 03`, one of four PPP control protocols, a code known for
 * that protocol, a 16-bit length equal to the bytes that remain, and for Configure-* codes an option list whose
 * lengths end exactly there — random bytes pass with probability below 2^-62 (test/detect/ipsec-random.property.test.ts).
 * L2TP carries PPP without HDLC framing or FCS (RFC 2661 §3.1), so the control packet ends with the datagram.
 */
import { u8, u16be, type Detector, type Evidence, type FlowView, IPPROTO_UDP } from './types.js';
import { dirText } from './esp.js';

export const L2TP_PORT = 1701;
/** L2TPv3 directly over IP (RFC 3931 §4.1.1). */
export const IPPROTO_L2TP = 115;
const KEEP = 48;
const T = 0x8000, L = 0x4000, S = 0x0800, O = 0x0200;
const RESERVED_BITS = 0x34f0; // the x bits of `T L x x S x O P x x x x Ver`
const CONTROL_V2 = 0xc802, CONTROL_V3 = 0xc803;
const CONTROL_HDR = 12; // flags, length, tunnel, session, Ns, Nr (v2); flags, length, connection id (4), Ns, Nr (v3)
const ZLB_LEN = 12;
const DATA_STRONG_RUN = 2;

const MSG_NAMES: Readonly<Record<number, string>> = {
  1: 'SCCRQ', 2: 'SCCRP', 3: 'SCCCN', 4: 'StopCCN', 6: 'HELLO', 7: 'OCRQ', 8: 'OCRP', 9: 'OCCN', 10: 'ICRQ', 11: 'ICRP',
  12: 'ICCN', 14: 'CDN', 15: 'WEN', 16: 'SLI', 20: 'ACK',
};
function isMsgType(t: number, v3: boolean): boolean {
  return (t >= 1 && t <= 4) || (t >= 6 && t <= 12) || (t >= 14 && t <= 16) || (v3 && t === 20);
}
const PPP_LCP = 0xc021, PPP_IPCP = 0x8021, PPP_IPV6CP = 0x8057, PPP_CCP = 0x80fd;
const PPP_NAMES: Readonly<Record<number, string>> = { [PPP_LCP]: 'LCP', [PPP_IPCP]: 'IPCP', [PPP_IPV6CP]: 'IPv6CP', [PPP_CCP]: 'CCP' };
const PPP_CODE_NAMES: Readonly<Record<number, string>> = {
  1: 'Configure-Request', 2: 'Configure-Ack', 3: 'Configure-Nak', 4: 'Configure-Reject', 5: 'Terminate-Request',
  6: 'Terminate-Ack', 7: 'Code-Reject', 8: 'Protocol-Reject', 9: 'Echo-Request', 10: 'Echo-Reply', 11: 'Discard-Request',
  14: 'Reset-Request', 15: 'Reset-Ack',
};

/**
 * Length of the PPP control packet (RFC 1661 §5: code, identifier, length, data) of protocol `proto` at offset `p`
 * of the newest packet i when it is consistent — a code that protocol defines, the length field equal to the bytes
 * that remain (≥ the code's minimum), and for Configure-* codes options (type, length ≥ 2) that end exactly at the
 * end — else -1. LCP has codes 1–11 (Echo/Discard carry a 4-byte magic number, Protocol-Reject a protocol field);
 * IPCP (RFC 1332), IPv6CP (RFC 5072) and CCP (RFC 1962, plus Reset-Request/Ack 14–15) have codes 1–7.
 */
function pppControlLen(f: FlowView, i: number, p: number, proto: number): number {
  const end = f.len(i);
  if (f.avail(i) < end || p + 4 > end) return -1;
  const code = u8(f, i, p), len = u16be(f, i, p + 2);
  if (len !== end - p) return -1;
  let min = 4;
  if (proto === PPP_LCP) {
    if (code < 1 || code > 11) return -1;
    if (code >= 9) min = 8;
    else if (code === 8) min = 6;
  } else if (!((code >= 1 && code <= 7) || (proto === PPP_CCP && (code === 14 || code === 15)))) return -1;
  if (code === 7) min = 8; // Code-Reject carries at least the rejected packet's header
  if (len < min) return -1;
  if (code <= 4) {
    let o = p + 4;
    while (o < end) {
      if (o + 2 > end) return -1;
      const ol = u8(f, i, o + 1);
      if (ol < 2 || o + ol > end) return -1;
      o += ol;
    }
  }
  return len;
}

const PPP_IPV4 = 0x0021, PPP_IPV6 = 0x0057, PPP_COMP = 0x00fd, PPP_PAP = 0xc023, PPP_CHAP = 0xc223, PPP_EAP = 0xc227;
const PPP_AC = 0xff03; // address 0xFF (all stations), control 0x03 (UI): RFC 1662 §3.1
const PPP_DATA_NAMES: Readonly<Record<number, string>> = {
  ...PPP_NAMES, [PPP_IPV4]: 'IPv4', [PPP_IPV6]: 'IPv6', [PPP_COMP]: 'compressed datagram', [PPP_PAP]: 'PAP', [PPP_CHAP]: 'CHAP', [PPP_EAP]: 'EAP',
};

/** PPP protocols a data message starts with: IPv4, IPv6, LCP, IPCP, IPv6CP, PAP, CHAP, CCP, compressed datagram, EAP. */
function isPppProto(p: number): boolean {
  return p === 0x0021 || p === 0x0057 || p === 0xc021 || p === 0x8021 || p === 0x8057 || p === 0xc023 || p === 0xc223 || p === 0x80fd || p === 0x00fd || p === 0xc227;
}

/**
 * Header length of the PPP frame at offset o of packet i — 4: `FF 03` + 2-octet protocol; 3: `FF 03` + 1 octet
 * (PFC); 2: 2 octets (ACFC); 1: the protocol octet alone (ACFC + PFC) — or -1 when it is no acceptable frame.
 * Whole frames need a protocol from the set; compressed ones also an inner packet consistent with the datagram
 * (`compressedInnerOk`), and never LCP (RFC 1661 §6.5, §6.6) or a compressed datagram.
 */
function pppHdrLen(f: FlowView, i: number, o: number): number {
  const ac = u16be(f, i, o) === PPP_AC ? 2 : 0;
  const b = u8(f, i, o + ac);
  if (b < 0) return -1;
  const h = ac + (b & 1 ? 1 : 2);
  const proto = b & 1 ? b : u16be(f, i, o + ac);
  if (h === 4) return o + 4 <= KEEP && isPppProto(proto) ? 4 : -1;
  if (proto === PPP_LCP || proto === PPP_COMP || !isPppProto(proto)) return -1;
  return compressedInnerOk(f, i, o + h, proto) ? h : -1;
}

/** Protocol number of the frame at o whose header length is h (from `pppHdrLen`). */
function pppProtoOf(f: FlowView, i: number, o: number, h: number): number {
  return h & 1 ? u8(f, i, o + h - 1) : u16be(f, i, o + h - 2);
}

/**
 * The packet behind a compressed protocol field at offset q must fill the datagram exactly by its own length field:
 * IPv4 version 4, IHL ≥ 5, total length == bytes remaining (RFC 791); IPv6 version 6, payload length + 40 == bytes
 * remaining (RFC 8200); a PPP control packet (RFC 1661 §5 layout: code, identifier, length) with a code its protocol
 * defines — IPCP/IPv6CP 1–7, CCP 1–7 and 14–15 (RFC 1962), PAP 1–3 (RFC 1334), CHAP 1–4 (RFC 1994), EAP 1–4
 * (RFC 3748) — and length == bytes remaining. The tunnel endpoint strips the HDLC flags, escapes and FCS before
 * sending (xl2tpd's pty reader drops them; Linux's pppol2tp sends the bare frame), and pppd does not pad (RFC 1661
 * §2 allows padding but no implementation seen uses it), so the inner packet ends with the datagram. Reads q..q+5
 * at most, within the kept 48 bytes.
 */
function compressedInnerOk(f: FlowView, i: number, q: number, proto: number): boolean {
  const rem = f.len(i) - q;
  const v = u8(f, i, q);
  if (proto === PPP_IPV4) return q + 4 <= KEEP && v >> 4 === 4 && (v & 15) >= 5 && rem >= (v & 15) * 4 && u16be(f, i, q + 2) === rem;
  if (proto === PPP_IPV6) {
    const pl = u16be(f, i, q + 4); // -1 when not captured: must not pass for a 39-byte remainder
    return q + 6 <= KEEP && v >> 4 === 6 && pl >= 0 && pl + 40 === rem;
  }
  if (q + 4 > KEEP || rem < 4 || u16be(f, i, q + 2) !== rem) return false;
  if (proto === PPP_PAP) return v >= 1 && v <= 3;
  if (proto === PPP_CHAP || proto === PPP_EAP) return v >= 1 && v <= 4;
  return (v >= 1 && v <= 7) || (proto === PPP_CCP && (v === 14 || v === 15));
}

/** Evidence text for the PPP frame at o (built once per flow, when an item is made). */
function pppText(f: FlowView, i: number, o: number, h: number): string {
  const proto = pppProtoOf(f, i, o, h);
  if (h === 4) return `PPP frame FF 03 ${proto.toString(16).padStart(4, '0')} at offset ${o}`;
  const form = h === 1 ? 'ACFC+PFC' : h === 2 ? 'ACFC' : 'PFC';
  const field = h & 1 ? proto.toString(16).padStart(2, '0') : proto.toString(16).padStart(4, '0');
  const q = o + h, rem = f.len(i) - q;
  const inner =
    proto === PPP_IPV4 ? `IPv4 total length ${rem} == the ${rem} bytes remaining`
    : proto === PPP_IPV6 ? `IPv6 payload length ${rem - 40} + 40 == the ${rem} bytes remaining`
    : `code ${u8(f, i, q)}, length ${rem} == the ${rem} bytes remaining`;
  return `PPP ${PPP_DATA_NAMES[proto]} (${form}): ${h === 3 ? 'FF 03, ' : ''}protocol ${field} at offset ${o}${h < 3 ? ' without FF 03' : ''}, ${inner}`;
}

/**
 * Control message at offset `b` (0 for v2/v3 over UDP, 4 for v3 over IP after the zero session id) of packet i:
 * flags word C802/C803, length == payload − b, then either a ZLB (length 12) or the Message Type AVP
 * `80 08 00 00 00 00 00 TT` with a known type. Returns the message type, 0 for a ZLB, -1 otherwise.
 * Reads bytes b..b+19.
 */
function controlAt(f: FlowView, i: number, b: number, word: number): number {
  if (u16be(f, i, b) !== word) return -1;
  const len = u16be(f, i, b + 2);
  if (len !== f.len(i) - b || len < CONTROL_HDR) return -1;
  if (len === ZLB_LEN) return 0;
  if (u16be(f, i, b + 12) !== 0x8008 || u16be(f, i, b + 14) !== 0 || u16be(f, i, b + 16) !== 0) return -1;
  const t = u16be(f, i, b + 18);
  return isMsgType(t, word === CONTROL_V3) ? t : -1;
}

/** AVP walk of the newest packet from offset o: AVP count when the 10-bit lengths (≥ 6) sum exactly to the end, else -1. */
function walkAvps(f: FlowView, i: number, o: number): number {
  const end = f.len(i);
  if (f.avail(i) < end) return -1;
  let n = 0;
  while (o < end) {
    if (o + 6 > end) return -1;
    const w = u16be(f, i, o);
    const alen = w & 0x3ff;
    if ((w & 0x3c00) !== 0 || alen < 6 || o + alen > end) return -1; // 4 reserved bits zero
    o += alen;
    n++;
  }
  return n;
}

/** Offset of the PPP frame in a v2 data message, or -1 (reserved bits zero, version 2, T = 0, length == payload if L). */
function dataPppOffset(f: FlowView, i: number): number {
  const w = u16be(f, i, 0);
  if (w < 0 || (w & (T | RESERVED_BITS | 0x000f)) !== 2) return -1;
  let o = 2;
  if (w & L) {
    if (u16be(f, i, 2) !== f.len(i)) return -1;
    o += 2;
  }
  o += 4; // tunnel id, session id
  if (w & S) o += 4;
  if (w & O) {
    const pad = u16be(f, i, o);
    if (pad < 0) return -1;
    o += 2 + pad;
  }
  return pppHdrLen(f, i, o) > 0 ? o : -1;
}

function ids(f: FlowView, i: number): number {
  const o = u16be(f, i, 0) & L ? 4 : 2;
  return ((u16be(f, i, o) << 16) | u16be(f, i, o + 2)) >>> 0;
}

export const l2tp: Detector = {
  id: 'l2tp',
  transports: [IPPROTO_UDP, IPPROTO_L2TP],
  carriers: [],
  maxPackets: 8,
  rules: {
    'l2tp.control':
      'L2TPv2 control message: flags/version C802 (T,L,S set; O,P,reserved clear; version 2), length == UDP payload, first AVP Message Type (80 08 00 00 00 00 00 TT) with a known type, AVP lengths sum to the end',
    'l2tp.v3-control': 'L2TPv3 control message: C803, length == payload, Message Type AVP first with a known type (over UDP, or over IP 115 after a zero session id)',
    'l2tp.ack':
      'control messages in both directions: one side’s Nr acknowledges the other side’s Ns (Nr = Ns + 1), headers valid on both (RFC 2661 §5.8)',
    'l2tp.zlb': 'L2TPv2 zero-length-body acknowledgement: C802 and length 12 == UDP payload (medium)',
    'l2tp.data':
      'L2TPv2 data message (T = 0, version 2, reserved bits clear, length == payload when L) carrying a PPP frame: FF 03 + a PPP protocol, or under ACFC/PFC (RFC 1661 §6.5, §6.6) the protocol field alone (2 octets, or 1 for IPv4/IPv6) followed by an IPv4, IPv6 or PPP control packet whose length field equals the bytes remaining (medium)',
    'l2tp.data-session': '≥2 L2TPv2 data messages in one direction with one tunnel/session id pair, each carrying a PPP frame as l2tp.data accepts it',
    'l2tp.data-ppp':
      'L2TPv2 data message carrying FF 03 + a PPP control packet (LCP, IPCP, IPv6CP, CCP) whose code is defined, whose length field equals the bytes remaining and whose Configure-* options end exactly there (RFC 1661 §5: a consistent inner chain)',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    const len = f.len(i);
    if (f.transport === IPPROTO_L2TP) {
      // Over IP: session id 0 marks a control message (RFC 3931 §4.1.1.2); data sessions are opaque.
      if (u16be(f, i, 0) !== 0 || u16be(f, i, 2) !== 0) return null;
      return v3Control(f, i, 4);
    }
    const w = u16be(f, i, 0);
    if (w === CONTROL_V3) return v3Control(f, i, 0);
    if (w === CONTROL_V2) {
      const t = controlAt(f, i, 0, CONTROL_V2);
      if (t < 0) return null;
      const d = f.dir(i);
      let out: Evidence[] | null = null;
      if (t > 0) {
        const n = walkAvps(f, i, CONTROL_HDR);
        if (n > 0 || f.avail(i) < len) {
          out = [
            {
              source: 'l2tp', protocol: 'l2tp', strength: 'strong', rule: 'l2tp.control', packet: i, offset: 0,
              reason: `packet ${i}: L2TPv2 control header C802, length ${len} == UDP payload, tunnel id ${u16be(f, i, 4)}, session id ${u16be(f, i, 6)}, Ns ${u16be(f, i, 8)}, Nr ${u16be(f, i, 10)}, Message Type AVP ${MSG_NAMES[t]}(${t}) first${n > 0 ? `, ${n} AVPs sum to ${len}` : `, ${f.avail(i)} of ${len} bytes captured`}`,
            },
          ];
        }
      } else {
        out = [
          {
            source: 'l2tp', protocol: 'l2tp', strength: 'medium', rule: 'l2tp.zlb', packet: i, offset: 0,
            reason: `packet ${i}: L2TPv2 ZLB acknowledgement: C802, length 12 == UDP payload, tunnel id ${u16be(f, i, 4)}, Ns ${u16be(f, i, 8)}, Nr ${u16be(f, i, 10)}`,
          },
        ];
      }
      // Ns/Nr: our Nr acknowledges an opposite-direction control message's Ns (or theirs acknowledges ours).
      const ns = u16be(f, i, 8), nr = u16be(f, i, 10);
      for (let j = i - 1; j >= 0; j--) {
        if (f.dir(j) === d || controlAt(f, j, 0, CONTROL_V2) < 0) continue;
        const jns = u16be(f, j, 8), jnr = u16be(f, j, 10);
        const jt = controlAt(f, j, 0, CONTROL_V2);
        // A ZLB carries no Ns of its own to acknowledge; a message type is needed on the acknowledged side.
        const ack = (jt > 0 && nr === ((jns + 1) & 0xffff)) || (t > 0 && jnr === ((ns + 1) & 0xffff));
        if (!ack) continue;
        (out ??= []).push({
          source: 'l2tp', protocol: 'l2tp', strength: 'strong', rule: 'l2tp.ack', packet: i, offset: 8,
          reason: `packet ${j} (${dirText(f.dir(j))}): L2TPv2 control ${jt ? MSG_NAMES[jt] : 'ZLB'}, Ns ${jns}, Nr ${jnr}; packet ${i} (${dirText(d)}): control ${t ? MSG_NAMES[t] : 'ZLB'}, Ns ${ns}, Nr ${nr} — ${jt > 0 && nr === ((jns + 1) & 0xffff) ? `Nr ${nr} acknowledges Ns ${jns}` : `Nr ${jnr} acknowledges Ns ${ns}`}`,
        });
        break;
      }
      return out;
    }
    const o = dataPppOffset(f, i);
    if (o < 0) return null;
    const d = f.dir(i), sid = ids(f, i);
    const h = pppHdrLen(f, i, o);
    const chain = h === 4 ? pppChain(f, i, o) : null;
    let n = 1;
    for (let j = i - 1; j >= 0 && n < DATA_STRONG_RUN + 1; j--) {
      if (f.dir(j) !== d || dataPppOffset(f, j) < 0) continue;
      if (ids(f, j) !== sid) break;
      n++;
    }
    let out: Evidence[] | null = chain;
    if (n === DATA_STRONG_RUN) {
      (out ??= []).push({
        source: 'l2tp', protocol: 'l2tp', strength: 'strong', rule: 'l2tp.data-session', packet: i, offset: 0,
        reason: `${n} L2TPv2 data messages ${dirText(d)} up to packet ${i}: tunnel id ${sid >>> 16}, session id ${sid & 0xffff} constant, each carrying ${h === 4 ? 'FF 03 + PPP protocol' : 'a PPP frame'} (latest ${h === 4 ? `0x${u16be(f, i, o + 2).toString(16).padStart(4, '0')}` : `${PPP_DATA_NAMES[pppProtoOf(f, i, o, h)]} (${h === 1 ? 'ACFC+PFC' : h === 2 ? 'ACFC' : 'PFC'})`})`,
      });
      return out;
    }
    if (n !== 1) return out;
    for (let j = 0; j < i; j++) if (dataPppOffset(f, j) >= 0) return out; // once per flow
    (out ??= []).push({
      source: 'l2tp', protocol: 'l2tp', strength: 'medium', rule: 'l2tp.data', packet: i, offset: o,
      reason: `packet ${i}: L2TPv2 data header 0x${(u16be(f, i, 0)).toString(16).padStart(4, '0')}${u16be(f, i, 0) & L ? `, length ${len} == UDP payload` : ''}, tunnel id ${sid >>> 16}, session id ${sid & 0xffff}, ${pppText(f, i, o, h)}`,
    });
    return out;
  },
  /**
   * UDP: every L2TP message (v2 control and data, v3 over UDP) starts with a 16-bit word whose low nibble is the
   * version, 2 or 3 (RFC 2661 §3.1, RFC 3931 §4.1.2), and the shortest header is 6 bytes. Over IP protocol 115 a
   * data message starts with an opaque session id: never excluded.
   */
  excludes(f: FlowView): boolean {
    if (f.transport !== IPPROTO_UDP) return false;
    const i = f.nPackets - 1;
    if (f.len(i) < 6) return true;
    const v = u8(f, i, 1) & 0x0f;
    return u8(f, i, 1) >= 0 && v !== 2 && v !== 3;
  },
};

/**
 * `l2tp.data-ppp` for the newest packet i, a data message whose PPP frame starts at `o` (FF 03 + protocol): once per
 * flow, on the first data message whose PPP control packet is consistent. Null otherwise (no allocation).
 */
function pppChain(f: FlowView, i: number, o: number): Evidence[] | null {
  const proto = u16be(f, i, o + 2);
  if (proto !== PPP_LCP && proto !== PPP_IPCP && proto !== PPP_IPV6CP && proto !== PPP_CCP) return null;
  const len = pppControlLen(f, i, o + 4, proto);
  if (len < 0) return null;
  // Earlier packets show only their first bytes: a chain seen before is recognised by its protocol and code, as
  // the first item already cited it (the rule fires once per flow).
  for (let j = 0; j < i; j++) {
    const q = dataPppOffset(f, j);
    if (q < 0 || pppHdrLen(f, j, q) !== 4) continue;
    const pj = u16be(f, j, q + 2);
    if ((pj === PPP_LCP || pj === PPP_IPCP || pj === PPP_IPV6CP || pj === PPP_CCP) && u16be(f, j, q + 6) === f.len(j) - q - 4) return null;
  }
  const code = u8(f, i, o + 4);
  return [
    {
      source: 'l2tp', protocol: 'l2tp', strength: 'strong', rule: 'l2tp.data-ppp', packet: i, offset: o,
      reason: `packet ${i}: L2TPv2 data message (header 0x${u16be(f, i, 0).toString(16).padStart(4, '0')}, tunnel id ${u16be(f, i, u16be(f, i, 0) & L ? 4 : 2)}) carrying PPP FF 03 ${PPP_NAMES[proto]} ${PPP_CODE_NAMES[code] ?? code}(${code}), identifier ${u8(f, i, o + 5)}, length ${len} == the ${len} bytes remaining${code <= 4 ? ', options end exactly there' : ''}`,
    },
  ];
}

function v3Control(f: FlowView, i: number, b: number): Evidence[] | null {
  const t = controlAt(f, i, b, CONTROL_V3);
  if (t <= 0) return null;
  const n = walkAvps(f, i, b + CONTROL_HDR);
  if (n <= 0 && f.avail(i) >= f.len(i)) return null;
  return [
    {
      source: 'l2tp', protocol: 'l2tp', strength: 'strong', rule: 'l2tp.v3-control', packet: i, offset: b,
      reason: `packet ${i}: L2TPv3 control header C803${b ? ' after zero session id (IP protocol 115)' : ''}, length ${f.len(i) - b} == payload, control connection id ${((u16be(f, i, b + 4) << 16) | u16be(f, i, b + 6)) >>> 0}, Message Type AVP ${MSG_NAMES[t]}(${t}) first${n > 0 ? `, ${n} AVPs sum to the end` : ''}`,
    },
  ];
}

