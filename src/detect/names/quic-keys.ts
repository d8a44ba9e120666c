/**
 * QUIC Initial key derivation (RFC 9001 §5.2, RFC 9369 §3.3) and the header-protection mask (RFC 9001 §5.4.3) in
 * plain JS: SHA-256 (FIPS 180-4), HMAC (RFC 2104) and one AES-128 block (FIPS 197).
 *
 * Why not node:crypto: every derivation needs five HMACs and one AES block on a few dozen bytes each, and node's
 * per-call object set-up (~3 µs per createHmac/createCipheriv) cost more than the whole computation — QUIC Initials
 * were the largest single item of the classifier's per-flow cost. These run on fixed-size module scratch (no
 * allocation but the returned keys), and the inputs are short by construction: the messages hashed here are at
 * most 55 bytes (one final SHA-256 block), which the DCID (≤ 20 bytes) and the HKDF labels satisfy. The bulk
 * AES-GCM decryption of the payload stays with node:crypto (OpenSSL's AES-NI beats any JS loop over 1.2 KB).
 * Tested against node:crypto on random inputs (test/detect/names/quic-keys.test.ts).
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
  0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
  0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
  0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const H0 = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
/** Message schedule; words 0–15 are the block being compressed (callers fill them, big-endian words). */
const W = new Int32Array(64);

/** One SHA-256 compression of the block in W[0..15] into the 8 words of `st` at `so`. */
function compress(st: Int32Array, so: number): void {
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15]!, y = W[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = st[so]!, bb = st[so + 1]!, c = st[so + 2]!, d = st[so + 3]!, e = st[so + 4]!, f = st[so + 5]!, g = st[so + 6]!, h = st[so + 7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + t2) | 0;
  }
  st[so] = (st[so]! + a) | 0;
  st[so + 1] = (st[so + 1]! + bb) | 0;
  st[so + 2] = (st[so + 2]! + c) | 0;
  st[so + 3] = (st[so + 3]! + d) | 0;
  st[so + 4] = (st[so + 4]! + e) | 0;
  st[so + 5] = (st[so + 5]! + f) | 0;
  st[so + 6] = (st[so + 6]! + g) | 0;
  st[so + 7] = (st[so + 7]! + h) | 0;
}

/** Byte j of b[off, off+len), zero past the end. */
function byteAt(b: Uint8Array, off: number, len: number, j: number): number {
  return j < len ? b[off + j]! : 0;
}

/**
 * W[0..15] = the last block of a message: `len` (≤ 55) bytes of b at off, then 0x80, zeros and the bit length of
 * `prefixBytes + len` (FIPS 180-4 §5.1.1). Words are assembled directly: no byte staging, no clearing pass.
 */
function loadFinalBlock(b: Uint8Array, off: number, len: number, prefixBytes: number): void {
  for (let i = 0; i < 14; i++) {
    const j = 4 * i;
    let w = 0;
    for (let k = 0; k < 4; k++) w = (w << 8) | (j + k < len ? b[off + j + k]! : j + k === len ? 0x80 : 0);
    W[i] = w;
  }
  W[14] = 0;
  W[15] = (prefixBytes + len) * 8;
}

/**
 * HMAC-SHA256 key states: words 0–7 the state after the ipad block, 8–15 after the opad block (RFC 2104 with the
 * key ≤ 64 bytes, zero-padded). Computing them once per key saves two compressions on every later message.
 */
export function hmacKeyState(key: Uint8Array, koff: number, klen: number, out: Int32Array): void {
  for (let pass = 0; pass < 2; pass++) {
    const pad = pass === 0 ? 0x36363636 : 0x5c5c5c5c;
    for (let i = 0; i < 16; i++) {
      const j = 4 * i;
      W[i] = ((byteAt(key, koff, klen, j) << 24) | (byteAt(key, koff, klen, j + 1) << 16) | (byteAt(key, koff, klen, j + 2) << 8) | byteAt(key, koff, klen, j + 3)) ^ pad;
    }
    out.set(H0, pass * 8);
    compress(out, pass * 8);
  }
}

const ST = new Int32Array(8);

/** HMAC-SHA256(key state, msg) for msg ≤ 55 bytes, 32 bytes into out[ooff…]. */
export function hmacShort(ks: Int32Array, msg: Uint8Array, moff: number, mlen: number, out: Uint8Array, ooff: number): void {
  if (mlen > 55) throw new RangeError('hmacShort: message longer than one block');
  for (let i = 0; i < 8; i++) ST[i] = ks[i]!;
  loadFinalBlock(msg, moff, mlen, 64);
  compress(ST, 0);
  // The outer message is the 32-byte inner digest: its words go straight into the block.
  for (let i = 0; i < 8; i++) {
    W[i] = ST[i]!;
    ST[i] = ks[8 + i]!;
  }
  W[8] = 0x80000000 | 0;
  for (let i = 9; i < 15; i++) W[i] = 0;
  W[15] = (64 + 32) * 8;
  compress(ST, 0);
  wordsToBytes(ST, out, ooff);
}

function wordsToBytes(st: Int32Array, out: Uint8Array, o: number): void {
  for (let i = 0; i < 8; i++) put32(out, o + 4 * i, st[i]!);
}

/** The HkdfLabel of RFC 8446 §7.1 with empty context, followed by HKDF-Expand's counter byte 1. */
export function expandLabelInfo(label: string, length: number): Uint8Array {
  const full = 'tls13 ' + label;
  const info = new Uint8Array(4 + full.length + 1);
  info[0] = length >> 8;
  info[1] = length & 0xff;
  info[2] = full.length;
  for (let i = 0; i < full.length; i++) info[3 + i] = full.charCodeAt(i);
  info[3 + full.length] = 0;
  info[4 + full.length] = 1;
  return info;
}

// ---- AES-128, one block (FIPS 197) ----

const SBOX = new Uint8Array(256);
const T0 = new Int32Array(256), T1 = new Int32Array(256), T2 = new Int32Array(256), T3 = new Int32Array(256);
(() => {
  // S-box from the multiplicative inverse in GF(2^8) and the affine map (FIPS 197 §5.1.1).
  let p = 1, q = 1;
  do {
    p = p ^ ((p << 1) & 0xff) ^ (p & 0x80 ? 0x1b : 0);
    q ^= q << 1;
    q ^= q << 2;
    q ^= q << 4;
    q &= 0xff;
    if (q & 0x80) q ^= 0x09;
    const x = q ^ ((q << 1) | (q >> 7)) ^ ((q << 2) | (q >> 6)) ^ ((q << 3) | (q >> 5)) ^ ((q << 4) | (q >> 4));
    SBOX[p] = (x ^ 0x63) & 0xff;
  } while (p !== 1);
  SBOX[0] = 0x63;
  for (let i = 0; i < 256; i++) {
    const s = SBOX[i]!;
    const s2 = ((s << 1) ^ (s & 0x80 ? 0x11b : 0)) & 0xff;
    const s3 = s2 ^ s;
    const t = (s2 << 24) | (s << 16) | (s << 8) | s3;
    T0[i] = t;
    T1[i] = (t >>> 8) | (t << 24);
    T2[i] = (t >>> 16) | (t << 16);
    T3[i] = (t >>> 24) | (t << 8);
  }
})();

const RK = new Int32Array(44);
const RCON = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36];

/** AES-128-ECB of one 16-byte block: out[0..15] = AES(key, inp[ioff..ioff+15]). */
export function aes128Block(key: Uint8Array, inp: Uint8Array, ioff: number, out: Uint8Array): void {
  for (let i = 0; i < 4; i++) RK[i] = (key[4 * i]! << 24) | (key[4 * i + 1]! << 16) | (key[4 * i + 2]! << 8) | key[4 * i + 3]!;
  for (let i = 4; i < 44; i++) {
    let t = RK[i - 1]!;
    if (i % 4 === 0) {
      t = (SBOX[(t >>> 16) & 0xff]! << 24) | (SBOX[(t >>> 8) & 0xff]! << 16) | (SBOX[t & 0xff]! << 8) | SBOX[t >>> 24]!;
      t ^= RCON[i / 4 - 1]! << 24;
    }
    RK[i] = RK[i - 4]! ^ t;
  }
  let s0 = ((inp[ioff]! << 24) | (inp[ioff + 1]! << 16) | (inp[ioff + 2]! << 8) | inp[ioff + 3]!) ^ RK[0]!;
  let s1 = ((inp[ioff + 4]! << 24) | (inp[ioff + 5]! << 16) | (inp[ioff + 6]! << 8) | inp[ioff + 7]!) ^ RK[1]!;
  let s2 = ((inp[ioff + 8]! << 24) | (inp[ioff + 9]! << 16) | (inp[ioff + 10]! << 8) | inp[ioff + 11]!) ^ RK[2]!;
  let s3 = ((inp[ioff + 12]! << 24) | (inp[ioff + 13]! << 16) | (inp[ioff + 14]! << 8) | inp[ioff + 15]!) ^ RK[3]!;
  for (let r = 1; r < 10; r++) {
    const k = 4 * r;
    const t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ RK[k]!;
    const t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ RK[k + 1]!;
    const t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ RK[k + 2]!;
    const t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ RK[k + 3]!;
    s0 = t0;
    s1 = t1;
    s2 = t2;
    s3 = t3;
  }
  put32(out, 0, lastRound(s0, s1, s2, s3, 40));
  put32(out, 4, lastRound(s1, s2, s3, s0, 41));
  put32(out, 8, lastRound(s2, s3, s0, s1, 42));
  put32(out, 12, lastRound(s3, s0, s1, s2, 43));
}

function lastRound(a: number, b: number, c: number, d: number, k: number): number {
  return ((SBOX[a >>> 24]! << 24) | (SBOX[(b >>> 16) & 0xff]! << 16) | (SBOX[(c >>> 8) & 0xff]! << 8) | SBOX[d & 0xff]!) ^ RK[k]!;
}

function put32(out: Uint8Array, o: number, w: number): void {
  out[o] = w >>> 24;
  out[o + 1] = (w >>> 16) & 0xff;
  out[o + 2] = (w >>> 8) & 0xff;
  out[o + 3] = w & 0xff;
}
