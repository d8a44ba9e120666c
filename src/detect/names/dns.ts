/**
 * DNS query name (RFC 1035 §4.1) from a UDP datagram or a TCP message (2-byte length prefix, RFC 1035 §4.2.2).
 * Port-agnostic: the same parser serves DNS (53), mDNS (5353) and LLMNR (5355), which share the message format.
 *
 * Owns: the header sanity checks (opcode QUERY, exactly one question) and the first question's name. Compression
 * pointers are followed only backwards (to an offset before the label that holds the pointer) and at most
 * {@link MAX_HOPS} times, so hostile loops end. Must never: throw, read outside the message, or accept a name
 * longer than 255 bytes on the wire.
 */

import { scratchText, TEXT_SCRATCH } from '../../text.js';

export interface DnsQuery {
  /** Query name, lower case, no trailing dot. */
  name: string;
  /** QTYPE of the first question. */
  qtype: number;
  /** QR bit: a response (which repeats the question). */
  response: boolean;
  /** Offset of the question name in the payload. */
  offset: number;
}

/** DNS, mDNS and LLMNR ports: the ones this message format is read on. */
export { isDnsPort } from '../../flow/ports.js';

const HDR = 12;
const MAX_HOPS = 16;
const MAX_NAME = 255;

/** Length of the name the last {@link walkName} gathered in the text scratch. */
let gathered = 0;

/**
 * Walks a (possibly compressed) name at p inside the message [msg, end), gathering it (lower case, dot-separated)
 * in the text scratch: returns the offset after it, or -1 when malformed. Allocation-free, so records whose names
 * are not needed cost no strings.
 */
function walkName(b: Uint8Array, msg: number, p: number, end: number): number {
  // n counts the wire bytes so far (each label's length byte becomes a dot): with the root's byte ≤ 255.
  let n = 0;
  let hops = 0;
  let next = -1;
  for (;;) {
    if (p >= end) return -1;
    const len = b[p]!;
    if (len === 0) {
      if (next < 0) next = p + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (p + 1 >= end || ++hops > MAX_HOPS) return -1;
      const target = msg + (((len & 0x3f) << 8) | b[p + 1]!);
      if (target >= p || target < msg + HDR) return -1; // only backwards: no loops, no header bytes
      if (next < 0) next = p + 2;
      p = target;
      continue;
    }
    if ((len & 0xc0) !== 0 || p + 1 + len > end) return -1; // 0x40/0x80: obsolete label types
    if (n + 1 + len + 1 > MAX_NAME) return -1;
    if (n > 0) TEXT_SCRATCH[n - 1] = 0x2e;
    for (let i = 1; i <= len; i++) {
      const c = b[p + i]!;
      if (c < 0x21 || c > 0x7e || c === 0x2e) return -1; // unprintable or a dot inside a label
      TEXT_SCRATCH[n++] = c >= 0x41 && c <= 0x5a ? c + 32 : c;
    }
    n++;
    p += 1 + len;
  }
  gathered = n > 0 ? n - 1 : 0;
  return next;
}

/** Reads a (possibly compressed) name at p inside the message [msg, end). Returns [name, offset after] or null. */
export function readDnsName(b: Uint8Array, msg: number, p: number, end: number): [string, number] | null {
  const next = walkName(b, msg, p, end);
  return next < 0 ? null : [gathered > 0 ? scratchText(gathered) : '', next];
}

/** The name at p, already known to be well formed (walked once before). */
function nameAt(b: Uint8Array, msg: number, p: number, end: number): string {
  walkName(b, msg, p, end);
  return scratchText(gathered);
}

/**
 * The DNS message in [off, end) as [start, end): after the 2-byte length prefix over TCP (RFC 1035 §4.2.2), cut to
 * that length. Null when it cannot hold a header and a minimal question.
 */
function messageSpan(b: Uint8Array, off: number, end: number, tcp: boolean): [number, number] | null {
  if (off < 0 || end > b.length) return null;
  let msg = off;
  if (tcp) {
    if (end - off < 2) return null;
    msg = off + 2;
    end = Math.min(end, msg + ((b[off]! << 8) | b[off + 1]!));
  }
  return end - msg < HDR + 5 ? null : [msg, end];
}

/**
 * Parses the first question of a DNS message at [off, limit). `tcp` skips the 2-byte length prefix.
 * Null for anything that is not a standard query/response with one question and a non-root name.
 */
export function parseDnsQuery(b: Uint8Array, off: number, limit: number, tcp = false): DnsQuery | null {
  const span = messageSpan(b, off, limit, tcp);
  if (span === null) return null;
  const [msg, end] = span;
  const flags = (b[msg + 2]! << 8) | b[msg + 3]!;
  const opcode = (flags >> 11) & 0xf;
  const qd = (b[msg + 4]! << 8) | b[msg + 5]!;
  if (opcode !== 0 || qd !== 1) return null;
  const r = readDnsName(b, msg, msg + HDR, end);
  if (!r || r[0] === '') return null;
  const p = r[1];
  if (p + 4 > end) return null;
  const qtype = (b[p]! << 8) | b[p + 1]!;
  const qclass = (b[p + 2]! << 8) | b[p + 3]!;
  // IN or ANY; mDNS sets the top bit (unicast-response / cache-flush).
  if ((qclass & 0x7fff) !== 1 && (qclass & 0x7fff) !== 255) return null;
  return { name: r[0], qtype, response: (flags & 0x8000) !== 0, offset: msg + HDR - off };
}

/** A DNS response's answers that bind addresses to names (RFC 1035 §4.1.3, RFC 3596). */
export interface DnsAnswers {
  /** The question name (lower case, no trailing dot). */
  qname: string;
  /** The question name followed by the CNAME targets the answer section leads to, in chain order. */
  chain: string[];
  /** A records of names in the chain, as unsigned 32-bit addresses. */
  a4: number[];
  /** AAAA records of names in the chain, 16 bytes each. */
  a6: Uint8Array[];
  /** Smallest TTL (seconds) of the address records. */
  ttl: number;
}

const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_AAAA = 28;
/** Answer records walked per response, and CNAME links followed: bounds work and memory on hostile input. */
const MAX_ANSWERS = 32;
const MAX_CHAIN = 8;

/** Per-record scratch of the first pass: type, owner offset (-1: the question name), RDATA offset, TTL. */
const REC_TYPE = new Int32Array(MAX_ANSWERS);
const REC_OWNER = new Int32Array(MAX_ANSWERS);
const REC_RD = new Int32Array(MAX_ANSWERS);
const REC_TTL = new Int32Array(MAX_ANSWERS);

/**
 * The address answers of a DNS response at [off, limit) (`tcp`: 2-byte length prefix): a standard response (QR set,
 * opcode QUERY, RCODE 0) with one IN question. Addresses are kept only for names on the question's CNAME chain
 * (the answer section may carry unrelated records). Null when there is no such address or the message is
 * malformed; never throws.
 *
 * `wanted`, when given, is asked about each name of the chain; when it wants none, the result is null before any
 * address is collected. A gateway reads every DNS answer but binds only the few that name a listed domain, so the
 * records are first walked without building strings (only the question and CNAME names become text).
 */
export function parseDnsAnswers(
  b: Uint8Array,
  off: number,
  limit: number,
  tcp = false,
  wanted?: (name: string) => boolean,
): DnsAnswers | null {
  const span = messageSpan(b, off, limit, tcp);
  if (span === null) return null;
  const [msg, end] = span;
  const flags = (b[msg + 2]! << 8) | b[msg + 3]!;
  if ((flags & 0x8000) === 0 || ((flags >> 11) & 0xf) !== 0 || (flags & 0xf) !== 0) return null;
  const qd = (b[msg + 4]! << 8) | b[msg + 5]!;
  const an = (b[msg + 6]! << 8) | b[msg + 7]!;
  if (qd !== 1 || an === 0) return null;
  let p = walkName(b, msg, msg + HDR, end);
  if (p < 0 || gathered === 0) return null;
  if (p + 4 > end || (((b[p + 2]! << 8) | b[p + 3]!) & 0x7fff) !== 1) return null;
  p += 4;
  // Pass 1: walk the records (any order), keeping offsets of the A, AAAA and CNAME ones; no strings yet.
  let nRec = 0;
  let nAddr = 0;
  for (let i = 0; i < an && i < MAX_ANSWERS; i++) {
    let owner = -1;
    if (p + 1 < end && b[p] === 0xc0 && b[p + 1] === HDR) {
      p += 2; // the usual owner: a pointer to the question name
    } else {
      owner = p;
      p = walkName(b, msg, p, end);
      if (p < 0) return null;
    }
    if (p + 10 > end) return null;
    const type = (b[p]! << 8) | b[p + 1]!;
    const cls = (b[p + 2]! << 8) | b[p + 3]!;
    const ttl = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
    const rdlen = (b[p + 8]! << 8) | b[p + 9]!;
    const rd = p + 10;
    if (rd + rdlen > end) return null;
    if ((cls & 0x7fff) === 1 && (type === TYPE_A || type === TYPE_AAAA || type === TYPE_CNAME)) {
      if ((type === TYPE_A && rdlen !== 4) || (type === TYPE_AAAA && rdlen !== 16)) return null;
      if (type === TYPE_CNAME && (walkName(b, msg, rd, rd + rdlen) < 0 || gathered === 0)) return null;
      if (type !== TYPE_CNAME) nAddr++;
      REC_TYPE[nRec] = type;
      REC_OWNER[nRec] = owner;
      REC_RD[nRec] = rd;
      // RFC 2181 §8: a TTL with the top bit set is treated as zero.
      REC_TTL[nRec] = ttl > 0x7fffffff ? 0 : ttl;
      nRec++;
    }
    p = rd + rdlen;
  }
  if (nAddr === 0) return null;
  const qname = nameAt(b, msg, msg + HDR, end);
  const ownerName = (r: number): string => (REC_OWNER[r] === -1 ? qname : nameAt(b, msg, REC_OWNER[r]!, end));
  const chain = [qname];
  for (let k = 0; k < chain.length && chain.length < MAX_CHAIN; k++) {
    for (let r = 0; r < nRec && chain.length < MAX_CHAIN; r++) {
      if (REC_TYPE[r] !== TYPE_CNAME || ownerName(r) !== chain[k]) continue;
      const target = nameAt(b, msg, REC_RD[r]!, end);
      if (!chain.includes(target)) chain.push(target);
    }
  }
  if (wanted !== undefined && !chain.some(wanted)) return null;
  // Pass 2: the addresses of names on the chain.
  const a4: number[] = [];
  const a6: Uint8Array[] = [];
  let ttl = Infinity;
  for (let r = 0; r < nRec; r++) {
    if (REC_TYPE[r] === TYPE_CNAME || !chain.includes(ownerName(r))) continue;
    const at = REC_RD[r]!;
    if (REC_TYPE[r] === TYPE_A) a4.push(((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0);
    else a6.push(b.slice(at, at + 16));
    if (REC_TTL[r]! < ttl) ttl = REC_TTL[r]!;
  }
  if (a4.length === 0 && a6.length === 0) return null;
  return { qname, chain, a4, a6, ttl };
}
