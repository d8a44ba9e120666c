/**
 * TLS 1.3 handshake message builders for synthetic traffic (RFC 8446 §4.1.2/§4.1.3 layout, SNI per RFC 6066
 * §3, ALPN per RFC 7301). Used by TLS-over-TCP, QUIC CRYPTO frames and OpenVPN's control channel. Built once
 * per flow, never per packet.
 */
import type { Rng } from './rng.js';

const enc = new TextEncoder();

function ext(type: number, body: number[]): number[] {
  return [type >> 8, type & 255, body.length >> 8, body.length & 255, ...body];
}
function u16(v: number): number[] {
  return [(v >> 8) & 255, v & 255];
}

export interface ClientHelloOptions {
  /** server_name (omitted when null). */
  host: string | null;
  alpn: readonly string[];
  /** Add quic_transport_parameters (0x39) and omit the legacy session id, as QUIC clients do. */
  quic?: boolean;
}

/** ClientHello handshake message (type 1 + 3-byte length + body), without a record header. */
export function clientHello(opts: ClientHelloOptions, rng: Rng): Uint8Array {
  const body: number[] = [0x03, 0x03, ...rng.bytes(32)];
  if (opts.quic === true) body.push(0);
  else body.push(32, ...rng.bytes(32));
  const suites = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8];
  const cs = opts.quic === true ? suites.slice(0, 3) : suites;
  body.push(...u16(cs.length * 2), ...cs.flatMap(u16), 1, 0);
  const exts: number[] = [];
  if (opts.host !== null) {
    const name = [...enc.encode(opts.host)];
    const entry = [0, ...u16(name.length), ...name];
    exts.push(...ext(0x0000, [...u16(entry.length), ...entry]));
  }
  exts.push(...ext(0x000a, [0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18])); // supported_groups
  exts.push(...ext(0x000d, [0, 8, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03])); // signature_algorithms
  if (opts.alpn.length > 0) {
    const list = opts.alpn.flatMap((p) => [p.length, ...enc.encode(p)]);
    exts.push(...ext(0x0010, [...u16(list.length), ...list]));
  }
  exts.push(...ext(0x002b, opts.quic === true ? [2, 0x03, 0x04] : [4, 0x03, 0x04, 0x03, 0x03])); // supported_versions
  exts.push(...ext(0x002d, [1, 1])); // psk_key_exchange_modes
  exts.push(...ext(0x0033, [0, 36, 0x00, 0x1d, 0, 32, ...rng.bytes(32)])); // key_share x25519
  if (opts.quic === true) {
    // initial_max_data (0x04) = 1 MiB, initial_source_connection_id (0x0f) left out: minimal but well-formed.
    exts.push(...ext(0x0039, [0x04, 0x04, 0x80, 0x10, 0x00, 0x00]));
  }
  body.push(...u16(exts.length), ...exts);
  return new Uint8Array([1, (body.length >> 16) & 255, (body.length >> 8) & 255, body.length & 255, ...body]);
}

/** ServerHello handshake message echoing `sessionId` (may be empty), TLS 1.3, x25519. */
export function serverHello(sessionId: Uint8Array, rng: Rng): Uint8Array {
  const exts = [...ext(0x002b, [0x03, 0x04]), ...ext(0x0033, [0x00, 0x1d, 0, 32, ...rng.bytes(32)])];
  const body = [0x03, 0x03, ...rng.bytes(32), sessionId.length, ...sessionId, 0x13, 0x01, 0, ...u16(exts.length), ...exts];
  return new Uint8Array([2, (body.length >> 16) & 255, (body.length >> 8) & 255, body.length & 255, ...body]);
}

/** Wrap handshake bytes in a TLS record (content type 22, legacy version 0x0301 for ClientHello else 0x0303). */
export function record(contentType: number, version: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = contentType; out[1] = version >> 8; out[2] = version & 255;
  out[3] = body.length >> 8; out[4] = body.length & 255;
  out.set(body, 5);
  return out;
}

/** Session id of a ClientHello handshake message (for the ServerHello echo). */
export function clientHelloSessionId(ch: Uint8Array): Uint8Array {
  const len = ch[4 + 34]!;
  return ch.slice(4 + 35, 4 + 35 + len);
}
