/**
 * OpenVPN over UDP and TCP, TLS mode (spec: parts/1-udp-vpns.md §OpenVPN; OpenVPN ssl_pkt.h, reliable.c,
 * tls_crypt.h).
 *
 * Owns: the opcode/key-id header byte, the control-packet layouts of the three wrapping modes (N: none,
 * A: --tls-auth with an H-byte HMAC + replay id + net time, C: --tls-crypt with replay id at 9 and a 32-byte tag),
 * the server reset's ACK echo of the client session id, per-direction session-id repetition with rising replay ids,
 * the tls-crypt-v2 WKc length relation, and P_DATA_V2 peer-id/packet-id runs for flows seen mid-stream.
 * Must never: decide on byte 0 alone (0x38 is 1 in 256 of random payloads), look at HMAC content, or handle
 * scrambled/XOR variants (out of scope by design).
 *
 * TCP: every packet is preceded by a 2-byte BE length. A segment is used only when it starts with a length
 * prefix (`base` = 2); control packets are small and start their own segments in practice.
 *
 * Offsets read from earlier packets (relative to `base`): opcode 0, session id 1–8, mode-N ack count 9 and
 * message id 10–13, mode-C replay id/net time 9–16, mode-A (H ∈ {16,20,32}) replay id/net time 9+H … 16+H (≤ 48 + base
 * only for those H; longer HMACs are checked on the newest packet only), data peer id 1–3 and packet id 4–7.
 */
import { isTurnChannelData } from './lookalikes.js';
import { DIR_FWD, eq32, IPPROTO_TCP, IPPROTO_UDP, sameBytes, u8, u16be, u24be, u32be, type Detector, type Evidence, type FlowView } from './types.js';

const OP_SOFT_RESET = 3, OP_CONTROL = 4, OP_ACK = 5, OP_DATA_V1 = 6, OP_RESET_CLIENT_V2 = 7, OP_RESET_SERVER_V2 = 8;
const OP_DATA_V2 = 9, OP_RESET_CLIENT_V3 = 10, OP_CONTROL_WKC = 11;
const BYTE_RESET_CLIENT_V2 = 0x38, BYTE_RESET_SERVER_V2 = 0x40, BYTE_RESET_CLIENT_V3 = 0x50;
/** tls-auth HMAC lengths (--auth MD5, SHA1, SHA256, SHA384, SHA512). */
const HMAC_LENS = [16, 20, 32, 48, 64] as const;
/** Mode-C header: opcode 1 + session 8 + replay id 4 + net time 4 + tag 32 + ack count 1 + message id 4. */
const CRYPT_RESET_CLIENT_LEN = 54;
const MAX_ACKS = 8;
/** Replay/message ids on the first control packets are small; a wrapped 0x0F000000 marks early negotiation. */
const EARLY_NEG_REPLAY_ID = 0x0f000000;
const SMALL_ID = 0xffff;
/** Data packets: medium at 4 in one direction (consistent key id + peer id + rising ids), strong at 8 in each (spec). */
const DATA_MEDIUM_RUN = 4, DATA_STRONG_RUN = 8;
const MAX_PID_STEP = 16;
/** Replay ids rise by exactly 1 per packet sent; allow a few packets missing from the capture. */
const MAX_REPLAY_STEP = 4;
/** Replay-id offsets: mode C (9), mode A with a 16/20/32-byte HMAC (9 + H); longer HMACs exceed earlier packets' kept bytes. */
const REPLAY_OFFSETS = [9, 25, 29, 41] as const;

function base(f: FlowView): number {
  return f.transport === IPPROTO_TCP ? 2 : 0;
}
/** OpenVPN packet length of packet i (TCP: the length prefix, which must fit in the segment), or -1. */
function plen(f: FlowView, i: number, b: number): number {
  if (b === 0) return f.len(i);
  const l = u16be(f, i, 0);
  return l >= 1 && l + 2 <= f.len(i) ? l : -1;
}
function isControlOp(op: number): boolean {
  return op === OP_SOFT_RESET || op === OP_CONTROL || op === OP_ACK || op === OP_RESET_CLIENT_V2 ||
    op === OP_RESET_SERVER_V2 || op === OP_RESET_CLIENT_V3 || op === OP_CONTROL_WKC;
}
function isClientReset(f: FlowView, i: number, b: number): boolean {
  const x = u8(f, i, b);
  return (x === BYTE_RESET_CLIENT_V2 || x === BYTE_RESET_CLIENT_V3) && plen(f, i, b) >= 14;
}
function ackOffset(mode: number): number {
  return mode === 0 ? 9 : 9 + HMAC_LENS[mode - 1]! + 8;
}
function modeName(mode: number): string {
  return mode === 0 ? 'no tls-auth/tls-crypt' : `tls-auth with ${HMAC_LENS[mode - 1]}-byte HMAC`;
}

export const openvpn: Detector = {
  id: 'openvpn',
  transports: [IPPROTO_UDP, IPPROTO_TCP],
  carriers: [],
  maxPackets: 24,
  rules: {
    'ovpn.reset-echo':
      'server hard reset (0x40) whose ACK array (at the offset of its wrapping mode) names the 8-byte session id of the client hard reset (0x38/0x50)',
    'ovpn.session':
      'control packets starting with a hard reset repeat one 8-byte session id (≥3 in one direction or ≥2 in each) with a consistent mode-N/A/C layout (ack count, rising replay ids, constant net time)',
    'ovpn.crypt-v2': 'tls-crypt-v2 client reset (0x50): trailing 2-byte WKc length = packet length − 54, replay id 0x0F000000 or small',
    'ovpn.reset': 'lone client hard reset V2 (0x38) whose length and zero ack count / message id fit one wrapping mode',
    'ovpn.server-reset': 'lone server hard reset (0x40) acknowledging packet id 0 with a length that fits its ACK array',
    'ovpn.data':
      'data packets in one direction with one key id and rising AEAD packet ids: P_DATA_V2 (0x48-0x4F, constant 3-byte peer id) medium at 4 (once per flow), strong at 8 in each direction; P_DATA_V1 (0x30-0x37) weak at 4',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    const b = base(f);
    const x = u8(f, i, b);
    if (x < 0) return null;
    const op = x >> 3;
    if (op === OP_DATA_V2 || op === OP_DATA_V1) return dataRule(f, i, b, x);
    if (!isControlOp(op)) return null;
    const pl = plen(f, i, b);
    if (pl < 0) {
      // TCP: a control packet longer than this segment continues in the next one; only the session-id
      // repetition can be checked on its head.
      if (b === 0 || u16be(f, i, 0) < 1) return null;
      const sess = sessionRule(f, i, b);
      return sess === null ? null : [sess];
    }
    const d = f.dir(i);
    // Nothing is allocated unless a rule matches: each rule returns one item or null.
    const echo = x === BYTE_RESET_SERVER_V2 ? echoRule(f, i, b, pl) : null;
    const session = sessionRule(f, i, b);
    if (echo !== null || session !== null) return echo !== null && session !== null ? [echo, session] : [(echo ?? session)!];
    // A lone reset is only medium evidence; on TCP its segment must hold exactly that one packet.
    if (b !== 0 && f.len(i) !== pl + 2) return null;
    let lone: Evidence | null = null;
    if (x === BYTE_RESET_CLIENT_V3) lone = cryptV2Rule(f, i, b, pl);
    else if (x === BYTE_RESET_CLIENT_V2 && firstWithByte(f, i, b, x)) lone = loneClientReset(f, i, b, pl);
    else if (x === BYTE_RESET_SERVER_V2 && firstWithByte(f, i, b, x) && !anyClientReset(f, i, b, 1 - d)) lone = loneServerReset(f, i, b, pl);
    return lone === null ? null : [lone];
  },
  /**
   * UDP: every datagram is one OpenVPN packet whose byte 0 holds an opcode 1–11 (opcodes 0 and 12–31 are invalid),
   * so byte 0 outside 08–5F is not OpenVPN. TCP: never excluded (a segment need not start a packet).
   */
  excludes(f: FlowView): boolean {
    if (f.transport !== IPPROTO_UDP) return false;
    const x = u8(f, f.nPackets - 1, 0);
    if (x < 0) return false;
    const op = x >> 3;
    return op < 1 || op > OP_CONTROL_WKC;
  },
};

function firstWithByte(f: FlowView, i: number, b: number, x: number): boolean {
  for (let j = 0; j < i; j++) if (u8(f, j, b) === x) return false;
  return true;
}
function anyClientReset(f: FlowView, before: number, b: number, dir: number): boolean {
  for (let j = 0; j < before; j++) if (f.dir(j) === dir && isClientReset(f, j, b)) return true;
  return false;
}

/** Strong: the server reset's ACK array carries the client session id (64-bit echo). */
function echoRule(f: FlowView, i: number, b: number, pl: number): Evidence | null {
  const d = f.dir(i);
  for (let j = 0; j < i; j++) {
    if (f.dir(j) === d || !isClientReset(f, j, b)) continue;
    for (let mode = 0; mode <= HMAC_LENS.length; mode++) {
      const a = ackOffset(mode);
      const n = u8(f, i, b + a);
      if (n < 1 || n > MAX_ACKS) continue;
      const rs = a + 1 + 4 * n;
      if (rs + 8 + 4 > pl) continue; // remote session id + message packet id must fit
      if (!sameBytes(f, i, b + rs, j, b + 1, 8)) continue;
      return {
        source: 'openvpn', protocol: 'openvpn', strength: 'strong', rule: 'ovpn.reset-echo', packet: i, offset: b + rs,
        reason: `packet ${j}: client hard reset 0x${u8(f, j, b).toString(16)} with session id ${hexBytes(f, j, b + 1, 8)}; packet ${i}${d === DIR_FWD ? '' : ' (reverse)'}: server hard reset 0x40 (${modeName(mode)}), ${n} ACK(s) at offset ${b + a}, remote session id at offset ${b + rs} echoes it`,
      };
    }
  }
  return null;
}

/**
 * Counts control packets of direction `dir` in [0, upTo] that repeat the session id of the direction's first
 * packet, which must be the hard reset for that side. Returns -1 when the first packet is not a reset, or the
 * count when at least one wrapping-mode layout holds over the counted packets (see `layoutOk`).
 */
function sessionCount(f: FlowView, upTo: number, b: number, dir: number): number {
  let k0 = -1, n = 0;
  for (let j = 0; j <= upTo; j++) {
    if (f.dir(j) !== dir) continue;
    const x = u8(f, j, b);
    if (k0 < 0) {
      // Either side's hard reset opens the run (a capture may see only the server side, or swap the initiator).
      const ok = x === BYTE_RESET_CLIENT_V2 || x === BYTE_RESET_CLIENT_V3 || x === BYTE_RESET_SERVER_V2;
      if (!ok || plen(f, j, b) < 14) return -1;
      k0 = j;
      n = 1;
      continue;
    }
    const op = x >> 3;
    if (op === OP_DATA_V1 || op === OP_DATA_V2) continue;
    // TCP: a segment may continue a packet from an earlier segment (its first bytes are then arbitrary) or
    // start a packet that continues in the next one; count it only when opcode and session id both fit.
    if (b !== 0 && (!isControlOp(op) || u16be(f, j, 0) < 1 || !sameBytes(f, j, b + 1, k0, b + 1, 8))) continue;
    if (!isControlOp(op) || op === OP_RESET_SERVER_V2 || op === OP_RESET_CLIENT_V2 || op === OP_RESET_CLIENT_V3) {
      // a retransmitted reset is the same session; anything else breaks the run
      if (x === u8(f, k0, b) && sameBytes(f, j, b + 1, k0, b + 1, 8)) continue;
      return n;
    }
    if ((b === 0 && plen(f, j, b) < 0) || !sameBytes(f, j, b + 1, k0, b + 1, 8)) return n;
    n++;
  }
  return n >= 2 && layoutOk(f, upTo, b, dir, k0) ? n : n >= 2 ? -1 : n;
}

/**
 * Mode N: the reset's ack count is a valid 0–8 (0 for the client) and every counted packet's byte 9 is ≤ 8.
 * Mode C / A(H ∈ 16, 20, 32): replay ids at 9 (+H) rise by 1 (up to 4 when packets are missing) between counted packets after the
 * reset and the net time at 13 (+H) is one constant. Any one mode holding is enough.
 */
function layoutOk(f: FlowView, upTo: number, b: number, dir: number, k0: number): boolean {
  for (let m = 0; m < REPLAY_OFFSETS.length; m++) {
    const off = REPLAY_OFFSETS[m]!;
    let ok = true, prev = -1, nt = -2, steps = 0;
    for (let j = k0; j <= upTo && ok; j++) {
      if (f.dir(j) !== dir) continue;
      const op = u8(f, j, b) >> 3;
      if (!isControlOp(op) || !sameBytes(f, j, b + 1, k0, b + 1, 8)) continue;
      const rid = u32be(f, j, b + off), t = u32be(f, j, b + off + 4);
      if (rid < 0) ok = false;
      else {
        // net time: constant per session (unknown when beyond the kept bytes of an earlier packet)
        if (t >= 0) {
          if (nt === -2) nt = t;
          else if (t !== nt) ok = false;
        }
        // replay id +1 per packet; the early-negotiation marker 0x0F000000 on the reset is not part of the run
        if (j !== k0 && !(prev === EARLY_NEG_REPLAY_ID)) {
          const step = rid - prev;
          if (step < 1 || step > MAX_REPLAY_STEP) ok = false; // +1 per packet; a few lost in the capture
          else steps++;
        }
        prev = rid;
      }
    }
    if (ok && steps >= 1) return true;
  }
  // Mode N
  const a0 = u8(f, k0, b + 9);
  const client = u8(f, k0, b) !== BYTE_RESET_SERVER_V2;
  if (a0 < 0 || a0 > MAX_ACKS || (client && (a0 !== 0 || u32be(f, k0, b + 10) !== 0)) || (!client && a0 === 0)) return false;
  for (let j = k0 + 1; j <= upTo; j++) {
    if (f.dir(j) !== dir) continue;
    const op = u8(f, j, b) >> 3;
    if (!isControlOp(op) || !sameBytes(f, j, b + 1, k0, b + 1, 8)) continue;
    const a = u8(f, j, b + 9);
    if (a < 0 || a > MAX_ACKS) return false;
  }
  return true;
}

/** The session rule's threshold: three packets in one direction, or two in each. */
function holds(p: number, q: number): boolean {
  return p >= 3 || q >= 3 || (p >= 2 && q >= 2);
}

function sessionRule(f: FlowView, i: number, b: number): Evidence | null {
  const d = f.dir(i);
  const nd = sessionCount(f, i, b, d);
  if (nd < 2) return null;
  const ndPrev = sessionCount(f, i - 1, b, d);
  const no = sessionCount(f, i, b, 1 - d);
  if (!holds(nd, no) || holds(ndPrev, no)) return null;
  return {
    source: 'openvpn', protocol: 'openvpn', strength: 'strong', rule: 'ovpn.session', packet: i, offset: b + 1,
    reason: `${nd} control packets ${d === DIR_FWD ? 'initiator→responder' : 'responder→initiator'} up to packet ${i} start with a hard reset and repeat session id ${hexBytes(f, i, b + 1, 8)} at offset ${b + 1}${no >= 2 ? `; ${no} packets of the other direction repeat their own session id` : ''}; ack-count/replay-id layout consistent`,
  };
}

function cryptV2Rule(f: FlowView, i: number, b: number, pl: number): Evidence | null {
  if (pl < CRYPT_RESET_CLIENT_LEN + 2 || f.avail(i) < b + pl) return null;
  const wkc = u16be(f, i, b + pl - 2);
  if (wkc !== pl - CRYPT_RESET_CLIENT_LEN || !(eq32(f, i, b + 9, EARLY_NEG_REPLAY_ID) || smallIdAt(f, i, b + 9))) return null;
  const rid = u32be(f, i, b + 9);
  return {
    source: 'openvpn', protocol: 'openvpn', strength: 'strong', rule: 'ovpn.crypt-v2', packet: i, offset: b + pl - 2,
    reason: `packet ${i}: tls-crypt-v2 client hard reset 0x50, length ${pl}, trailing WKc length ${wkc} = ${pl} − 54, replay id 0x${rid.toString(16)}`,
  };
}

function loneClientReset(f: FlowView, i: number, b: number, pl: number): Evidence | null {
  let mode = '';
  if (pl === 14 && u8(f, i, b + 9) === 0 && eq32(f, i, b + 10, 0)) mode = 'no tls-auth/tls-crypt (14 bytes, 0 ACKs, message id 0)';
  else if (pl === CRYPT_RESET_CLIENT_LEN && smallIdAt(f, i, b + 9)) mode = 'tls-crypt (54 bytes, small replay id)';
  if (mode === '') {
    for (let m = 0; m < HMAC_LENS.length; m++) {
      const h = HMAC_LENS[m]!;
      if (pl === 14 + h + 8 && smallIdAt(f, i, b + 9 + h) && u8(f, i, b + 17 + h) === 0 && eq32(f, i, b + 18 + h, 0)) {
        mode = `tls-auth with ${h}-byte HMAC (${pl} bytes, replay id ${u32be(f, i, b + 9 + h)}, 0 ACKs, message id 0)`;
        break;
      }
    }
  }
  if (mode === '') return null;
  return {
    source: 'openvpn', protocol: 'openvpn', strength: 'medium', rule: 'ovpn.reset', packet: i, offset: b,
    reason: `packet ${i}: client hard reset V2 0x38 (opcode 7, key id 0), session id ${hexBytes(f, i, b + 1, 8)}, layout ${mode}; no server reset seen yet`,
  };
}

function loneServerReset(f: FlowView, i: number, b: number, pl: number): Evidence | null {
  for (let mode = 0; mode <= HMAC_LENS.length; mode++) {
    const a = ackOffset(mode);
    const n = u8(f, i, b + a);
    if (n < 1 || n > MAX_ACKS || !eq32(f, i, b + a + 1, 0)) continue;
    const end = a + 1 + 4 * n + 8 + 4;
    if (pl !== end && pl !== end + 6) continue; // optional EARLY_NEG TLV (6 bytes)
    if (mode > 0 && !smallIdAt(f, i, b + 9 + HMAC_LENS[mode - 1]!)) continue;
    return {
      source: 'openvpn', protocol: 'openvpn', strength: 'medium', rule: 'ovpn.server-reset', packet: i, offset: b + a,
      reason: `packet ${i}: server hard reset 0x40 (${modeName(mode)}), ${n} ACK(s) at offset ${b + a} acknowledging packet id 0, length ${pl} fits; client reset not seen`,
    };
  }
  return null;
}

/**
 * The 32-bit word at k of packet i is a small replay id (1..SMALL_ID). Read in place, not through u32be (see eq32):
 * these checks meet every UDP packet whose first byte looks like a reset opcode.
 */
function smallIdAt(f: FlowView, i: number, k: number): boolean {
  if (k + 4 > f.avail(i)) return false;
  const bi = f.buf(i), o = f.start(i) + k;
  const v = ((bi[o]! << 24) | (bi[o + 1]! << 16) | (bi[o + 2]! << 8) | bi[o + 3]!) >>> 0;
  return v >= 1 && v <= SMALL_ID;
}

/**
 * Run of data packets in direction `dir` with header byte `x` (one key id): P_DATA_V2 with a constant 24-bit peer
 * id and the AEAD packet id at 4; P_DATA_V1 with the AEAD packet id at 1 (no peer id). Packet ids rise by 1–16.
 * A UDP run of which every packet is TURN ChannelData (lookalikes.ts) is no run (-1): relayed RTP on a channel
 * 0x48xx–0x4Fxx has this run's shape, its "peer id" low 16 bits being the data's length. An OpenVPN peer id is the
 * server's 24-bit index of the client, constant while the lengths of data packets vary.
 */
function dataRun(f: FlowView, upTo: number, b: number, dir: number, x: number): number {
  const v2 = x >> 3 === OP_DATA_V2;
  let n = 0, peer = -1, prev = 0;
  let channelData = v2 && f.transport === IPPROTO_UDP;
  for (let j = 0; j <= upTo; j++) {
    if (f.dir(j) !== dir || u8(f, j, b) !== x) continue;
    // The packet id read in place, not through u32be (see eq32): this runs for every packet whose first byte looks
    // like a data opcode.
    const at = b + (v2 ? 4 : 1);
    if (at + 4 > f.avail(j)) return -1;
    const p = v2 ? u24be(f, j, b + 1) : 0;
    const bj = f.buf(j), o = f.start(j) + at;
    const pid = ((bj[o]! << 24) | (bj[o + 1]! << 16) | (bj[o + 2]! << 8) | bj[o + 3]!) >>> 0;
    if (p < 0) return -1;
    if (n > 0) {
      if (p !== peer) {
        if (b !== 0) continue; // TCP: a segment that does not start at a packet boundary
        return -1;
      }
      const step = pid - prev;
      if (step < 1 || step > MAX_PID_STEP) {
        if (b !== 0) continue;
        return -1;
      }
    }
    peer = p;
    prev = pid;
    n++;
    if (channelData && !isTurnChannelData(f, j)) channelData = false;
  }
  return channelData && n > 0 ? -1 : n;
}

function dataRule(f: FlowView, i: number, b: number, x: number): Evidence[] | null {
  const d = f.dir(i);
  const v2 = x >> 3 === OP_DATA_V2;
  const n = dataRun(f, i, b, d, x);
  if (n !== DATA_MEDIUM_RUN && n !== DATA_STRONG_RUN) return null;
  const m = dataRun(f, i, b, 1 - d, x);
  // Strong needs ≥ 8 P_DATA_V2 packets in each direction (spec: one direction only stays medium); it fires on the
  // packet that completes the later direction. The medium item is emitted once per flow (the first direction to
  // reach 4), so one flow never yields two "independent" medium items from the same structure.
  const strong = v2 && n === DATA_STRONG_RUN && m >= DATA_STRONG_RUN;
  if (!strong && (n !== DATA_MEDIUM_RUN || m >= DATA_MEDIUM_RUN)) return null;
  // P_DATA_V1 is weak: without a peer id only byte 0 and a BE counter at 1-4 are structured, and a constant
  // 4-byte header followed by a little-endian counter (seen in synthetic game traffic) reads exactly like that.
  const strength = strong ? 'strong' : v2 ? 'medium' : 'weak';
  return [
    {
      source: 'openvpn', protocol: 'openvpn', strength, rule: 'ovpn.data', packet: i, offset: b + 1,
      reason: v2
        ? `${n} P_DATA_V2 packets ${d === DIR_FWD ? 'initiator→responder' : 'responder→initiator'}${strong ? ` (and ≥${DATA_STRONG_RUN} the other way)` : ''} up to packet ${i}: header 0x${x.toString(16)} (key id ${x & 7}), peer id 0x${u24be(f, i, b + 1).toString(16).padStart(6, '0')} at offset ${b + 1}, packet id rising to ${u32be(f, i, b + 4)} at offset ${b + 4}`
        : `${n} P_DATA_V1 packets ${d === DIR_FWD ? 'initiator→responder' : 'responder→initiator'} up to packet ${i}: header 0x${x.toString(16)} (key id ${x & 7}), AEAD packet id rising to ${u32be(f, i, b + 1)} at offset ${b + 1}`,
    },
  ];
}

function hexBytes(f: FlowView, i: number, k: number, n: number): string {
  let s = '';
  for (let q = 0; q < n; q++) {
    const v = u8(f, i, k + q);
    if (v < 0) break;
    s += v.toString(16).padStart(2, '0');
  }
  return s;
}
