/**
 * QUIC v1 (RFC 9000/9001), v2 (RFC 9369) and IETF drafts 29–32 client Initial decryption (spec: parts/3-tls-quic-sslvpn.md
 * §"QUIC v1 and v2 Initial packets").
 *
 * Owns: the long-header walk, initial-secret derivation (HKDF-SHA256 from the version salt and the DCID, via
 * node:crypto HMAC), header-protection removal (AES-128-ECB mask), AES-128-GCM payload decryption, CRYPTO frame
 * collection (any order, within one packet; duplicates must agree) and the ClientHello parse (shared walker in
 * tls.ts). Keys are public by design (RFC 9001 §5.2), so this is reading, not breaking, encryption.
 * Must never: throw (a bad tag is "not an Initial"), mutate the input, decrypt anything but client Initials,
 * or accept frames other than those RFC 9000 §12.4 allows in Initial packets.
 *
 * Multi-packet ClientHellos: only the CRYPTO bytes of this packet are used; when they do not reach the
 * server_name extension the result carries no SNI (`complete: false`).
 * Cost per candidate packet: 6 HMAC-SHA256, one AES block, one AES-GCM pass over ≤ 1.5 KB; nothing for
 * datagrams that fail the first-byte/version/length gate.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { findSniExtension, HELLO_MAX, HelloKind, parseHandshakeHello, type ClientHelloInfo } from './tls.js';

export const QUIC_V1 = 0x00000001;
export const QUIC_V2 = 0x6b3343cf;

const SALT_V1 = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');
const SALT_V2 = Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex');
/** IETF drafts 29–32 (`ff00001d`–`ff000020`): v1 labels and packet types, their own salt (spec "Other versions"). */
const SALT_DRAFT29 = Buffer.from('afbfec289993d24c9e9786f19c6111e04390a899', 'hex');
export const QUIC_DRAFT29 = 0xff00001d;
export const QUIC_DRAFT32 = 0xff000020;

function isDraft29to32(v: number): boolean {
  return v >= QUIC_DRAFT29 && v <= QUIC_DRAFT32;
}
const TAG_LEN = 16;
const SAMPLE_LEN = 16;
const MAX_CID = 20;

export interface QuicInitialInfo {
  version: number;
  /** Destination Connection ID (hex) the keys were derived from. */
  dcid: string;
  /** Packet number after header-protection removal. */
  packetNumber: number;
  /** ClientHello from this packet's CRYPTO frames (null when offset 0 is not in this packet). */
  hello: ClientHelloInfo | null;
  /**
   * When `hello` has no SNI (offset 0 not in this packet, or holes before the extension — a ClientHello spread
   * over several Initials, e.g. with a post-quantum key share): a server_name extension found whole in this
   * packet's CRYPTO bytes, else null.
   */
  laterSni: string | null;
  /** Length of the first long-header packet (the Initial) in bytes. */
  packetLen: number;
}

export interface InitialKeys {
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

/** HKDF-Expand-Label (RFC 8446 §7.1) with empty context, L ≤ 32 (one HMAC-SHA256 block). */
export function hkdfExpandLabel(secret: Uint8Array, label: string, length: number): Buffer {
  const full = 'tls13 ' + label;
  const info = Buffer.alloc(4 + full.length + 1);
  info[0] = length >> 8;
  info[1] = length & 0xff;
  info[2] = full.length;
  info.write(full, 3, 'latin1');
  info[3 + full.length] = 0; // empty context
  info[4 + full.length] = 1; // HKDF-Expand counter T(1)
  return createHmac('sha256', secret).update(info).digest().subarray(0, length);
}

/** Client (or server) Initial keys for a version and the client's first DCID (RFC 9001 §5.2, RFC 9369 §3.3). */
export function initialKeys(version: number, dcid: Uint8Array, side: 'client' | 'server' = 'client'): InitialKeys {
  const v2 = version === QUIC_V2;
  const salt = v2 ? SALT_V2 : isDraft29to32(version) ? SALT_DRAFT29 : SALT_V1;
  const initial = createHmac('sha256', salt).update(dcid).digest();
  const secret = hkdfExpandLabel(initial, side === 'client' ? 'client in' : 'server in', 32);
  return {
    key: hkdfExpandLabel(secret, v2 ? 'quicv2 key' : 'quic key', 16),
    iv: hkdfExpandLabel(secret, v2 ? 'quicv2 iv' : 'quic iv', 12),
    hp: hkdfExpandLabel(secret, v2 ? 'quicv2 hp' : 'quic hp', 16),
  };
}

/** RFC 9000 §16 varint at p; returns value (as a double, exact to 2^53) or -1 when it does not fit before end. */
function varint(b: Uint8Array, p: number, end: number): number {
  if (p >= end) return -1;
  const n = 1 << (b[p]! >> 6);
  if (p + n > end) return -1;
  let v = b[p]! & 0x3f;
  for (let k = 1; k < n; k++) v = v * 256 + b[p + k]!;
  return v;
}
function varintLen(b: Uint8Array, p: number): number {
  return 1 << (b[p]! >> 6);
}

/** Cheap gate: long header with the fixed bit, v1, v2 or drafts 29–32, Initial packet type. No allocation. */
export function looksLikeInitial(b: Uint8Array, off: number, len: number): boolean {
  if (len < 7 + 20) return false;
  const f = b[off]!;
  if ((f & 0xc0) !== 0xc0) return false;
  const v = ((b[off + 1]! << 24) | (b[off + 2]! << 16) | (b[off + 3]! << 8) | b[off + 4]!) >>> 0;
  const type = (f >> 4) & 3;
  if (v === QUIC_V1 || isDraft29to32(v)) return type === 0;
  if (v === QUIC_V2) return type === 1;
  return false;
}

function hex(b: Uint8Array, p: number, n: number): string {
  let s = '';
  for (let k = 0; k < n; k++) s += (b[p + k]! < 16 ? '0' : '') + b[p + k]!.toString(16);
  return s;
}

/** AES-GCM open; null on a bad tag. The only try/catch: node:crypto reports a bad tag by throwing. */
function gcmOpen(keys: InitialKeys, nonce: Buffer, aad: Uint8Array, ct: Uint8Array, tag: Uint8Array): Buffer | null {
  try {
    const d = createDecipheriv('aes-128-gcm', keys.key, nonce);
    d.setAAD(aad);
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ct), d.final()]);
  } catch {
    return null;
  }
}

/**
 * Collects CRYPTO frames of a decrypted Initial payload into one buffer. Returns the length of the contiguous
 * prefix from stream offset 0 (bytes available to the TLS parser) and the buffer, or null when the frames are
 * malformed, conflict, or exceed the 16 KiB budget.
 */
export function collectCrypto(pt: Uint8Array): { buf: Uint8Array; prefix: number; first: number } | null {
  // First pass: find the highest CRYPTO end so the buffer is sized once.
  let maxEnd = 0;
  for (let pass = 0; pass < 2; pass++) {
    const buf = pass === 1 ? new Uint8Array(maxEnd) : null;
    const have = pass === 1 ? new Uint8Array(maxEnd) : null;
    let p = 0;
    const end = pt.length;
    while (p < end) {
      const t = pt[p]!;
      if (t === 0x00 || t === 0x01) {
        p++;
      } else if (t === 0x02 || t === 0x03) {
        p++;
        const nFields = 4;
        let ranges = 0;
        for (let k = 0; k < nFields; k++) {
          const v = varint(pt, p, end);
          if (v < 0) return null;
          if (k === 2) ranges = v;
          p += varintLen(pt, p);
        }
        if (ranges > 256) return null;
        for (let r = 0; r < ranges * 2 + (t === 0x03 ? 3 : 0); r++) {
          if (varint(pt, p, end) < 0) return null;
          p += varintLen(pt, p);
        }
      } else if (t === 0x06) {
        p++;
        const o = varint(pt, p, end);
        if (o < 0) return null;
        p += varintLen(pt, p);
        const l = varint(pt, p, end);
        if (l < 0) return null;
        p += varintLen(pt, p);
        if (p + l > end || o + l > HELLO_MAX + 4) return null;
        if (buf && have) {
          for (let k = 0; k < l; k++) {
            const x = o + k;
            if (have[x] && buf[x] !== pt[p + k]) return null;
            buf[x] = pt[p + k]!;
            have[x] = 1;
          }
        } else if (o + l > maxEnd) maxEnd = o + l;
        p += l;
      } else {
        // CONNECTION_CLOSE (1c) or a frame not allowed in an Initial: stop reading frames.
        break;
      }
    }
    if (buf && have) {
      let prefix = 0;
      while (prefix < maxEnd && have[prefix]) prefix++;
      let first = prefix > 0 ? 0 : maxEnd;
      for (let k = 0; k < maxEnd && first === maxEnd; k++) if (have[k]) first = k;
      return { buf, prefix, first };
    }
    if (maxEnd === 0) return { buf: new Uint8Array(0), prefix: 0, first: 0 };
  }
  return null;
}

/**
 * Decrypts the client Initial at the start of a UDP payload and parses the ClientHello in it.
 * Returns null unless the AEAD tag verifies with the keys derived for the packet's version and DCID — or, for a
 * client's later Initial, `keyDcid`: Initial keys always come from the client's first DCID (RFC 9001 §5.2),
 * even after the server has chosen a new connection ID.
 *
 * @example parseQuicInitial(datagram, 0, datagram.length)?.hello?.sni // 'example.com' for RFC 9001 App. A
 */
export function parseQuicInitial(b: Uint8Array, off: number, len: number, keyDcid?: Uint8Array): QuicInitialInfo | null {
  if (off < 0 || off + len > b.length || !looksLikeInitial(b, off, len)) return null;
  const end = off + len;
  const version = ((b[off + 1]! << 24) | (b[off + 2]! << 16) | (b[off + 3]! << 8) | b[off + 4]!) >>> 0;
  let p = off + 5;
  const dl = b[p]!;
  if (dl > MAX_CID || p + 1 + dl >= end) return null;
  const dcidAt = p + 1;
  p += 1 + dl;
  const sl = b[p]!;
  if (sl > MAX_CID || p + 1 + sl >= end) return null;
  p += 1 + sl;
  const tl = varint(b, p, end);
  if (tl < 0) return null;
  p += varintLen(b, p);
  if (p + tl > end) return null;
  p += tl;
  const length = varint(b, p, end);
  if (length < 0) return null;
  p += varintLen(b, p);
  const pnOffset = p;
  if (length < 4 + TAG_LEN || pnOffset + length > end || pnOffset + 4 + SAMPLE_LEN > end) return null;
  const kd = keyDcid ?? b.subarray(dcidAt, dcidAt + dl);
  const keys = initialKeys(version, kd);
  const ecb = createCipheriv('aes-128-ecb', keys.hp, null);
  ecb.setAutoPadding(false);
  const mask = ecb.update(b.subarray(pnOffset + 4, pnOffset + 4 + SAMPLE_LEN));
  const first = b[off]! ^ (mask[0]! & 0x0f);
  if ((first & 0x0c) !== 0) return null; // reserved bits must be zero after unprotection
  const pnLen = (first & 0x03) + 1;
  const hdr = Buffer.from(b.subarray(off, pnOffset + pnLen));
  hdr[0] = first;
  let pn = 0;
  for (let k = 0; k < pnLen; k++) {
    const v = b[pnOffset + k]! ^ mask[1 + k]!;
    hdr[pnOffset - off + k] = v;
    pn = pn * 256 + v;
  }
  const nonce = Buffer.from(keys.iv);
  for (let k = 0; k < 4; k++) nonce[11 - k]! ^= Math.floor(pn / 2 ** (8 * k)) & 0xff;
  const ctStart = pnOffset + pnLen;
  const ctEnd = pnOffset + length - TAG_LEN;
  if (ctEnd <= ctStart) return null;
  const pt = gcmOpen(keys, nonce, hdr, b.subarray(ctStart, ctEnd), b.subarray(ctEnd, ctEnd + TAG_LEN));
  if (pt === null) return null;
  const crypto = collectCrypto(pt);
  let hello: ClientHelloInfo | null = null;
  let laterSni: string | null = null;
  if (crypto && crypto.prefix >= 4) {
    hello = parseHandshakeHello(crypto.buf, 0, crypto.prefix, HelloKind.Quic);
    if (hello) hello.sniOffset = -1; // offsets refer to decrypted CRYPTO data, not the datagram
  }
  if (crypto && !hello?.sni && crypto.first < crypto.buf.length) {
    // The ClientHello is spread over several Initials, or this packet's CRYPTO frames leave holes (clients
    // shuffle and split them): look for a whole server_name extension in the bytes this packet carries. Holes
    // read as zeros, which no host name contains, so a match cannot be made of missing bytes.
    laterSni = findSniExtension(crypto.buf, crypto.first, crypto.buf.length - crypto.first)?.sni ?? null;
  }
  return { version, dcid: hex(kd, 0, kd.length), packetNumber: pn, hello, laterSni, packetLen: pnOffset + length - off };
}
