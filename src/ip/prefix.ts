/**
 * Prefix text ("10.0.0.0/8", "2001:db8::/32", bare addresses) -> family, words, length, with the typed errors
 * of src/errors.ts. This is the validating door used by CidrMapBuilder, get/has and the list loader; it reuses
 * one caller-supplied scratch record so loading a million-line list does not allocate per line.
 *
 * IPv4-mapped IPv6 (::ffff:0:0/96) is folded into IPv4 here, once, so every later layer sees one family:
 * `::ffff:10.0.0.0/104` becomes 10.0.0.0/8 and `::ffff:1.2.3.4` becomes 1.2.3.4/32.
 */
import ipaddr from 'ipaddr.js';
import { CidrError, describeValue } from '../errors.js';
import { formatIPv4, formatIPv6Words } from './format.js';
import { isV4MappedWords, parseIPv4, parseIPv6 } from './parse.js';

/** A parsed prefix. For IPv4 only `words[0]` is meaningful. */
export interface PrefixParts {
  family: 4 | 6;
  /** Address words, big-endian; IPv4 in words[0]. */
  words: Uint32Array;
  /** Prefix length in bits (0..32 or 0..128). */
  len: number;
}

/** A fresh scratch record for {@link parsePrefixInto}. */
export function newPrefixParts(): PrefixParts {
  return { family: 4, words: new Uint32Array(4), len: 0 };
}

/** Mask with the top `len` bits of a 32-bit word set (len clamped to 0..32). */
export function maskBits(len: number): number {
  return len <= 0 ? 0 : len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0;
}

function explainBadAddress(text: string): string {
  if (text.includes('%')) return 'zone identifiers (%…) are not accepted in addresses';
  if (ipaddr.isValid(text)) return 'address is not in strict form (leading zeros or a non-four-part IPv4)';
  return 'not an IPv4 or IPv6 address';
}

/**
 * Parses `text` (or its range `[from, to)`) as a CIDR prefix (or a bare address = /32 or /128) into `out`.
 * The range form lets a list loader parse a line in place, without a string per line; errors quote the range.
 * @param normalize clear host bits instead of throwing TS_HOST_BITS.
 * @throws {CidrError} TS_INVALID_CIDR (malformed), TS_PREFIX_LENGTH (length out of range),
 *   TS_HOST_BITS (bits set after the prefix length and `normalize` is false).
 */
export function parsePrefixInto(text: string, out: PrefixParts, normalize = false, from = 0, end?: number): PrefixParts {
  // Prefixes come from the embedder's code too (CidrMapBuilder.add, the CIDR set operations): a non-string is named.
  if (typeof text !== 'string') throw new CidrError('TS_INVALID_CIDR', describeValue(text), 'a prefix must be a string, got');
  const to = end ?? text.length;
  let slash = -1;
  for (let i = from; i < to; i++) {
    if (text.charCodeAt(i) === 0x2f) {
      slash = i;
      break;
    }
  }
  const addrEnd = slash < 0 ? to : slash;
  const w = out.words;
  let family: 4 | 6;
  const v4 = parseIPv4(text, from, addrEnd);
  if (v4 >= 0) {
    family = 4;
    w[0] = v4;
    w[1] = 0;
    w[2] = 0;
    w[3] = 0;
  } else if (parseIPv6(text, w, 0, from, addrEnd)) {
    family = 6;
  } else {
    throw new CidrError('TS_INVALID_CIDR', text.slice(from, to), explainBadAddress(text.slice(from, addrEnd)));
  }
  const max = family === 4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const digits = to - slash - 1;
    if (digits === 0) throw new CidrError('TS_INVALID_CIDR', text.slice(from, to), 'missing prefix length after "/"');
    if (digits > 3) {
      for (let i = slash + 1; i < to; i++) {
        const c = text.charCodeAt(i);
        if (c < 48 || c > 57) throw new CidrError('TS_INVALID_CIDR', text.slice(from, to), 'prefix length is not a decimal number');
      }
      throw new CidrError('TS_PREFIX_LENGTH', text.slice(from, to), `prefix length must be 0..${max}`);
    }
    len = 0;
    for (let i = slash + 1; i < to; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) throw new CidrError('TS_INVALID_CIDR', text.slice(from, to), 'prefix length is not a decimal number');
      if (i > slash + 1 && len === 0) throw new CidrError('TS_INVALID_CIDR', text.slice(from, to), 'prefix length has a leading zero');
      len = len * 10 + (c - 48);
    }
    if (len > max) throw new CidrError('TS_PREFIX_LENGTH', text.slice(from, to), `prefix length ${len} is out of range 0..${max}`);
  }
  if (family === 6 && len >= 96 && isV4MappedWords(w[0]!, w[1]!, w[2]!)) {
    family = 4;
    w[0] = w[3]!;
    w[3] = 0;
    w[2] = 0;
    len -= 96;
  }
  out.family = family;
  out.len = len;
  if (!applyMask(out, normalize)) {
    const canon = family === 4 ? formatIPv4(out.words[0]!) : formatIPv6Words(w[0]!, w[1]!, w[2]!, w[3]!);
    throw new CidrError('TS_HOST_BITS', text.slice(from, to), `host bits set after /${out.len} (network is ${canon}/${out.len})`);
  }
  return out;
}

/**
 * The common case of {@link parsePrefixInto} read straight from code units (`u[i]` = a character code: a list
 * file's bytes or UTF-16 units): a strict dotted quad with an optional `/length`, host bits clear (or cleared
 * with `normalize`), in one pass. Returns false for anything else (IPv6, IPv4-mapped forms, and every text
 * parsePrefixInto refuses), having written nothing the caller may rely on: the caller then parses the range as a
 * string for the same parts or the typed error. Accepts only what parsePrefixInto accepts, with the same result.
 */
export function parsePrefix4Units(u: Uint8Array | Uint16Array, from: number, to: number, out: PrefixParts, normalize = false): boolean {
  let i = from;
  let addr = 0;
  for (let k = 0; k < 4; k++) {
    if (k > 0) {
      if (i >= to || u[i] !== 0x2e) return false;
      i++;
    }
    if (i >= to) return false;
    let oct = u[i]! - 48;
    if (oct < 0 || oct > 9) return false;
    i++;
    // A leading zero ends the octet ("010" is refused by the string parser: some stacks read it as octal).
    if (oct !== 0) {
      for (let d = 1; d < 3 && i < to; d++) {
        const c = u[i]! - 48;
        if (c < 0 || c > 9) break;
        oct = oct * 10 + c;
        i++;
      }
      if (oct > 255) return false;
    }
    addr = (addr << 8) | oct;
  }
  let len = 32;
  if (i < to) {
    if (u[i] !== 0x2f || i + 1 >= to || i + 3 < to) return false;
    len = u[i + 1]! - 48;
    if (len < 0 || len > 9) return false;
    if (i + 2 < to) {
      const c = u[i + 2]! - 48;
      if (len === 0 || c < 0 || c > 9) return false;
      len = len * 10 + c;
      if (len > 32) return false;
    }
  }
  const a = addr >>> 0;
  const masked = (a & maskBits(len)) >>> 0;
  if (masked !== a && !normalize) return false;
  out.family = 4;
  out.words[0] = masked;
  out.words[1] = 0;
  out.words[2] = 0;
  out.words[3] = 0;
  out.len = len;
  return true;
}

/**
 * Clears (normalize) or checks the host bits of `p`. Returns false when host bits were set and not cleared;
 * when that happens the canonical network address has been written into p.words for error messages.
 */
export function applyMask(p: PrefixParts, normalize: boolean): boolean {
  const nWords = p.family === 4 ? 1 : 4;
  let ok = true;
  for (let k = 0; k < nWords; k++) {
    const m = maskBits(p.len - 32 * k);
    const v = p.words[k]!;
    const masked = (v & m) >>> 0;
    if (masked !== v) ok = false;
    p.words[k] = masked;
  }
  return ok || normalize;
}

/** Canonical text of a parsed prefix (`10.0.0.0/8`, `2001:db8::/32`). */
export function formatPrefix(p: PrefixParts): string {
  const w = p.words;
  const a = p.family === 4 ? formatIPv4(w[0]!) : formatIPv6Words(w[0]!, w[1]!, w[2]!, w[3]!);
  return `${a}/${p.len}`;
}
