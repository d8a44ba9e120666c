/**
 * OpenVPN header byte and control-packet layouts (spec: parts/1-udp-vpns.md §OpenVPN "Header byte", "Control packet
 * layout — three wrapping modes", "Sizes of the first packets"): opcodes, the wrapping modes (N: none; A: --tls-auth
 * with an H-byte HMAC, replay id and net time; C: --tls-crypt with replay id at 9 and a 32-byte tag), where each mode
 * puts its ACK array and replay id, and which sizes a hard reset of each mode has. Shared by the rules in openvpn.ts.
 * Must never: look at HMAC or tag content. Reads frames through openvpn-frames.ts; allocation-free except the text
 * helpers used for evidence reasons.
 */
import { IPPROTO_TCP, type FlowView } from './types.js';
import { frameLen, framePos, frameSeg, fu32, fu8 } from './openvpn-frames.js';

export const OP_SOFT_RESET = 3, OP_CONTROL = 4, OP_ACK = 5, OP_DATA_V1 = 6, OP_RESET_CLIENT_V2 = 7, OP_RESET_SERVER_V2 = 8;
export const OP_DATA_V2 = 9, OP_RESET_CLIENT_V3 = 10, OP_CONTROL_WKC = 11;
export const BYTE_RESET_CLIENT_V2 = 0x38, BYTE_RESET_SERVER_V2 = 0x40, BYTE_RESET_CLIENT_V3 = 0x50;
/** tls-auth HMAC lengths (--auth MD5, SHA1, SHA256, SHA384, SHA512). Mode m = 1..5 is tls-auth with HMAC_LENS[m-1]. */
export const HMAC_LENS = [16, 20, 32, 48, 64] as const;
export const MODE_N = 0, MODE_C = 6, N_MODES = 7;
/** Mode-C header: opcode 1 + session 8 + replay id 4 + net time 4 + tag 32 + ack count 1 + message id 4. */
export const CRYPT_RESET_CLIENT_LEN = 54;
/** Mode-C server reset: the client's 54 + one ACK (4) + the remote session id (8); + 6 with the EARLY_NEG TLV. */
export const CRYPT_RESET_SERVER_LEN = 66, EARLY_NEG_TLV_LEN = 6;
export const MAX_ACKS = 8;
/**
 * Replay ids on the first control packets are small. tls-crypt-v2 clients that negotiate early (2.6+) mark the V3
 * reset with 0x0F in the top byte: the reference gives 0x0F000000; OpenVPN 2.6.14 sends 0x0F000001, 0x0F000002, …
 * on both sides (the counter runs in the low bytes), so a 0x0F top byte with a small counter is accepted too.
 */
export const EARLY_NEG_REPLAY_ID = 0x0f000000;
export const SMALL_ID = 0xffff;

export function isControlOp(op: number): boolean {
  return op === OP_SOFT_RESET || op === OP_CONTROL || op === OP_ACK || op === OP_RESET_CLIENT_V2 ||
    op === OP_RESET_SERVER_V2 || op === OP_RESET_CLIENT_V3 || op === OP_CONTROL_WKC;
}
export function isResetByte(x: number): boolean {
  return x === BYTE_RESET_CLIENT_V2 || x === BYTE_RESET_CLIENT_V3 || x === BYTE_RESET_SERVER_V2;
}
export function isClientReset(f: FlowView, r: number, n: number): boolean {
  const x = fu8(f, r, 0, n);
  return (x === BYTE_RESET_CLIENT_V2 || x === BYTE_RESET_CLIENT_V3) && frameLen(f, r, n) >= 14;
}
export function ackOffset(mode: number): number {
  return mode === MODE_N ? 9 : 9 + HMAC_LENS[mode - 1]! + 8;
}
/** Offset of the replay packet id: mode C 9, mode A 9 + H, mode N none (-1). */
export function replayOffset(mode: number): number {
  return mode === MODE_C ? 9 : mode === MODE_N ? -1 : 9 + HMAC_LENS[mode - 1]!;
}
/** Shortest control packet of a mode: no ACKs and a message id (14), plus the HMAC/replay/time (A) or tag (C). */
export function minControlLen(mode: number): number {
  return mode === MODE_N ? 14 : mode === MODE_C ? CRYPT_RESET_CLIENT_LEN : 14 + HMAC_LENS[mode - 1]! + 8;
}
export function modeName(mode: number): string {
  return mode === MODE_N ? 'no tls-auth/tls-crypt' : mode === MODE_C ? 'tls-crypt' : `tls-auth with ${HMAC_LENS[mode - 1]}-byte HMAC`;
}
/** A replay id of an opening: small, or the early-negotiation marker (see EARLY_NEG_REPLAY_ID). */
export function openingReplayId(v: number): boolean {
  if (v < 0) return false;
  if (v >= 1 && v <= SMALL_ID) return true;
  return v >>> 24 === EARLY_NEG_REPLAY_ID >>> 24 && (v & 0xffffff) <= SMALL_ID;
}


export function frameText(_f: FlowView, r: number): string {
  return `packet ${frameSeg(r)}`;
}
/** Where a frame's header byte is in its segment (TCP; a datagram's is at 0). */
export function atText(f: FlowView, r: number): string {
  return f.transport === IPPROTO_TCP ? ` at offset ${framePos(r)}` : '';
}


/** Mode whose client reset size and zero ack count / message id (or small replay id) a 0x38 frame fits, or -1. */
export function clientResetMode(f: FlowView, r: number, n: number): number {
  const pl = frameLen(f, r, n);
  if (pl === 14 && fu8(f, r, 9, n) === 0 && fu32(f, r, 10, n) === 0) return MODE_N;
  if (pl === CRYPT_RESET_CLIENT_LEN && openingReplayId(fu32(f, r, 9, n))) return MODE_C;
  for (let m = 1; m < MODE_C; m++) {
    const h = HMAC_LENS[m - 1]!;
    if (pl === 14 + h + 8 && openingReplayId(fu32(f, r, 9 + h, n)) && fu8(f, r, 17 + h, n) === 0 && fu32(f, r, 18 + h, n) === 0) return m;
  }
  return -1;
}
/** Mode whose server reset layout (ACK of id 0, exact length, optional EARLY_NEG TLV) a 0x40 frame fits, or -1. */
export function serverResetMode(f: FlowView, r: number, n: number): number {
  const pl = frameLen(f, r, n);
  for (let mode = 0; mode < MODE_C; mode++) {
    const a = ackOffset(mode);
    const k = fu8(f, r, a, n);
    if (k < 1 || k > MAX_ACKS || fu32(f, r, a + 1, n) !== 0) continue;
    const end = a + 1 + 4 * k + 8 + 4;
    if (pl !== end && pl !== end + EARLY_NEG_TLV_LEN) continue;
    if (mode > MODE_N && !openingReplayId(fu32(f, r, 9 + HMAC_LENS[mode - 1]!, n))) continue;
    return mode;
  }
  // mode C: the ACK array is encrypted; only the size (one ACK) and the replay id are visible
  if ((pl === CRYPT_RESET_SERVER_LEN || pl === CRYPT_RESET_SERVER_LEN + EARLY_NEG_TLV_LEN) && openingReplayId(fu32(f, r, 9, n))) return MODE_C;
  return -1;
}
/** Mode a hard-reset frame's size fits (client V2, V3 or server), or -1. */
export function resetMode(f: FlowView, r: number, n: number): number {
  const x = fu8(f, r, 0, n);
  if (x === BYTE_RESET_CLIENT_V2) return clientResetMode(f, r, n);
  if (x === BYTE_RESET_SERVER_V2) return serverResetMode(f, r, n);
  return x === BYTE_RESET_CLIENT_V3 && frameLen(f, r, n) >= CRYPT_RESET_CLIENT_LEN + 2 && openingReplayId(fu32(f, r, 9, n)) ? MODE_C : -1;
}

export function hexFrame(f: FlowView, r: number, k: number, len: number, n: number): string {
  let s = '';
  for (let q = 0; q < len; q++) {
    const v = fu8(f, r, k + q, n);
    if (v < 0) break;
    s += v.toString(16).padStart(2, '0');
  }
  return s;
}
