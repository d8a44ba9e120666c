/**
 * Flow traits: small facts about a flow's first packets that outlive its payload snippets (which are freed once
 * the verdict is final). Two users: the companion rules (a TLS flow, a DTLS data channel, STUN, ESP shape), and
 * the engine's early end of inspection for flows that are TLS or QUIC from their first byte (after the
 * handshake packets every later byte is encrypted, so no detector rule and no name can match there).
 */
import type { FlowView } from '../detect/types.js';
import { IPPROTO_TCP, IPPROTO_UDP, u8, u32be } from '../detect/types.js';
import { ESP_STRONG_RUN, espSeqRun } from '../detect/esp.js';
import { IKE_HEADER_LEN, NATT_PORT, NON_ESP_MARKER_LEN } from '../detect/ike.js';
import { parseDtlsClientHello } from '../detect/names/dtls.js';

/** TCP: the initiator's first payload is a TLS handshake record carrying a ClientHello. */
export const TRAIT_TLS_HELLO = 1;
/** UDP: the initiator's first datagram is a whole DTLS ClientHello without use_srtp. */
export const TRAIT_DTLS_HELLO = 2;
/** UDP: a recorded packet is a STUN message (magic cookie). */
export const TRAIT_STUN = 4;
/** UDP: ≥ 3 ESP-shaped packets one way (constant SPI ≥ 256, sequence +1). */
export const TRAIT_ESP = 8;
/**
 * TCP with TRAIT_TLS_HELLO: a responder packet starts with a ChangeCipherSpec or application-data record — the
 * server's cleartext handshake (and its TLS ≤ 1.2 certificate) is over.
 */
export const TRAIT_TLS_SERVER = 16;
/** UDP: the initiator's first datagram is a QUIC Initial whose ClientHello was read (decrypted) or a gQUIC CHLO. */
export const TRAIT_QUIC = 32;
/** UDP with TRAIT_QUIC: that first Initial held the whole ClientHello (nothing more to read from the flow). */
export const TRAIT_QUIC_HELLO_DONE = 64;
/** UDP 4500: a recorded packet is IKE behind the 4-byte zero non-ESP marker (RFC 3948 §2.2). */
export const TRAIT_IKE_MARKER = 128;
/** Both sides of a TCP flow speak TLS. */
export const TRAIT_TLS_BOTH = TRAIT_TLS_HELLO | TRAIT_TLS_SERVER;

/** GlobalProtect's ESP-in-UDP port (reference part 2/3). */
export const GLOBALPROTECT_ESP_PORT = 4501;
const STUN_COOKIE = 0x2112a442;

/**
 * Trait of a flow's first payload packet (index 0, the only time its whole payload is visible to the caller):
 * TLS or DTLS ClientHello from the initiator, else 0. Byte gates first; the DTLS parse runs only on `16 fe`/`16 01`.
 */
export function helloTrait(f: FlowView): number {
  if (f.nPackets < 1 || f.dir(0) !== 0) return 0;
  if (f.transport === IPPROTO_TCP) {
    // TLS record header: handshake (22), version 3.x, then handshake type 1 (ClientHello).
    return u8(f, 0, 0) === 0x16 && u8(f, 0, 1) === 0x03 && u8(f, 0, 2) <= 0x04 && u8(f, 0, 5) === 0x01 ? TRAIT_TLS_HELLO : 0;
  }
  if (f.transport !== IPPROTO_UDP || u8(f, 0, 0) !== 0x16) return 0;
  const v = u8(f, 0, 1);
  if (v !== 0xfe && v !== 0x01) return 0;
  const h = parseDtlsClientHello(f.buf(0), f.start(0), f.avail(0), f.len(0));
  // Absence of use_srtp can only be asserted on a whole, unfragmented hello.
  return h !== null && h.complete && !h.fragmented && !h.hasUseSrtp ? TRAIT_DTLS_HELLO : 0;
}

/** True when packet i starts with a ChangeCipherSpec (20) or application-data (23) record, version 3.0–3.4. */
export function tlsEncryptedAt(f: FlowView, i: number): boolean {
  const ct = u8(f, i, 0);
  return (ct === 0x14 || ct === 0x17) && u8(f, i, 1) === 0x03 && u8(f, i, 2) <= 0x04;
}

/** Ports whose ESP-in-UDP shape is looked for: GlobalProtect's 4501 and the SSL-VPN ESP ports (default 4500). */
export function espPortMask(sslVpnEspPorts: readonly number[] = [NATT_PORT]): Uint8Array {
  const m = new Uint8Array(65536);
  m[GLOBALPROTECT_ESP_PORT] = 1;
  for (const p of sslVpnEspPorts) m[p] = 1;
  return m;
}
const DEFAULT_ESP_PORTS = espPortMask();

/** Traits visible in the flow's recorded packet snippets (first bytes of each): STUN, ESP shape, IKE on 4500. */
export function snippetTraits(f: FlowView, espPorts: Uint8Array = DEFAULT_ESP_PORTS): number {
  if (f.transport !== IPPROTO_UDP) return 0;
  let t = 0;
  const n = f.nPackets;
  for (let i = 0; i < n; i++) {
    // STUN (RFC 5389 §6): two leading zero bits, magic cookie at offset 4.
    if ((u8(f, i, 0) & 0xc0) === 0 && u32be(f, i, 4) === STUN_COOKIE) t |= TRAIT_STUN;
  }
  const natt = f.dstPort === NATT_PORT || f.srcPort === NATT_PORT;
  if (natt) {
    // Non-ESP marker then at least an IKE header (28 bytes): IKE shares this 5-tuple.
    for (let i = 0; i < n; i++) if (u32be(f, i, 0) === 0 && f.len(i) >= NON_ESP_MARKER_LEN + IKE_HEADER_LEN) t |= TRAIT_IKE_MARKER;
  }
  if (espPorts[f.dstPort] === 1 || espPorts[f.srcPort] === 1) {
    for (let i = n - 1; i >= ESP_STRONG_RUN - 1; i--) {
      if (espSeqRun(f, i, f.dir(i), 0, false) >= ESP_STRONG_RUN) {
        t |= TRAIT_ESP;
        break;
      }
    }
  }
  return t;
}
