/**
 * DNS query name (RFC 1035 §4.1) from a UDP datagram or a TCP message (2-byte length prefix, RFC 1035 §4.2.2).
 * Port-agnostic: the same parser serves DNS (53), mDNS (5353) and LLMNR (5355), which share the message format.
 *
 * Owns: the header sanity checks (opcode QUERY, exactly one question) and the first question's name. Compression
 * pointers are followed only backwards (to an offset before the label that holds the pointer) and at most
 * {@link MAX_HOPS} times, so hostile loops end. Must never: throw, read outside the message, or accept a name
 * longer than 255 bytes on the wire.
 */

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

const HDR = 12;
const MAX_HOPS = 16;
const MAX_NAME = 255;

/** Reads a (possibly compressed) name at p inside the message [msg, end). Returns [name, offset after] or null. */
export function readDnsName(b: Uint8Array, msg: number, p: number, end: number): [string, number] | null {
  let name = '';
  let wire = 0;
  let hops = 0;
  let next = -1;
  for (;;) {
    if (p >= end) return null;
    const len = b[p]!;
    if (len === 0) {
      if (next < 0) next = p + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (p + 1 >= end || ++hops > MAX_HOPS) return null;
      const target = msg + (((len & 0x3f) << 8) | b[p + 1]!);
      if (target >= p || target < msg + HDR) return null; // only backwards: no loops, no header bytes
      if (next < 0) next = p + 2;
      p = target;
      continue;
    }
    if ((len & 0xc0) !== 0 || p + 1 + len > end) return null; // 0x40/0x80: obsolete label types
    wire += 1 + len;
    if (wire + 1 > MAX_NAME) return null;
    for (let i = 1; i <= len; i++) {
      const c = b[p + i]!;
      if (c < 0x21 || c > 0x7e || c === 0x2e) return null; // unprintable or a dot inside a label
      name += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 32 : c);
    }
    name += '.';
    p += 1 + len;
  }
  return [name.length ? name.slice(0, -1) : '', next];
}

/**
 * Parses the first question of a DNS message at [off, end). `tcp` skips the 2-byte length prefix.
 * Null for anything that is not a standard query/response with one question and a non-root name.
 */
export function parseDnsQuery(b: Uint8Array, off: number, end: number, tcp = false): DnsQuery | null {
  if (off < 0 || end > b.length) return null;
  let msg = off;
  if (tcp) {
    if (end - off < 2) return null;
    const len = (b[off]! << 8) | b[off + 1]!;
    msg = off + 2;
    if (len < HDR + 5) return null;
    end = Math.min(end, msg + len);
  }
  if (end - msg < HDR + 5) return null;
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
