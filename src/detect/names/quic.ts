/**
 * QUIC v1 (RFC 9000/9001), v2 (RFC 9369) and IETF drafts 29–32 client Initial decryption (spec: parts/3-tls-quic-sslvpn.md
 * §"QUIC v1 and v2 Initial packets").
 *
 * Owns: the long-header walk, initial-secret derivation (HKDF-SHA256 from the version salt and the DCID, via
 * plain-JS HMAC, quic-keys.ts), header-protection removal (AES-128-ECB mask), AES-128-GCM payload decryption, CRYPTO frame
 * collection (any order, within one packet; duplicates must agree) and the ClientHello parse (shared walker in
 * tls.ts). Keys are public by design (RFC 9001 §5.2), so this is reading, not breaking, encryption.
 * Must never: throw (a bad tag is "not an Initial"), mutate the input, decrypt anything but client Initials,
 * or accept frames other than those RFC 9000 §12.4 allows in Initial packets.
 *
 * Multi-packet ClientHellos: only the CRYPTO bytes of this packet are used; when they do not reach the
 * server_name extension the result carries no SNI (`complete: false`).
 * Cost per candidate packet: 5 HMAC-SHA256 and one AES block in plain JS (quic-keys.ts: node:crypto's per-call set-up
 * cost more than the work), one node:crypto AES-GCM pass over ≤ 1.5 KB; nothing for datagrams that fail the
 * first-byte/version/length gate.
 */
import { builtin } from '../../builtins.js';
import { aes128Block, expandLabelInfo, hmacKeyState, hmacShort } from './quic-keys.js';
import { findSniExtension, HELLO_MAX, HelloKind, parseHandshakeHello, type ClientHelloInfo } from './tls.js';
import { scratchText, TEXT_SCRATCH } from '../../text.js';

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

const LABEL_INFO: Record<string, Uint8Array> = {};
for (const [label, len] of [['client in', 32], ['server in', 32], ['quic key', 16], ['quic iv', 12], ['quic hp', 16], ['quicv2 key', 16], ['quicv2 iv', 12], ['quicv2 hp', 16]] as const) {
  LABEL_INFO[label] = expandLabelInfo(label, len);
}
const SALT_STATES = new Map<Uint8Array, Int32Array>();
function saltState(salt: Uint8Array): Int32Array {
  let st = SALT_STATES.get(salt);
  if (!st) {
    st = new Int32Array(16);
    hmacKeyState(salt, 0, salt.length, st);
    SALT_STATES.set(salt, st);
  }
  return st;
}
const PRK = new Uint8Array(32);
const KS = new Int32Array(16);
const OUT = new Uint8Array(32);
/** Scratch keys of the last {@link deriveInitialKeys} call. */
const KEY = new Uint8Array(16);
const IV = new Uint8Array(12);
const HP = new Uint8Array(16);

/** HKDF-Expand-Label (RFC 8446 §7.1), empty context, L ≤ 32: one HMAC over the precomputed label info. */
function expandLabel(secretState: Int32Array, label: string, into: Uint8Array): void {
  const info = LABEL_INFO[label]!;
  hmacShort(secretState, info, 0, info.length, OUT, 0);
  into.set(OUT.subarray(0, into.length));
}

/** Initial keys for a version and DCID (≤ 20 bytes) into the module scratch KEY/IV/HP. */
function deriveInitialKeys(version: number, dcid: Uint8Array, side: 'client' | 'server'): void {
  const v2 = version === QUIC_V2;
  const salt = v2 ? SALT_V2 : isDraft29to32(version) ? SALT_DRAFT29 : SALT_V1;
  hmacShort(saltState(salt), dcid, 0, dcid.length, PRK, 0); // HKDF-Extract(salt, DCID)
  hmacKeyState(PRK, 0, 32, KS);
  expandLabel(KS, side === 'client' ? 'client in' : 'server in', PRK);
  hmacKeyState(PRK, 0, 32, KS);
  expandLabel(KS, v2 ? 'quicv2 key' : 'quic key', KEY);
  expandLabel(KS, v2 ? 'quicv2 iv' : 'quic iv', IV);
  expandLabel(KS, v2 ? 'quicv2 hp' : 'quic hp', HP);
}

/** Client (or server) Initial keys for a version and the client's first DCID (RFC 9001 §5.2, RFC 9369 §3.3). */
export function initialKeys(version: number, dcid: Uint8Array, side: 'client' | 'server' = 'client'): InitialKeys {
  if (dcid.length > MAX_CID) throw new RangeError(`DCID of ${dcid.length} bytes (QUIC v1/v2 allow at most ${MAX_CID})`);
  deriveInitialKeys(version, dcid, side);
  return { key: Buffer.from(KEY), iv: Buffer.from(IV), hp: Buffer.from(HP) };
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

/** Lower-case hex of `b[p, p + n)` (a connection id: at most 20 bytes), decoded once from the text scratch. */
function hex(b: Uint8Array, p: number, n: number): string {
  for (let k = 0; k < n; k++) {
    const hi = b[p + k]! >> 4, lo = b[p + k]! & 15;
    TEXT_SCRATCH[2 * k] = hi < 10 ? 48 + hi : 87 + hi;
    TEXT_SCRATCH[2 * k + 1] = lo < 10 ? 48 + lo : 87 + lo;
  }
  return scratchText(2 * n);
}

/** AES-128-GCM open with the scratch KEY; null on a bad tag. The only try/catch: node:crypto reports a bad tag by throwing. */
function gcmOpen(nonce: Uint8Array, aad: Uint8Array, ct: Uint8Array, tag: Uint8Array): Buffer | null {
  try {
    const d = builtin('node:crypto').createDecipheriv('aes-128-gcm', KEY, nonce);
    d.setAAD(aad);
    d.setAuthTag(tag);
    const pt = d.update(ct);
    d.final(); // verifies the tag; GCM returns no further bytes
    return pt;
  } catch {
    return null;
  }
}

const MASK = new Uint8Array(16);
const NONCE = new Uint8Array(12);

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
  if (kd.length > MAX_CID) return null;
  deriveInitialKeys(version, kd, 'client');
  aes128Block(HP, b, pnOffset + 4, MASK); // header-protection mask: AES-ECB of the 16-byte sample
  const mask = MASK;
  const first = b[off]! ^ (mask[0]! & 0x0f);
  if ((first & 0x0c) !== 0) return null; // reserved bits must be zero after unprotection
  const pnLen = (first & 0x03) + 1;
  // A copy whatever `b` is: Buffer#slice is a view, and unprotecting the header in it rewrote the caller's packet.
  const hdr = Uint8Array.prototype.slice.call(b, off, pnOffset + pnLen);
  hdr[0] = first;
  let pn = 0;
  for (let k = 0; k < pnLen; k++) {
    const v = b[pnOffset + k]! ^ mask[1 + k]!;
    hdr[pnOffset - off + k] = v;
    pn = pn * 256 + v;
  }
  const nonce = NONCE;
  nonce.set(IV);
  for (let k = 0; k < 4; k++) nonce[11 - k]! ^= Math.floor(pn / 2 ** (8 * k)) & 0xff;
  const ctStart = pnOffset + pnLen;
  const ctEnd = pnOffset + length - TAG_LEN;
  if (ctEnd <= ctStart) return null;
  const pt = gcmOpen(nonce, hdr, b.subarray(ctStart, ctEnd), b.subarray(ctEnd, ctEnd + TAG_LEN));
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
  // The decrypted payload is the client's: wipe it rather than leave it to the collector (results are strings).
  pt.fill(0);
  crypto?.buf.fill(0);
  return { version, dcid: hex(kd, 0, kd.length), packetNumber: pn, hello, laterSni, packetLen: pnOffset + length - off };
}
