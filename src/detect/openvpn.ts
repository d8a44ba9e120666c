/**
 * OpenVPN over UDP and TCP, TLS mode (spec: parts/1-udp-vpns.md §OpenVPN, "Detector checks and evidence" and
 * "False-positive traps"; OpenVPN ssl_pkt.h, reliable.c, tls_crypt.h).
 *
 * Owns: the opcode/key-id header byte, the control-packet layouts of the three wrapping modes (N: none,
 * A: --tls-auth with an H-byte HMAC + replay id + net time, C: --tls-crypt with replay id at 9 and a 32-byte tag),
 * and one rule per row of the reference's evidence table:
 *  - `ovpn.reset-echo` (strong): the server reset's ACK array holds id 0 and the client's 64-bit session id;
 *  - `ovpn.session` (strong, the mode-C row): client reset and server reset each followed by ≥ 2 more control
 *    packets repeating the session id, replay ids +1 per packet, one net time per side — the two within 2 days of
 *    each other (each must be within a day of the capture; the detector sees no clock, so it checks what follows);
 *  - `ovpn.tcp-chain` (strong, the TCP row): a hard reset of a valid mode size at the start of a direction's
 *    stream, then an exact length chain over ≥ 3 packets, the control ones repeating its session id (without that
 *    repetition pipelined DNS over TCP would pass at ~1e-3 per flow);
 *  - `ovpn.crypt-v2` (strong): the tls-crypt-v2 WKc length relation;
 *  - `ovpn.reset` (medium): one valid-looking client reset;
 *  - `ovpn.server-reset` (weak): a server reset with no client reset before it — 0x40 also begins QUIC short
 *    headers, and the reference asks for a preceding client reset before 0x40 counts;
 *  - `ovpn.data`: P_DATA_V2 runs (medium at 4 in a direction, strong at 8 each way), P_DATA_V1 weak;
 *  - `ovpn.session-oneway` (strong; not a row of the reference, see below): only one direction captured, ≥ 4
 *    control packets from a hard reset repeating its session id, with one wrapping mode's sequence holding (replay
 *    ids +1 and one net time; or, unwrapped, ACK counts ≤ 8, message ids rising by 0 or 1, one peer session id).
 *    Asymmetric routing hides one side of real flows (two such flows in the dev corpus); a 64-bit id repeated over
 *    four packets is a cross-packet relation the general strength table calls strong, and ≥ 4 in one direction is
 *    the threshold the reference quotes from nDPI. With both directions seen, only the rows above apply.
 * Counted control packets have key id 0 (the first key of a session) and an opcode the side sends in an opening:
 * P_CONTROL_V1, P_ACK_V1, P_CONTROL_WKC_V1 after a V3 reset, or the same hard reset again (a retransmission).
 * Must never: decide on byte 0 alone (0x38 is 1 in 256 of random payloads), look at HMAC content, or handle
 * scrambled/XOR variants (out of scope by design).
 *
 * Packets are walked as frames (openvpn-frames.ts): over TCP the length chain, across and within segments. Each
 * rule is a predicate over the frames of segments [0, n]; it fires on the newest segment i when it holds for
 * n = i and not for n = i - 1, so a packet completed by a later segment is judged when it is complete. Earlier
 * segments keep their first ~48 bytes: the net time of mode A with H ≥ 32 and anything past a frame's 48th byte is
 * read on the newest segment only; a frame starting past the kept bytes is unknown (see openvpn-frames.ts).
 * Evidence reasons print numbers and hex only.
 */
import { dirText } from './esp.js';
import { isTurnChannelData } from './lookalikes.js';
import { DIR_FWD, IPPROTO_TCP, IPPROTO_UDP, u8, type Detector, type Evidence, type FlowView } from './types.js';
import { BROKEN, END, MAX_FRAMES, firstFrame, frameLen, frameSeg, fsame, fu16, fu24, fu32, fu8, nextExact, nextFrame, offsetIn } from './openvpn-frames.js';
import {
  BYTE_RESET_CLIENT_V2, BYTE_RESET_CLIENT_V3, BYTE_RESET_SERVER_V2, CRYPT_RESET_CLIENT_LEN, MAX_ACKS, MODE_C, MODE_N, N_MODES, OP_ACK, OP_CONTROL,
  OP_CONTROL_WKC, OP_DATA_V1, OP_DATA_V2, ackOffset, atText, clientResetMode, frameText, hexFrame, isClientReset, isControlOp,
  isResetByte, minControlLen, modeName, openingReplayId, replayOffset, resetMode, serverResetMode,
} from './openvpn-layout.js';

/** Mode-C row: reset + ≥ 2 more control packets per side. TCP row: ≥ 3 packets on the chain. One-way: ≥ 4 (nDPI). */
const SESSION_RUN = 3, TCP_CHAIN_RUN = 3, ONEWAY_RUN = 4;
/** Both net times are within a day of the capture, so within two days of each other. */
const NET_TIME_SPREAD_S = 2 * 86400;
/** Data packets: medium at 4 in one direction (consistent key id + peer id + rising ids), strong at 8 in each (spec). */
const DATA_MEDIUM_RUN = 4, DATA_STRONG_RUN = 8;
const MAX_PID_STEP = 16;
/** A data packet id may step back this much (UDP reordering within OpenVPN's replay window, default 64). */
const MAX_PID_BACKSTEP = 8;
const DATA_V2_MEDIUM = 1, DATA_V2_STRONG = 2, DATA_V1_WEAK = 4;

export const openvpn: Detector = {
  id: 'openvpn',
  transports: [IPPROTO_UDP, IPPROTO_TCP],
  carriers: [],
  maxPackets: 24,
  rules: {
    'ovpn.reset-echo':
      'server hard reset (0x40) whose ACK array (at the offset of its wrapping mode) holds id 0 and names the 8-byte session id of the client hard reset (0x38/0x50) before it',
    'ovpn.session':
      'tls-crypt (mode C): client and server hard resets each followed by ≥2 more key-id-0 control packets repeating the session id, replay ids +1 per packet, one net time per side (the two within 2 days)',
    'ovpn.tcp-chain':
      'TCP: a hard reset of a valid mode size starts a direction\'s stream, then the 2-byte length chain continues exactly over ≥3 packets whose control packets repeat its session id',
    'ovpn.session-oneway':
      'one direction captured only: a hard reset and ≥3 more key-id-0 control packets repeating its session id, one wrapping mode\'s sequence consistent (replay ids +1 and one net time, or ACK counts ≤8, message ids +0/+1 and one peer session id)',
    'ovpn.crypt-v2': 'tls-crypt-v2 client reset (0x50): trailing 2-byte WKc length = packet length − 54, replay id 0x0F000000 (or 0x0F top byte) or small',
    'ovpn.reset': 'client hard reset V2 (0x38) whose length and zero ack count / message id fit one wrapping mode',
    'ovpn.server-reset': 'server hard reset (0x40) acknowledging packet id 0 with a length that fits its mode, no client reset before it (weak: 0x40 also begins QUIC short headers)',
    'ovpn.data':
      'data packets in one direction with one key id and rising AEAD packet ids: P_DATA_V2 (0x48-0x4F, constant 3-byte peer id) medium at 4 (once per flow), strong at 8 in each direction; P_DATA_V1 (0x30-0x37) weak at 4',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    // UDP: every rule that can newly hold involves datagram i, which must then carry an OpenVPN opcode.
    if (f.transport !== IPPROTO_TCP) {
      const op = u8(f, i, 0) >> 3;
      if (!isControlOp(op) && op !== OP_DATA_V1 && op !== OP_DATA_V2) return null;
    }
    // Nothing is allocated unless a rule fires.
    let out: Evidence[] | null = null;
    let w = echoAt(f, i);
    if (w >= 0 && echoAt(f, i - 1) < 0) (out ??= []).push(echoEvidence(f, i, w));
    if (f.transport === IPPROTO_TCP) {
      w = tcpChainAt(f, i);
      if (w >= 0 && tcpChainAt(f, i - 1) < 0) (out ??= []).push(tcpChainEvidence(f, i, w));
    }
    w = sessionAt(f, i);
    if (w >= 0 && sessionAt(f, i - 1) < 0) (out ??= []).push(sessionEvidence(f, i, w));
    w = onewayAt(f, i);
    if (w >= 0 && onewayAt(f, i - 1) < 0) (out ??= []).push(onewayEvidence(f, i, w));
    w = cryptV2At(f, i);
    if (w >= 0 && cryptV2At(f, i - 1) < 0) (out ??= []).push(cryptV2Evidence(f, i, w));
    w = loneClientAt(f, i);
    if (w >= 0 && loneClientAt(f, i - 1) < 0) (out ??= []).push(loneClientEvidence(f, i, w));
    w = loneServerAt(f, i);
    if (w >= 0 && loneServerAt(f, i - 1) < 0) (out ??= []).push(loneServerEvidence(f, i, w));
    const dl = dataAt(f, i);
    if (dl !== 0) {
      const fresh = dl & ~dataAt(f, i - 1);
      if (fresh & DATA_V2_STRONG) (out ??= []).push(dataEvidence(f, i, true, true));
      else if (fresh & DATA_V2_MEDIUM) (out ??= []).push(dataEvidence(f, i, true, false));
      if (fresh & DATA_V1_WEAK) (out ??= []).push(dataEvidence(f, i, false, false));
    }
    return out;
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

// ---------------------------------------------------------------- reset echo

/** Mode whose ACK array in server reset s holds id 0 and then the session id of client reset c, or -1. */
function echoMode(f: FlowView, s: number, c: number, n: number): number {
  const pl = frameLen(f, s, n);
  for (let mode = 0; mode < MODE_C; mode++) {
    const a = ackOffset(mode);
    const k = fu8(f, s, a, n);
    if (k < 1 || k > MAX_ACKS) continue;
    const rs = a + 1 + 4 * k;
    if (rs + 8 + 4 > pl) continue; // remote session id + message packet id must fit
    let zero = false;
    for (let q = 0; q < k && !zero; q++) zero = fu32(f, s, a + 1 + 4 * q, n) === 0;
    if (zero && fsame(f, s, rs, c, 1, 8, n) === 1) return mode;
  }
  return -1;
}
/**
 * Hard resets of one direction looked at by the pairwise rules (echo, lone server reset): a session opens with one,
 * retransmitted a few times at most over UDP; the bound keeps hostile streams of resets from costing pairs².
 */
const MAX_RESETS = 4;

/** The client reset (in the other direction, before server reset s) that s echoes, or END. */
function echoedClient(f: FlowView, s: number, n: number): number {
  const d = f.dir(frameSeg(s));
  let c = firstFrame(f, 1 - d, n);
  for (let k = 0, resets = 0; c !== END && k < MAX_FRAMES && resets < MAX_RESETS && frameSeg(c) < frameSeg(s); k++, c = nextFrame(f, c, n)) {
    if (!isClientReset(f, c, n)) continue;
    if (echoMode(f, s, c, n) >= 0) return c;
    resets++;
  }
  return END;
}
/** A server reset in segments [0, n] echoing a client reset, or -1. */
function echoAt(f: FlowView, n: number): number {
  for (let d = 0; d < 2; d++) {
    let s = firstFrame(f, d, n);
    for (let k = 0, resets = 0; s !== END && k < MAX_FRAMES && resets < MAX_RESETS; k++, s = nextFrame(f, s, n)) {
      if (fu8(f, s, 0, n) !== BYTE_RESET_SERVER_V2) continue;
      if (echoedClient(f, s, n) !== END) return s;
      resets++;
    }
  }
  return -1;
}
function echoEvidence(f: FlowView, i: number, s: number): Evidence {
  const c = echoedClient(f, s, i);
  const mode = echoMode(f, s, c, i);
  const a = ackOffset(mode), k = fu8(f, s, a, i), rs = a + 1 + 4 * k;
  return {
    source: 'openvpn', protocol: 'openvpn', strength: 'strong', rule: 'ovpn.reset-echo', packet: i, offset: offsetIn(f, s, rs, i),
    reason: `${frameText(f, c)}: client hard reset 0x${fu8(f, c, 0, i).toString(16)}${atText(f, c)} with session id ${hexFrame(f, c, 1, 8, i)}; ${frameText(f, s)}${f.dir(frameSeg(s)) === DIR_FWD ? '' : ' (reverse)'}: server hard reset 0x40${atText(f, s)} (${modeName(mode)}), ${k} ACK(s) at packet offset ${a} holding id 0, remote session id at packet offset ${rs} echoes it`,
  };
}

// ---------------------------------------------------------------- control-packet runs

/**
 * Length of the run of direction d in segments [0, n] under wrapping mode `mode`: its first frame is a hard reset
 * (`want`: 0 any, 1 client, 2 server) of the mode's size, then key-id-0 control packets of the opening that repeat
 * its session id, with the mode's sequence holding (see the module comment). Frames whose bytes are not kept are
 * skipped (a replay-id step may then be larger by one per skipped frame); data frames do not break the run.
 */
function runCount(f: FlowView, d: number, n: number, mode: number, want: number): number {
  const r0 = firstFrame(f, d, n);
  if (r0 === END) return 0;
  const x0 = fu8(f, r0, 0, n);
  if (!isResetByte(x0) || (want === 1 && x0 === BYTE_RESET_SERVER_V2) || (want === 2 && x0 !== BYTE_RESET_SERVER_V2)) return 0;
  const min = minControlLen(mode);
  if (frameLen(f, r0, n) < min) return 0;
  const ro = replayOffset(mode);
  let prev = 0, t0 = -1, peerRef = -1, peerOff = 0;
  if (ro >= 0) {
    prev = fu32(f, r0, ro, n);
    t0 = fu32(f, r0, ro + 4, n);
    if (!openingReplayId(prev)) return 0;
  } else {
    const a0 = fu8(f, r0, 9, n);
    if (x0 === BYTE_RESET_SERVER_V2 ? a0 < 1 || a0 > MAX_ACKS : a0 !== 0) return 0;
    prev = fu32(f, r0, a0 === 0 ? 10 : 18 + 4 * a0, n);
    if (prev !== 0) return 0;
    if (a0 > 0) {
      peerRef = r0;
      peerOff = 10 + 4 * a0;
    }
  }
  // unknown: frames skipped since the last counted one; slack: counted frames whose message id was not kept
  let count = 1, unknown = 0, slack = 0;
  let r = nextFrame(f, r0, n);
  for (let k = 0; r !== END && k < MAX_FRAMES; k++, r = nextFrame(f, r, n)) {
    const x = fu8(f, r, 0, n);
    if (x < 0) {
      unknown++;
      continue;
    }
    const op = x >> 3;
    if (op === OP_DATA_V1 || op === OP_DATA_V2) continue;
    if ((x & 7) !== 0 || !(op === OP_CONTROL || op === OP_ACK || (op === OP_CONTROL_WKC && x0 === BYTE_RESET_CLIENT_V3) || x === x0)) break;
    const same = fsame(f, r, 1, r0, 1, 8, n);
    if (same === 0) break;
    const pl = frameLen(f, r, n);
    if (pl < min) break;
    if (same < 0) {
      unknown++;
      continue;
    }
    if (ro >= 0) {
      const rid = fu32(f, r, ro, n);
      if (rid < 0) {
        unknown++;
        continue;
      }
      const step = rid - prev;
      if (step < 1 || step > 1 + unknown) break;
      const t = fu32(f, r, ro + 4, n);
      if (t >= 0 && t0 >= 0 && t !== t0) break;
      if (t0 < 0) t0 = t;
      prev = rid;
    } else {
      const a = fu8(f, r, 9, n);
      if (a < 0) {
        unknown++;
        continue;
      }
      if (a > MAX_ACKS || (op === OP_ACK && a === 0)) break;
      if (op !== OP_ACK) {
        // message packet id: +1 per new reliable packet, repeated by a retransmission
        const m = fu32(f, r, a === 0 ? 10 : 18 + 4 * a, n);
        if (m >= 0) {
          const step = m - prev;
          if (step < 0 || step > 1 + unknown + slack) break;
          prev = m;
          slack = 0;
        } else slack++;
      }
      if (a > 0) {
        // every ACK names the peer's one session id
        if (peerRef < 0) {
          peerRef = r;
          peerOff = 10 + 4 * a;
        } else if (fsame(f, r, 10 + 4 * a, peerRef, peerOff, 8, n) === 0) break;
      }
    }
    count++;
    unknown = 0;
  }
  return count;
}

/** Mode-C row: a side pair with a run of ≥ 3 each and net times within two days; the client's direction, or -1. */
function sessionAt(f: FlowView, n: number): number {
  for (let d = 0; d < 2; d++) {
    const c0 = firstFrame(f, d, n), s0 = firstFrame(f, 1 - d, n);
    if (c0 === END || s0 === END || frameSeg(s0) < frameSeg(c0)) continue;
    if (runCount(f, d, n, MODE_C, 1) < SESSION_RUN || runCount(f, 1 - d, n, MODE_C, 2) < SESSION_RUN) continue;
    const tc = fu32(f, c0, 13, n), ts = fu32(f, s0, 13, n);
    if (tc < 0 || ts < 0 || Math.abs(tc - ts) > NET_TIME_SPREAD_S) continue;
    return d;
  }
  return -1;
}
function sessionEvidence(f: FlowView, i: number, d: number): Evidence {
  const c0 = firstFrame(f, d, i), s0 = firstFrame(f, 1 - d, i);
  const nc = runCount(f, d, i, MODE_C, 1), ns = runCount(f, 1 - d, i, MODE_C, 2);
  return {
    source: 'openvpn', protocol: 'openvpn', strength: 'strong', rule: 'ovpn.session', packet: i, offset: offsetIn(f, f.dir(i) === d ? c0 : s0, 1, i),
    reason: `tls-crypt opening up to packet ${i}: ${nc} control packets ${dirText(d)} from client hard reset 0x${fu8(f, c0, 0, i).toString(16)} (${frameText(f, c0)}${atText(f, c0)}) repeat session id ${hexFrame(f, c0, 1, 8, i)}, ${ns} ${dirText(1 - d)} from server hard reset 0x40 (${frameText(f, s0)}${atText(f, s0)}) repeat ${hexFrame(f, s0, 1, 8, i)}; replay ids at offset 9 rise by 1, net times ${fu32(f, c0, 13, i)} and ${fu32(f, s0, 13, i)} constant per side`,
  };
}

/** One direction only: the first mode with a run of ≥ 4, or -1. */
function onewayAt(f: FlowView, n: number): number {
  if (n < ONEWAY_RUN - 1 && f.transport !== IPPROTO_TCP) return -1; // UDP: one packet per datagram
  const d = f.dir(0);
  for (let k = 1; k <= n; k++) if (f.dir(k) !== d) return -1;
  for (let mode = 0; mode < N_MODES; mode++) if (runCount(f, d, n, mode, 0) >= ONEWAY_RUN) return mode;
  return -1;
}
function onewayEvidence(f: FlowView, i: number, mode: number): Evidence {
  const d = f.dir(0), r0 = firstFrame(f, d, i);
  const cnt = runCount(f, d, i, mode, 0), ro = replayOffset(mode);
  return {
    source: 'openvpn', protocol: 'openvpn', strength: 'strong', rule: 'ovpn.session-oneway', packet: i, offset: offsetIn(f, r0, 1, i),
    reason: `only ${dirText(d)} captured: ${cnt} control packets up to packet ${i} from hard reset 0x${fu8(f, r0, 0, i).toString(16)} (${frameText(f, r0)}${atText(f, r0)}) repeat session id ${hexFrame(f, r0, 1, 8, i)}; ${modeName(mode)} layout: ${ro >= 0 ? `replay ids at offset ${ro} rise by 1, one net time` : 'ACK counts ≤ 8, message ids rise by 0 or 1, one peer session id'}`,
  };
}

/** TCP row: a direction whose stream starts with a sized hard reset and chains exactly over ≥ 3 packets; the reset frame, or -1. */
function tcpChainAt(f: FlowView, n: number): number {
  for (let d = 0; d < 2; d++) {
    const r0 = firstFrame(f, d, n);
    if (r0 === END) continue;
    const x0 = fu8(f, r0, 0, n);
    if (!isResetByte(x0) || resetMode(f, r0, n) < 0) continue;
    let count = 1;
    let r = nextExact(f, r0, n);
    for (let k = 0; r !== END && r !== BROKEN && k < MAX_FRAMES && count < TCP_CHAIN_RUN; k++, r = nextExact(f, r, n)) {
      const x = fu8(f, r, 0, n);
      const op = x >> 3;
      if (x < 0 || (x & 7) !== 0 || !(op === OP_CONTROL || op === OP_ACK || (op === OP_CONTROL_WKC && x0 === BYTE_RESET_CLIENT_V3) || x === x0)) break;
      if (fsame(f, r, 1, r0, 1, 8, n) !== 1) break;
      count++;
    }
    if (count >= TCP_CHAIN_RUN) return r0;
  }
  return -1;
}
function tcpChainEvidence(f: FlowView, i: number, r0: number): Evidence {
  const j = frameSeg(r0);
  return {
    source: 'openvpn', protocol: 'openvpn', strength: 'strong', rule: 'ovpn.tcp-chain', packet: i, offset: offsetIn(f, r0, 1, i),
    reason: `${frameText(f, r0)}${atText(f, r0)}: length ${frameLen(f, r0, i)} then hard reset 0x${fu8(f, r0, 0, i).toString(16)} (${modeName(resetMode(f, r0, i))} size) starts the ${dirText(f.dir(j))} stream; the 2-byte length chain continues exactly over ${TCP_CHAIN_RUN} packets up to packet ${i}, the control packets repeating session id ${hexFrame(f, r0, 1, 8, i)}`,
  };
}

// ---------------------------------------------------------------- lone resets

function loneClientAt(f: FlowView, n: number): number {
  for (let d = 0; d < 2; d++) {
    let r = firstFrame(f, d, n);
    for (let k = 0; r !== END && k < MAX_FRAMES; k++, r = nextFrame(f, r, n)) {
      if (fu8(f, r, 0, n) === BYTE_RESET_CLIENT_V2 && clientResetMode(f, r, n) >= 0) return r;
    }
  }
  return -1;
}
function loneClientEvidence(f: FlowView, i: number, r: number): Evidence {
  const mode = clientResetMode(f, r, i), pl = frameLen(f, r, i);
  return {
    source: 'openvpn', protocol: 'openvpn', strength: 'medium', rule: 'ovpn.reset', packet: i, offset: offsetIn(f, r, 0, i),
    reason: `${frameText(f, r)}: client hard reset V2 0x38${atText(f, r)} (opcode 7, key id 0), session id ${hexFrame(f, r, 1, 8, i)}, ${pl} bytes, layout ${modeName(mode)}${mode === MODE_N ? ' (0 ACKs, message id 0)' : `, replay id ${fu32(f, r, replayOffset(mode), i)}`}`,
  };
}

function loneServerAt(f: FlowView, n: number): number {
  for (let d = 0; d < 2; d++) {
    let s = firstFrame(f, d, n);
    for (let k = 0, resets = 0; s !== END && k < MAX_FRAMES && resets < MAX_RESETS; k++, s = nextFrame(f, s, n)) {
      if (fu8(f, s, 0, n) !== BYTE_RESET_SERVER_V2 || serverResetMode(f, s, n) < 0) continue;
      resets++;
      let seen = false;
      let c = firstFrame(f, 1 - d, n);
      for (let q = 0; c !== END && q < MAX_FRAMES && frameSeg(c) < frameSeg(s) && !seen; q++, c = nextFrame(f, c, n)) seen = isClientReset(f, c, n);
      if (!seen) return s;
    }
  }
  return -1;
}
function loneServerEvidence(f: FlowView, i: number, s: number): Evidence {
  const mode = serverResetMode(f, s, i);
  return {
    source: 'openvpn', protocol: 'openvpn', strength: 'weak', rule: 'ovpn.server-reset', packet: i, offset: offsetIn(f, s, 0, i),
    reason: `${frameText(f, s)}: server hard reset 0x40${atText(f, s)} (${modeName(mode)}), length ${frameLen(f, s, i)} fits${mode === MODE_C ? '' : `, ACK of packet id 0 at packet offset ${ackOffset(mode) + 1}`}; no client reset before it (weak: 0x40 also begins QUIC short headers)`,
  };
}

function cryptV2At(f: FlowView, n: number): number {
  for (let d = 0; d < 2; d++) {
    let r = firstFrame(f, d, n);
    for (let k = 0; r !== END && k < MAX_FRAMES; k++, r = nextFrame(f, r, n)) {
      if (fu8(f, r, 0, n) !== BYTE_RESET_CLIENT_V3) continue;
      const pl = frameLen(f, r, n);
      if (pl >= CRYPT_RESET_CLIENT_LEN + 2 && fu16(f, r, pl - 2, n) === pl - CRYPT_RESET_CLIENT_LEN && openingReplayId(fu32(f, r, 9, n))) return r;
    }
  }
  return -1;
}
function cryptV2Evidence(f: FlowView, i: number, r: number): Evidence {
  const pl = frameLen(f, r, i);
  return {
    source: 'openvpn', protocol: 'openvpn', strength: 'strong', rule: 'ovpn.crypt-v2', packet: i, offset: offsetIn(f, r, pl - 2, i),
    reason: `${frameText(f, r)}: tls-crypt-v2 client hard reset 0x50${atText(f, r)}, length ${pl}, trailing WKc length ${fu16(f, r, pl - 2, i)} = ${pl} − 54, replay id 0x${fu32(f, r, 9, i).toString(16)}`,
  };
}

// ---------------------------------------------------------------- data channel

/**
 * Run of data frames in direction d with header byte x (one key id): P_DATA_V2 with a constant 24-bit peer id and
 * the AEAD packet id at 4; P_DATA_V1 with the AEAD packet id at 1. Packet ids rise by 1–16 (a step back of up to 8
 * and a repeated id are tolerated, below). -1 when a UDP datagram breaks the run; over TCP a frame that does not
 * fit is skipped (it may follow a resynchronisation). A UDP run of which every datagram is TURN ChannelData
 * (lookalikes.ts) is no run (-1): relayed RTP on a channel 0x48xx–0x4Fxx has this run's shape, its "peer id" low 16
 * bits being the data's length. An OpenVPN peer id is the server's 24-bit index of the client, constant while the
 * lengths of data packets vary.
 */
function dataRun(f: FlowView, d: number, n: number, x: number): number {
  const v2 = x >> 3 === OP_DATA_V2, tcp = f.transport === IPPROTO_TCP;
  let count = 0, peer = -1, prev = 0;
  let channelData = v2 && !tcp;
  let r = firstFrame(f, d, n);
  for (let k = 0; r !== END && k < MAX_FRAMES; k++, r = nextFrame(f, r, n)) {
    if (fu8(f, r, 0, n) !== x) continue;
    const p = v2 ? fu24(f, r, 1, n) : 0;
    const pid = fu32(f, r, v2 ? 4 : 1, n);
    if (p < 0 || pid < 0) {
      if (tcp) continue;
      return -1;
    }
    if (count > 0) {
      const step = pid - prev;
      // UDP may swap neighbours (OpenVPN's replay window accepts them) and a capture may hold a copy: a small step
      // back keeps the run, a repeated id is not counted.
      if (p === peer && step === 0) continue;
      if (p !== peer || step < -MAX_PID_BACKSTEP || step > MAX_PID_STEP) {
        if (tcp) continue;
        return -1;
      }
    }
    peer = p;
    prev = pid;
    count++;
    if (channelData && !isTurnChannelData(f, frameSeg(r))) channelData = false;
  }
  return channelData && count > 0 ? -1 : count;
}
/** Header byte of direction d's first data frame of opcode `op`, or -1. */
function firstDataByte(f: FlowView, d: number, n: number, op: number): number {
  let r = firstFrame(f, d, n);
  for (let k = 0; r !== END && k < MAX_FRAMES; k++, r = nextFrame(f, r, n)) {
    const x = fu8(f, r, 0, n);
    if (x >> 3 === op) return x;
  }
  return -1;
}
/** DATA_V2_MEDIUM | DATA_V2_STRONG | DATA_V1_WEAK as they hold over segments [0, n]. */
function dataAt(f: FlowView, n: number): number {
  let out = 0;
  for (let d = 0; d < 2; d++) {
    const x2 = firstDataByte(f, d, n, OP_DATA_V2);
    if (x2 >= 0) {
      const a = dataRun(f, d, n, x2);
      if (a >= DATA_MEDIUM_RUN) out |= DATA_V2_MEDIUM;
      if (a >= DATA_STRONG_RUN && dataRun(f, 1 - d, n, x2) >= DATA_STRONG_RUN) out |= DATA_V2_STRONG;
    }
    const x1 = firstDataByte(f, d, n, OP_DATA_V1);
    if (x1 >= 0 && dataRun(f, d, n, x1) >= DATA_MEDIUM_RUN) out |= DATA_V1_WEAK;
  }
  return out;
}
function dataEvidence(f: FlowView, i: number, v2: boolean, strong: boolean): Evidence {
  // The direction that reached the run first names the item.
  let d = 0, x = -1, nrun = 0;
  for (let e = 0; e < 2 && x < 0; e++) {
    const b = firstDataByte(f, e, i, v2 ? OP_DATA_V2 : OP_DATA_V1);
    const run = b >= 0 ? dataRun(f, e, i, b) : 0;
    if (run >= DATA_MEDIUM_RUN) {
      d = e;
      x = b;
      nrun = run;
    }
  }
  // P_DATA_V1 is weak: without a peer id only byte 0 and a BE counter at 1-4 are structured, and a constant
  // 4-byte header followed by a little-endian counter (seen in synthetic game traffic) reads exactly like that.
  return {
    source: 'openvpn', protocol: 'openvpn', strength: strong ? 'strong' : v2 ? 'medium' : 'weak', rule: 'ovpn.data', packet: i,
    offset: f.transport === IPPROTO_TCP ? 0 : 1,
    reason: v2
      ? `${nrun} P_DATA_V2 packets ${dirText(d)}${strong ? ` (and ≥${DATA_STRONG_RUN} the other way)` : ''} up to packet ${i}: header 0x${(x & 0xff).toString(16)} (key id ${x & 7}), one peer id, AEAD packet ids rising by 1–${MAX_PID_STEP}`
      : `${nrun} P_DATA_V1 packets ${dirText(d)} up to packet ${i}: header 0x${(x & 0xff).toString(16)} (key id ${x & 7}), AEAD packet ids at offset 1 rising by 1–${MAX_PID_STEP}`,
  };
}

