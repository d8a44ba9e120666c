/**
 * tinc meta connection (spec: parts/1-udp-vpns.md §Tinc; tinc src/protocol_auth.c, sptps.c).
 *
 * Owns: the plaintext ID line `0 <name> 17[.<minor>]\n` that opens both directions of the TCP meta connection,
 * the legacy METAKEY line that follows it (`1 <int> <int> <int> <int> <hex>\n`), and the SPTPS KEX record
 * (`00 41 80 00` + 64 bytes) that follows an ID with minor ≥ 2. Must never: accept a line without the `17`
 * version token or with characters outside the name set, or decide on port 655.
 * UDP: SPTPS data packets of tinc 1.1 carry a 12-byte clear prefix (6-byte destination id, all zero for a direct
 * packet; 6-byte source id, constant per sender) and a BE sequence number +1 per packet. Legacy UDP packets are
 * fully encrypted and are not handled (they can only be tied to a meta connection by the classifier).
 *
 * Offsets read from earlier packets: UDP 0–15; the whole ID line of each direction's first segment (≤ 48 bytes kept, so
 * node names up to ~40 characters; longer names are checked only while their packet is the newest).
 */
import { DIR_FWD, IPPROTO_TCP, IPPROTO_UDP, sameBytes, u8, u32be, type Detector, type Evidence, type FlowView } from './types.js';

const NL = 0x0a, SP = 0x20;
const MAX_NAME = 64;
/** Legacy METAKEY: RSA-encrypted key in hex, 2 × modulus bytes; 256 hex digits = a 1024-bit key, the minimum. */
const METAKEY_MIN_HEX = 256;
const SPTPS_KEX_WORD = 0x00418000; // length 65, type 0x80 (handshake), version 0
const SPTPS_KEX_LEN = 68;

function isNameChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Parses an ID line at the start of packet i. Returns `end * 32 + (minor + 1)` where `end` is the offset after
 * the newline and minor is -1 for a bare `17` (so the low 5 bits are 0), or -1 when the bytes are not an ID line.
 */
export function parseIdLine(f: FlowView, i: number): number {
  if (u8(f, i, 0) !== 0x30 || u8(f, i, 1) !== SP) return -1;
  let k = 2, c = u8(f, i, k);
  const invitation = c === 0x3f; // '?' + base64url key
  if (invitation) k++;
  const nameStart = k;
  for (c = u8(f, i, k); c >= 0 && (isNameChar(c) || (invitation && c === 0x2d)); c = u8(f, i, ++k)) {
    if (k - nameStart > MAX_NAME) return -1;
  }
  if (k === nameStart || c !== SP) return -1;
  if (u8(f, i, k + 1) !== 0x31 || u8(f, i, k + 2) !== 0x37) return -1; // "17"
  k += 3;
  let minor = -1;
  if (u8(f, i, k) === 0x2e) {
    k++;
    minor = 0;
    let nd = 0;
    for (c = u8(f, i, k); isDigit(c); c = u8(f, i, ++k)) {
      minor = minor * 10 + (c - 0x30);
      if (++nd > 2) return -1;
    }
    if (nd === 0 || minor > 30) return -1;
  }
  if (u8(f, i, k) !== NL) return -1;
  return (k + 1) * 32 + (minor + 1);
}

function firstOfDir(f: FlowView, dir: number, upTo: number): number {
  for (let j = 0; j <= upTo; j++) if (f.dir(j) === dir) return j;
  return -1;
}

/** METAKEY line at offset s of packet i: four decimal integers then ≥ 256 hex digits (even count when the line ends). */
function isMetakey(f: FlowView, i: number, s: number): boolean {
  if (u8(f, i, s) !== 0x31 || u8(f, i, s + 1) !== SP) return false;
  let k = s + 2;
  for (let n = 0; n < 4; n++) {
    const k0 = k;
    while (isDigit(u8(f, i, k)) && k - k0 < 6) k++;
    if (k === k0 || u8(f, i, k) !== SP) return false;
    k++;
  }
  const h0 = k;
  for (let c = u8(f, i, k); (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66); c = u8(f, i, ++k));
  const nHex = k - h0;
  if (nHex < METAKEY_MIN_HEX) return false;
  if (k === f.avail(i) && f.avail(i) === f.len(i)) return true; // the line continues in the next segment
  return u8(f, i, k) === NL && nHex % 2 === 0;
}

export const tinc: Detector = {
  id: 'tinc',
  transports: [IPPROTO_TCP, IPPROTO_UDP],
  carriers: [],
  maxPackets: 12,
  rules: {
    'tinc.id-both': 'first segment of each direction is a tinc ID line "0 <name> 17[.<minor>]\\n" (name [A-Za-z0-9_])',
    'tinc.id': 'first segment of one direction is a tinc ID line; the other direction not seen yet',
    'tinc.metakey': 'ID line followed in the same direction by a METAKEY line: "1" + four integers + ≥256 hex digits',
    'tinc.sptps': 'ID line with minor ≥ 2 followed in the same direction by the 68-byte SPTPS KEX record 00 41 80 00',
    'tinc.udp':
      'UDP SPTPS data: zero 6-byte destination id, one non-zero 6-byte source id and a BE sequence rising per packet in one direction (medium at 4, strong at 8 with exact +1 steps)',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    if (f.transport === IPPROTO_UDP) return udpRule(f, i);
    const d = f.dir(i);
    const first = firstOfDir(f, d, i);
    let out: Evidence[] | null = null; // allocated only when a rule matches
    let idHere = -1;
    if (first === i) {
      idHere = parseIdLine(f, i);
      if (idHere < 0) return null;
      const o = firstOfDir(f, 1 - d, i);
      const other = o >= 0 ? parseIdLine(f, o) : -1;
      if (o >= 0 && other < 0) return null;
      (out ??= []).push(
        other >= 0
          ? {
              source: 'tinc', protocol: 'tinc', strength: 'strong', rule: 'tinc.id-both', packet: i, offset: 0,
              reason: `packet ${o}: ID line "${line(f, o, other >> 5)}"; packet ${i}${d === DIR_FWD ? '' : ' (reverse)'}: ID line "${line(f, i, idHere >> 5)}"`,
            }
          : {
              source: 'tinc', protocol: 'tinc', strength: 'medium', rule: 'tinc.id', packet: i, offset: 0,
              reason: `packet ${i}${d === DIR_FWD ? '' : ' (reverse)'}: ID line "${line(f, i, idHere >> 5)}"; other direction not seen`,
            },
      );
    }
    // What follows the ID line in this direction: in the same segment (after the newline) or the next segment.
    let s = -1, id = -1;
    if (idHere >= 0) {
      s = idHere >> 5;
      id = idHere;
      if (s >= f.len(i)) s = -1;
    } else if (first >= 0 && first < i && secondOfDir(f, d, first, i)) {
      id = parseIdLine(f, first);
      if (id >= 0 && id >> 5 === f.len(first)) s = 0;
    }
    if (s >= 0 && id >= 0) {
      const minor = (id & 31) - 1;
      if (isMetakey(f, i, s)) {
        (out ??= []).push({
          source: 'tinc', protocol: 'tinc', strength: 'strong', rule: 'tinc.metakey', packet: i, offset: s,
          reason: `packet ${first}: ID line; packet ${i} offset ${s}: METAKEY line "1 <cipher> <digest> <maclen> <compression> <hex key>" in the same direction`,
        });
      } else if (minor >= 2 && u32be(f, i, s) === SPTPS_KEX_WORD && s + SPTPS_KEX_LEN <= f.len(i)) {
        (out ??= []).push({
          source: 'tinc', protocol: 'tinc', strength: 'strong', rule: 'tinc.sptps', packet: i, offset: s,
          reason: `packet ${first}: ID line with protocol 17.${minor}; packet ${i} offset ${s}: SPTPS KEX record 00 41 80 00 (length 65, handshake, version 0)`,
        });
      }
    }
    return out;
  },
  /**
   * UDP: the rule reads tinc 1.1's direct SPTPS packets (zero destination id, non-zero source id, ≥ 33 bytes); a
   * datagram of another shape means a legacy (fully encrypted) or relayed pair, where that rule cannot hold. TCP:
   * never excluded.
   */
  excludes(f: FlowView): boolean {
    if (f.transport !== IPPROTO_UDP) return false;
    const i = f.nPackets - 1;
    if (f.len(i) < UDP_MIN_LEN) return true;
    return f.avail(i) >= 12 && !directIds(f, i);
  },
};

/** True when i is the second packet of direction d (first is its first). */
function secondOfDir(f: FlowView, d: number, first: number, i: number): boolean {
  for (let j = first + 1; j < i; j++) if (f.dir(j) === d) return false;
  return true;
}

/** The ID line text without its newline (only called when returning evidence). */
function line(f: FlowView, i: number, end: number): string {
  let s = '';
  for (let k = 0; k < end - 1; k++) s += String.fromCharCode(u8(f, i, k));
  return s;
}

/** SPTPS UDP: 12-byte id prefix + 4-byte seqno + ≥ 1 type byte + 16-byte tag. */
const UDP_MIN_LEN = 33;
const UDP_MEDIUM_RUN = 4, UDP_STRONG_RUN = 8;

/**
 * Bytes 0–11 of packet j (the caller checked they are available) are a direct SPTPS packet's ids: a zero destination
 * id and a non-zero source id. Read in place, not through u32be (see eq32).
 */
function directIds(f: FlowView, j: number): boolean {
  const b = f.buf(j), o = f.start(j);
  return (b[o]! | b[o + 1]! | b[o + 2]! | b[o + 3]! | b[o + 4]! | b[o + 5]!) === 0 &&
    (b[o + 6]! | b[o + 7]! | b[o + 8]! | b[o + 9]! | b[o + 10]! | b[o + 11]!) !== 0;
}

/**
 * Run of SPTPS UDP packets in direction `dir` up to `upTo`: destination id zero, the same non-zero source id,
 * sequence rising by 1–16. Returns the run length (negated when some step was not exactly +1), or 0 when broken.
 */
function udpRun(f: FlowView, upTo: number, dir: number): number {
  let n = 0, first = -1, prev = 0, exact = true;
  for (let j = 0; j <= upTo; j++) {
    if (f.dir(j) !== dir) continue;
    if (f.len(j) < UDP_MIN_LEN || f.avail(j) < 16) return 0;
    if (!directIds(f, j)) return 0;
    // Read in place, not through u32be (see eq32): random UDP payloads, nearly every flow this meets, make words
    // that would be boxed on every packet.
    const b = f.buf(j), o = f.start(j);
    const seq = ((b[o + 12]! << 24) | (b[o + 13]! << 16) | (b[o + 14]! << 8) | b[o + 15]!) >>> 0;
    if (first < 0) first = j;
    else {
      if (!sameBytes(f, j, 6, first, 6, 6)) return 0;
      const step = seq - prev;
      // A repeated sequence number is a copy in the capture (SPTPS never reuses one): skipped, not counted; a
      // newest packet that repeats one adds nothing.
      if (step === 0) {
        if (j === upTo) return 0;
        continue;
      }
      if (step < 1 || step > 16) return 0;
      if (step !== 1) exact = false;
    }
    prev = seq;
    n++;
  }
  return exact ? n : -n;
}

function udpRule(f: FlowView, i: number): Evidence[] | null {
  const d = f.dir(i);
  const r = udpRun(f, i, d);
  const n = r < 0 ? -r : r;
  const strong = r === UDP_STRONG_RUN;
  if (n !== UDP_MEDIUM_RUN && !strong) return null;
  // One medium item per flow: not again when the other direction already reached the medium run.
  if (!strong) {
    const o = udpRun(f, i, 1 - d);
    if ((o < 0 ? -o : o) >= UDP_MEDIUM_RUN) return null;
  }
  return [
    {
      source: 'tinc', protocol: 'tinc', strength: strong ? 'strong' : 'medium', rule: 'tinc.udp', packet: i, offset: 6,
      reason: `${n} UDP packets ${d === DIR_FWD ? 'initiator→responder' : 'responder→initiator'} up to packet ${i}: destination id 000000000000, source id ${hex6(f, i)} constant, SPTPS sequence rising to ${u32be(f, i, 12)}${strong ? ' by exactly 1' : ''}`,
    },
  ];
}
function hex6(f: FlowView, i: number): string {
  let s = '';
  for (let q = 6; q < 12; q++) s += u8(f, i, q).toString(16).padStart(2, '0');
  return s;
}
