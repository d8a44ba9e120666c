/**
 * QUIC v1 Initial packet protection (RFC 9001 §5): keys from the client's Destination Connection ID via
 * HKDF-SHA256 with the v1 initial salt, AES-128-GCM payload protection and AES-128-ECB header protection.
 * Used by the synthetic generator (protect) and its tests (unprotect); node:crypto only.
 */
import { builtin } from '../builtins.js';

/** RFC 9001 §5.2 initial_salt for QUIC version 1. */
export const QUIC_V1_INITIAL_SALT = Uint8Array.from(Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex'));

function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Buffer {
  return builtin('node:crypto').createHmac('sha256', salt).update(ikm).digest();
}

/** HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, for outputs up to 32 bytes (one HMAC block). */
export function hkdfExpandLabel(secret: Uint8Array, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 255, full.length]), full, Buffer.from([0])]);
  return builtin('node:crypto').createHmac('sha256', secret).update(info).update(Buffer.from([1])).digest().subarray(0, length);
}

export interface InitialKeys {
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

/** Client or server Initial keys for the client's original Destination Connection ID. */
export function initialKeys(dcid: Uint8Array, side: 'client' | 'server'): InitialKeys {
  const initial = hkdfExtract(QUIC_V1_INITIAL_SALT, dcid);
  const secret = hkdfExpandLabel(initial, side === 'client' ? 'client in' : 'server in', 32);
  return { key: hkdfExpandLabel(secret, 'quic key', 16), iv: hkdfExpandLabel(secret, 'quic iv', 12), hp: hkdfExpandLabel(secret, 'quic hp', 16) };
}

function nonce(iv: Buffer, pn: number): Buffer {
  const n = Buffer.from(iv);
  for (let i = 0; i < 4; i++) n[11 - i]! ^= (pn >>> (8 * i)) & 255;
  return n;
}

function hpMask(hp: Buffer, sample: Uint8Array): Buffer {
  const c = builtin('node:crypto').createCipheriv('aes-128-ecb', hp, null);
  c.setAutoPadding(false);
  return c.update(sample);
}

/**
 * Protect a long-header packet: `header` ends with the packet number (`pnLen` bytes, value `pn`), `plain` is
 * the frame payload. Returns header + ciphertext + 16-byte tag with header protection applied (§5.3, §5.4).
 */
export function protectLong(header: Uint8Array, pnLen: number, pn: number, plain: Uint8Array, keys: InitialKeys): Uint8Array {
  const c = builtin('node:crypto').createCipheriv('aes-128-gcm', keys.key, nonce(keys.iv, pn));
  c.setAAD(header);
  const ct = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  const out = new Uint8Array(header.length + ct.length);
  out.set(header, 0);
  out.set(ct, header.length);
  const pnOff = header.length - pnLen;
  const mask = hpMask(keys.hp, out.subarray(pnOff + 4, pnOff + 20));
  out[0]! ^= mask[0]! & 0x0f;
  for (let i = 0; i < pnLen; i++) out[pnOff + i]! ^= mask[1 + i]!;
  return out;
}

function readVarint(b: Uint8Array, o: number): [number, number] {
  const first = b[o]!;
  const len = 1 << (first >> 6);
  let v = first & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + b[o + i]!;
  return [v, len];
}

/**
 * Remove Initial protection from a whole long-header packet (first packet of a datagram). Returns the plaintext
 * frames and the packet number, or null when the tag does not verify. Independent of protectLong: it parses
 * the header from the wire bytes.
 */
export function unprotectInitial(pkt: Uint8Array, keys: InitialKeys): { pn: number; frames: Uint8Array } | null {
  let o = 5;
  o += 1 + pkt[o]!; // DCID
  o += 1 + pkt[o]!; // SCID
  const [tokLen, tl] = readVarint(pkt, o);
  o += tl + tokLen;
  const [len, ll] = readVarint(pkt, o);
  o += ll;
  const pnOff = o;
  const mask = hpMask(keys.hp, pkt.subarray(pnOff + 4, pnOff + 20));
  const first = pkt[0]! ^ (mask[0]! & 0x0f);
  const pnLen = (first & 3) + 1;
  const header = Uint8Array.from(pkt.subarray(0, pnOff + pnLen));
  header[0] = first;
  let pn = 0;
  for (let i = 0; i < pnLen; i++) {
    header[pnOff + i] = pkt[pnOff + i]! ^ mask[1 + i]!;
    pn = pn * 256 + header[pnOff + i]!;
  }
  const end = pnOff + len;
  const ct = pkt.subarray(pnOff + pnLen, end - 16);
  const tag = pkt.subarray(end - 16, end);
  try {
    const d = builtin('node:crypto').createDecipheriv('aes-128-gcm', keys.key, nonce(keys.iv, pn));
    d.setAAD(header);
    d.setAuthTag(tag);
    return { pn, frames: new Uint8Array(Buffer.concat([d.update(ct), d.final()])) };
  } catch {
    return null;
  }
}
