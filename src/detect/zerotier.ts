/**
 * ZeroTier VL1 over UDP (spec: parts/1-udp-vpns.md §ZeroTier; ZeroTierOne node/Packet.hpp).
 *
 * Owns: the cleartext HELLO (verb 1, cipher suite 0) whose identity address repeats the header source address,
 * and the mid-stream relation of a constant 5-byte address pair per direction mirrored by the other direction.
 * Must never: decide on one encrypted packet (its header is mostly random) or on port 9993.
 * TCP fallback (relay on 443): the stream opens with the fake TLS record `17 03 03 00 04` + 4 version bytes, and
 * every later message is `17 03 03` + 2-byte length + address block (`04`/`06`/`00`) + VL1 packet. Real TLS never
 * opens with application data and has no 4-byte records (AEAD overhead alone exceeds 4).
 *
 * Offsets read from earlier packets: destination 8–12, source 13–17, flags 18 (all < 48).
 */
import { DIR_FWD, IPPROTO_TCP, IPPROTO_UDP, sameBytes, u8, u16be, u24be, u32be, type Detector, type Evidence, type FlowView } from './types.js';

const ZT_HEADER_LEN = 28;
const ZT_DEST = 8, ZT_SRC = 13, ZT_FLAGS = 18, ZT_VERB = 27;
const ZT_VERB_HELLO = 1;
const ZT_HELLO_IDENTITY = 41, ZT_HELLO_ID_TYPE = 46, ZT_HELLO_PRIVLEN = 111, ZT_HELLO_PHYS = 112;
/** HELLO with an IPv4 physical destination: 112 + 7 + 16 (world id + timestamp). */
const ZT_HELLO_MIN_LEN = 135;
const ZT_RESERVED_PREFIX = 0xff;
const ZT_PEER_RUN = 3;
const FAKE_TLS_HI = 0x170303; // bytes 0-2 of every fallback frame
const FAKE_TLS_HELLO_LEN = 9;

/**
 * Walks `17 03 03 <len16> <addr block> …` frames in packet i from k. Returns the number of complete frames when
 * the last one ends exactly at the segment end or runs past it (continued in the next segment), else -1.
 */
function fakeTlsFrames(f: FlowView, i: number, k: number): number {
  const e = f.len(i);
  let n = 0;
  while (k < e) {
    if (k + 6 > f.avail(i)) return n > 0 ? n : -1; // not visible: count what was checked
    if (u24be(f, i, k) !== FAKE_TLS_HI) return -1;
    const l = u16be(f, i, k + 3), a = u8(f, i, k + 5);
    if (l < 1 || (a !== 0 && a !== 4 && a !== 6)) return -1;
    n++;
    k += 5 + l;
  }
  return n;
}
function isFakeTlsHello(f: FlowView, i: number): boolean {
  return f.len(i) >= FAKE_TLS_HELLO_LEN && u32be(f, i, 0) === 0x17030300 && u8(f, i, 4) === 4;
}

/** A 5-byte ZeroTier address at k: not all zero and not in the reserved 0xFF prefix. */
function validAddr(f: FlowView, i: number, k: number): boolean {
  const a = u8(f, i, k);
  if (a < 0 || a === ZT_RESERVED_PREFIX || k + 5 > f.avail(i)) return false;
  return a !== 0 || u8(f, i, k + 1) !== 0 || u8(f, i, k + 2) !== 0 || u8(f, i, k + 3) !== 0 || u8(f, i, k + 4) !== 0;
}
/**
 * Header sanity: length ≥ 28, both addresses valid and different (a node never sends to itself — this also
 * rejects constant-filled payloads, whose "addresses" would mirror trivially), cipher suite 0–3 (flag bits 5–3).
 */
function headerOk(f: FlowView, i: number): boolean {
  const fl = u8(f, i, ZT_FLAGS);
  return f.len(i) >= ZT_HEADER_LEN && fl >= 0 && ((fl >> 3) & 7) <= 3 && validAddr(f, i, ZT_DEST) &&
    validAddr(f, i, ZT_SRC) && !sameBytes(f, i, ZT_DEST, i, ZT_SRC, 5);
}

/**
 * Consistent packets of direction `dir` in [0, upTo]: each has the same (dest, src) pair as the direction's first
 * packet, which in turn is the mirror of the reference packet `ref` of the other direction. -1 on any mismatch.
 */
function peerRun(f: FlowView, upTo: number, dir: number, ref: number): number {
  let n = 0, first = -1;
  for (let j = 0; j <= upTo; j++) {
    if (f.dir(j) !== dir || u8(f, j, ZT_SRC) === ZT_RESERVED_PREFIX) continue; // other direction, or a fragment
    if (!headerOk(f, j)) return -1;
    if (first < 0) {
      first = j;
      if (!sameBytes(f, j, ZT_DEST, ref, ZT_SRC, 5) || !sameBytes(f, j, ZT_SRC, ref, ZT_DEST, 5)) return -1;
    } else if (!sameBytes(f, j, ZT_DEST, first, ZT_DEST, 10)) return -1;
    n++;
  }
  return n;
}

/** Fragment header (packet id 8, destination 5, indicator, count, hops): the shortest datagram ZeroTier reads. */
const ZT_FRAGMENT_MIN = 16;
const ZT_FRAGMENT_HOPS = 15;

export const zerotier: Detector = {
  id: 'zerotier',
  transports: [IPPROTO_UDP, IPPROTO_TCP],
  carriers: [],
  maxPackets: 12,
  rules: {
    'zt.hello':
      'HELLO in clear: length ≥135, cipher suite 0, verb 01, protocol version 4-15, identity address (offset 41) = header source address (offset 13), identity type 00, private-key length 00',
    'zt.peer': '≥3 packets each direction with one 5-byte (destination, source) address pair per direction, mirrored by the other direction',
    'zt.tcp-hello': 'TCP fallback: the stream opens with the fake TLS record 17 03 03 00 04 + 4 version bytes (no further frame seen yet)',
    'zt.tcp': 'TCP fallback: fake TLS hello 17 03 03 00 04 followed by 17 03 03 frames whose lengths chain exactly with address blocks 00/04/06',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    if (f.transport === IPPROTO_TCP) return tcpFallback(f, i);
    if (!headerOk(f, i)) return null;
    const d = f.dir(i), len = f.len(i);
    if (u8(f, i, ZT_VERB) === ZT_VERB_HELLO && len >= ZT_HELLO_MIN_LEN && ((u8(f, i, ZT_FLAGS) >> 3) & 7) === 0) {
      const pv = u8(f, i, 28);
      if (pv >= 4 && pv <= 15 && u8(f, i, ZT_HELLO_ID_TYPE) === 0 && u8(f, i, ZT_HELLO_PRIVLEN) === 0 &&
        sameBytes(f, i, ZT_HELLO_IDENTITY, i, ZT_SRC, 5)) {
        const fam = u8(f, i, ZT_HELLO_PHYS);
        // Physical destination echo: the port in the address block = the datagram's destination port.
        const sentTo = d === DIR_FWD ? f.dstPort : f.srcPort;
        const physPort = fam === 4 ? u16be(f, i, ZT_HELLO_PHYS + 5) : fam === 6 ? u16be(f, i, ZT_HELLO_PHYS + 17) : -1;
        return [
          {
            source: 'zerotier', protocol: 'zerotier', strength: 'strong', rule: 'zt.hello', packet: i, offset: ZT_HELLO_IDENTITY,
            reason: `packet ${i}: ZeroTier HELLO, ${len} bytes, cipher suite 0, verb 01, protocol version ${pv}, identity address at 41 = source address at 13 (${hexAddr(f, i, ZT_SRC)}), identity type 00${physPort >= 0 ? `; physical destination port ${physPort}${physPort === sentTo ? ' equals the datagram destination port' : ' differs from the datagram destination port (NAT or relay)'}` : ''}`,
          },
        ];
      }
    }
    // Mid-stream: fire when this packet brings its direction to the run length and the other already has it.
    let ref = -1;
    for (let j = 0; j < i; j++) if (f.dir(j) !== d) { ref = j; break; }
    if (ref < 0) return null;
    const n = peerRun(f, i, d, ref);
    if (n !== ZT_PEER_RUN) return null;
    let mine = -1;
    for (let j = 0; j <= i; j++) if (f.dir(j) === d) { mine = j; break; }
    const m = peerRun(f, i, 1 - d, mine);
    if (m < ZT_PEER_RUN) return null;
    return [
      {
        source: 'zerotier', protocol: 'zerotier', strength: 'strong', rule: 'zt.peer', packet: i, offset: ZT_DEST,
        reason: `${n}+ packets each direction up to packet ${i}: one (destination, source) pair per direction (${hexAddr(f, i, ZT_DEST)} ← ${hexAddr(f, i, ZT_SRC)}), mirrored by the other direction at offsets 8/13, cipher suites valid`,
      },
    ];
  },
  /**
   * UDP: a ZeroTier datagram is a VL1 packet (≥ 28 bytes, valid and distinct addresses, cipher suite 0–3) or a
   * fragment (`FF` at 13, hop byte's bits 7–3 zero). Datagrams under 16 bytes are not judged: ZeroTier ignores
   * such short ones and they may be NAT keepalives. TCP: never excluded.
   */
  excludes(f: FlowView): boolean {
    if (f.transport !== IPPROTO_UDP) return false;
    const i = f.nPackets - 1, len = f.len(i);
    if (len < ZT_FRAGMENT_MIN || f.avail(i) < ZT_FLAGS + 1) return false;
    if (u8(f, i, ZT_SRC) === ZT_RESERVED_PREFIX) return (u8(f, i, ZT_FRAGMENT_HOPS) & 0xf8) !== 0;
    return len < ZT_HEADER_LEN || !headerOk(f, i);
  },
};

function hexAddr(f: FlowView, i: number, k: number): string {
  let s = '';
  for (let q = 0; q < 5; q++) s += u8(f, i, k + q).toString(16).padStart(2, '0');
  return s;
}

function tcpFallback(f: FlowView, i: number): Evidence[] | null {
  // The hello is the first segment of the initiator; frames follow in it or in the next initiator segment.
  let h = -1, second = -1;
  for (let j = 0; j <= i; j++) {
    if (f.dir(j) !== DIR_FWD) continue;
    if (h < 0) h = j;
    else {
      second = j;
      break;
    }
  }
  if (h < 0 || !isFakeTlsHello(f, h)) return null;
  const ver = `${u8(f, h, 5)}.${u8(f, h, 6)}.${u16be(f, h, 7)}`;
  if (i === h) {
    const n = f.len(i) > FAKE_TLS_HELLO_LEN ? fakeTlsFrames(f, i, FAKE_TLS_HELLO_LEN) : 0;
    if (n < 0) return null;
    return [
      n > 0
        ? {
            source: 'zerotier', protocol: 'zerotier', strength: 'strong', rule: 'zt.tcp', packet: i, offset: FAKE_TLS_HELLO_LEN,
            reason: `packet ${i}: fake TLS hello 17 03 03 00 04 (client version ${ver}) then ${n} 17 03 03 frame(s) with valid address blocks chaining to the segment end`,
          }
        : {
            source: 'zerotier', protocol: 'zerotier', strength: 'medium', rule: 'zt.tcp-hello', packet: i, offset: 0,
            reason: `packet ${i}: TCP stream opens with the fake TLS record 17 03 03 00 04 (ZeroTier client version ${ver})`,
          },
    ];
  }
  if (i !== second || f.len(h) !== FAKE_TLS_HELLO_LEN) return null;
  const n = fakeTlsFrames(f, i, 0);
  if (n < 1) return null;
  return [
    {
      source: 'zerotier', protocol: 'zerotier', strength: 'strong', rule: 'zt.tcp', packet: i, offset: 0,
      reason: `packet ${h}: fake TLS hello 17 03 03 00 04 (client version ${ver}); packet ${i}: ${n} 17 03 03 frame(s) with valid address blocks chaining to the segment end`,
    },
  ];
}
