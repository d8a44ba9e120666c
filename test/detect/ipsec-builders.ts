/**
 * Hand-built packets for the IKE/ESP/AH/L2TP/PPTP detector tests, following parts/2-ipsec-l2tp-pptp.md field by
 * field (spec worked examples where it gives one). Random-looking fields come from a seeded PRNG.
 */
import { concat, hex, putU32be, randomBytes } from './udp-vpn-builders.js';

export function u16(v: number): Uint8Array {
  return new Uint8Array([(v >>> 8) & 0xff, v & 0xff]);
}
export function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  putU32be(b, 0, v);
  return b;
}

// ---------------------------------------------------------------- IKE

/** One generic payload: next payload, critical/reserved byte, length (incl. 4-byte header), body. */
export function payload(next: number, body: Uint8Array, crit = 0): Uint8Array {
  return concat(new Uint8Array([next, crit]), u16(body.length + 4), body);
}
export interface IkeHdr {
  spiI: Uint8Array;
  spiR?: Uint8Array;
  next: number;
  version: number; // 0x10 / 0x20
  exchange: number;
  flags: number;
  msgId?: number;
  /** Overrides the length field (default: the real message length). */
  length?: number;
}
/** ISAKMP header + body; `marker` prepends the 4-byte non-ESP marker (UDP 4500). */
export function ikeMessage(h: IkeHdr, body: Uint8Array, marker = false): Uint8Array {
  const len = 28 + body.length;
  const m = concat(h.spiI, h.spiR ?? new Uint8Array(8), new Uint8Array([h.next, h.version, h.exchange, h.flags]), u32(h.msgId ?? 0), u32(h.length ?? len), body);
  return marker ? concat(new Uint8Array(4), m) : m;
}

/** Spec worked example: initiator SPI 3f1ca29b005e71d4. */
export const SPEC_SPI_I = hex('3f 1c a2 9b 00 5e 71 d4');
export const SPEC_SPI_R = hex('9a 41 07 c3 5d e2 18 66');

/**
 * IKEv2 IKE_SA_INIT request as in the spec example: SA (48 bytes, so KE starts at offset 76) → KE → Nonce →
 * N(NAT_DETECTION_SOURCE_IP) → N(NAT_DETECTION_DESTINATION_IP), total 304 bytes.
 */
export function v2SaInitRequest(r: () => number, spiI = SPEC_SPI_I, marker = false): Uint8Array {
  const sa = payload(34, randomBytes(44, r)); // 48 bytes
  const ke = payload(40, concat(u16(19), u16(0), randomBytes(128, r))); // group 19 + reserved + key data
  const notify = (next: number, type: number) => payload(next, concat(new Uint8Array([0, 0]), u16(type), randomBytes(20, r)));
  const n2 = notify(0, 16389);
  const n1 = notify(41, 16388);
  const fixed = 28 + sa.length + ke.length + n1.length + n2.length;
  const nonce = payload(41, randomBytes(304 - fixed - 4, r));
  const body = concat(sa, ke, nonce, n1, n2);
  return ikeMessage({ spiI, next: 33, version: 0x20, exchange: 34, flags: 0x08 }, body, marker);
}
/** IKEv2 IKE_SA_INIT response echoing spiI with a non-zero responder SPI. */
export function v2SaInitResponse(r: () => number, spiI = SPEC_SPI_I, spiR = SPEC_SPI_R, marker = false): Uint8Array {
  const body = concat(payload(34, randomBytes(44, r)), payload(40, concat(u16(19), u16(0), randomBytes(64, r))), payload(0, randomBytes(32, r)));
  return ikeMessage({ spiI, spiR, next: 33, version: 0x20, exchange: 34, flags: 0x20 }, body, marker);
}
/** IKEv2 IKE_AUTH (SK payload wrapping everything; its next payload names the first inner payload, IDi = 35). */
export function v2Auth(r: () => number, spiI: Uint8Array, spiR: Uint8Array, msgId: number, response: boolean, marker = false, n = 200): Uint8Array {
  return ikeMessage({ spiI, spiR, next: 46, version: 0x20, exchange: 35, flags: response ? 0x20 : 0x08, msgId }, payload(35, randomBytes(n, r)), marker);
}
/** IKEv1 Main Mode message 1: SA + two vendor ids, clear text. */
export function v1MainMode1(r: () => number, spiI: Uint8Array): Uint8Array {
  const body = concat(payload(13, randomBytes(52, r)), payload(13, randomBytes(16, r)), payload(0, randomBytes(16, r)));
  return ikeMessage({ spiI, next: 1, version: 0x10, exchange: 2, flags: 0 }, body);
}
/** IKEv1 encrypted message (flag E): body is ciphertext, padded to 8. */
export function v1Encrypted(r: () => number, spiI: Uint8Array, spiR: Uint8Array, exchange: number, msgId: number, n = 64, marker = false): Uint8Array {
  return ikeMessage({ spiI, spiR, next: 8, version: 0x10, exchange, flags: 0x01, msgId }, randomBytes(n, r), marker);
}

// ---------------------------------------------------------------- ESP / AH

export function espPacket(spi: number, seq: number, n: number, r: () => number): Uint8Array {
  return concat(u32(spi), u32(seq), randomBytes(Math.max(0, n - 8), r));
}
export function icmpEcho(id: number, seq: number, data: Uint8Array): Uint8Array {
  const b = concat(new Uint8Array([8, 0, 0, 0]), u16(id), u16(seq), data);
  let s = 0;
  for (let k = 0; k < b.length; k += 2) s += (b[k]! << 8) | (b[k + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  const c = ~s & 0xffff;
  b[2] = c >>> 8;
  b[3] = c & 0xff;
  return b;
}
export function ipv4Header(proto: number, payloadLen: number): Uint8Array {
  return concat(new Uint8Array([0x45, 0]), u16(20 + payloadLen), hex('12 34 00 00 40'), new Uint8Array([proto]), hex('00 00 c0 00 02 01 c6 33 64 02'));
}
/** AH header: next header, payload length (ICV 12 → 4), reserved 0, SPI, sequence, ICV, then the clear inner bytes. */
export function ahPacket(nh: number, spi: number, seq: number, inner: Uint8Array, r: () => number, icv = 12): Uint8Array {
  return concat(new Uint8Array([nh, (12 + icv) / 4 - 2, 0, 0]), u32(spi), u32(seq), randomBytes(icv, r), inner);
}

// ---------------------------------------------------------------- L2TP

export function avp(type: number, value: Uint8Array, mandatory = true): Uint8Array {
  return concat(u16((mandatory ? 0x8000 : 0) | (6 + value.length)), u16(0), u16(type), value);
}
/** L2TPv2 control message: C802, length, tunnel, session, Ns, Nr, then AVPs (Message Type first). */
export function l2tpControl(msgType: number, tunnel: number, session: number, ns: number, nr: number, more: Uint8Array[] = []): Uint8Array {
  const avps = msgType > 0 ? concat(avp(0, u16(msgType)), ...more) : new Uint8Array(0);
  return concat(hex('c8 02'), u16(12 + avps.length), u16(tunnel), u16(session), u16(ns), u16(nr), avps);
}
/** SCCRQ as the spec lists it: Message Type 1, Protocol Version 01 00, Host Name, Framing Capabilities, Assigned Tunnel ID. */
export function sccrq(assignedTunnel: number): Uint8Array {
  return l2tpControl(1, 0, 0, 0, 0, [avp(2, hex('01 00')), avp(3, u32(3)), avp(7, new TextEncoder().encode('lac.example')), avp(9, u16(assignedTunnel))]);
}
/** L2TPv2 data message with L bit: 40 02, length, tunnel, session, FF 03 + PPP protocol + body. */
export function l2tpData(tunnel: number, session: number, pppProto: number, body: Uint8Array, withLength = true): Uint8Array {
  const ppp = concat(hex('ff 03'), u16(pppProto), body);
  return withLength ? concat(hex('40 02'), u16(8 + ppp.length), u16(tunnel), u16(session), ppp) : concat(hex('00 02'), u16(tunnel), u16(session), ppp);
}

/** Optional L2TPv2 data header fields (RFC 2661 §3.1): L (length), S (Ns, Nr), O (offset size + that many pad bytes). */
export interface L2tpDataOpts { length?: boolean; ns?: number; nr?: number; pad?: number }
/** L2TPv2 data message around an already built PPP frame (T = 0, version 2, reserved bits clear). */
export function l2tpDataFrame(tunnel: number, session: number, ppp: Uint8Array, o: L2tpDataOpts = {}): Uint8Array {
  const seq = o.ns !== undefined ? concat(u16(o.ns), u16(o.nr ?? 0)) : new Uint8Array(0);
  const off = o.pad !== undefined ? concat(u16(o.pad), new Uint8Array(o.pad)) : new Uint8Array(0);
  const b0 = (o.length ? 0x40 : 0) | (o.ns !== undefined ? 0x08 : 0) | (o.pad !== undefined ? 0x02 : 0);
  const rest = concat(u16(tunnel), u16(session), seq, off, ppp);
  return o.length ? concat(Uint8Array.of(b0, 0x02), u16(4 + rest.length), rest) : concat(Uint8Array.of(b0, 0x02), rest);
}
/**
 * A PPP frame as a link that negotiated the LCP compression options sends it (RFC 1661 §6.5, §6.6): `full` =
 * FF 03 + 2-octet protocol; `acfc` = no FF 03; `pfc` = FF 03 + 1-octet protocol (values below 0x100 only);
 * `acfc+pfc` = the protocol octet alone.
 */
export type PppForm = 'full' | 'acfc' | 'pfc' | 'acfc+pfc';
export function pppFrame(form: PppForm, proto: number, body: Uint8Array): Uint8Array {
  const ac = form === 'full' || form === 'pfc' ? hex('ff 03') : new Uint8Array(0);
  const pf = form === 'pfc' || form === 'acfc+pfc' ? Uint8Array.of(proto) : u16(proto);
  return concat(ac, pf, body);
}

// ---------------------------------------------------------------- PPTP

export function pptpHeader(len: number, ctrl: number): Uint8Array {
  return concat(u16(len), u16(1), hex('1a 2b 3c 4d'), u16(ctrl), u16(0));
}
/** Start-Control-Connection-Request (156 bytes): version 01 00, framing/bearer caps, max channels, firmware, host, vendor. */
export function pptpSccrq(): Uint8Array {
  const host = new Uint8Array(64), vendor = new Uint8Array(64);
  host.set(new TextEncoder().encode('client'));
  vendor.set(new TextEncoder().encode('vendor'));
  return concat(pptpHeader(156, 1), hex('01 00 00 00'), u32(1), u32(1), u16(0), u16(1), host, vendor);
}
export function pptpOcrq(callId: number): Uint8Array {
  return concat(pptpHeader(168, 7), u16(callId), u16(1), u32(300), u32(100000000), u32(3), u32(3), u16(64), u16(0), u16(0), u16(0), new Uint8Array(128));
}
export function pptpOcrp(callId: number, peer: number): Uint8Array {
  return concat(pptpHeader(32, 8), u16(callId), u16(peer), new Uint8Array([1, 0]), u16(0), u32(100000000), u16(64), u16(0), u32(0));
}
/** Enhanced GRE v1: flags K (+S if seq given, +A if ack given), version 1, protocol 880B, payload length, call id. */
export function greV1(callId: number, ppp: Uint8Array, seq?: number, ack?: number, lengthField = ppp.length): Uint8Array {
  return concat(
    new Uint8Array([0x20 | (seq !== undefined ? 0x10 : 0), 0x01 | (ack !== undefined ? 0x80 : 0)]), hex('88 0b'), u16(lengthField), u16(callId),
    seq !== undefined ? u32(seq) : new Uint8Array(0), ack !== undefined ? u32(ack) : new Uint8Array(0), ppp,
  );
}
/** Plain GRE v0 carrying IPv4 (a carrier, never PPTP). */
export function greV0(inner: Uint8Array, key?: number): Uint8Array {
  return concat(new Uint8Array([key !== undefined ? 0x20 : 0, 0]), hex('08 00'), key !== undefined ? u32(key) : new Uint8Array(0), inner);
}
