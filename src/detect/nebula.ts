/**
 * Nebula overlay VPN (spec: parts/1-udp-vpns.md §Nebula; slackhq/nebula header/header.go, handshake.proto).
 *
 * Owns: the exact 16-byte stage-1 handshake header (`10 00 00 00`, remote index 0, counter 1) with its cleartext
 * protobuf payload walked to the last byte (Details → Cert + InitiatorIndex), the stage-2 reply header, and the
 * data-phase relation (byte 0 `11`, reserved 0, constant remote index per direction, BE counter rising).
 * Must never: decide on a single `11 00 00 00` packet or on port 4242, or key on certificate names/groups.
 *
 * Limitation: the stage-2 → InitiatorIndex echo needs the stage-1 payload well beyond the ~48 bytes kept for
 * earlier packets, so it is not checked; stage 1 alone is already strong per the spec (fixed header + exact walk).
 *
 * Offsets read from earlier packets: header 0–15.
 */
import { DIR_FWD, IPPROTO_UDP, u8, u16be, u32be, type Detector, type Evidence, type FlowView } from './types.js';

const NEBULA_HANDSHAKE = 0x10, NEBULA_MESSAGE = 0x11;
const HEADER_LEN = 16;
/** Header (16) + ephemeral key (32) + static key (32); the protobuf payload starts here (Curve25519). */
const STAGE1_PAYLOAD = 80;
const DATA_RUN = 4;
const MAX_COUNTER_STEP = 256;

/** Offset after a protobuf varint at k (≤ 10 bytes, within [k, e)), or -1. */
function skipVarint(f: FlowView, i: number, k: number, e: number): number {
  for (let n = 0; n < 10 && k < e; n++, k++) {
    const c = u8(f, i, k);
    if (c < 0) return -1;
    if ((c & 0x80) === 0) return k + 1;
  }
  return -1;
}
/**
 * A varint of at most 5 bytes at k, packed with its end offset as `value * 65536 + end` (exact in a double:
 * value < 2^35, end < 2^16 for a UDP payload) so the hot path allocates nothing; -1 on failure.
 */
function varint35(f: FlowView, i: number, k: number, e: number): number {
  let v = 0, mul = 1;
  for (let n = 0; n < 5 && k < e; n++, k++) {
    const c = u8(f, i, k);
    if (c < 0) return -1;
    v += (c & 0x7f) * mul;
    mul *= 128;
    if ((c & 0x80) === 0) return v * 65536 + k + 1;
  }
  return -1;
}
const VAL = (p: number): number => Math.floor(p / 65536);
const END = (p: number): number => p % 65536;

/**
 * Walks protobuf fields over [k, e). Returns a bit set of the field numbers 1–8 seen (bit n), or -1 when the walk
 * does not end exactly at e. With `want` > 0 it returns instead the varint value of field `want` (or -1).
 */
function walk(f: FlowView, i: number, k: number, e: number, want: number): number {
  let seen = 0;
  for (let guard = 0; k < e && guard < 256; guard++) {
    const t = varint35(f, i, k, e);
    if (t < 0) return -1;
    const tag = VAL(t);
    k = END(t);
    const field = Math.floor(tag / 8), wt = tag % 8;
    if (field === 0) return -1;
    if (wt === 0) {
      if (field === want) {
        const v = varint35(f, i, k, e);
        return v < 0 ? -1 : VAL(v);
      }
      k = skipVarint(f, i, k, e);
      if (k < 0) return -1;
    } else if (wt === 2) {
      const l = varint35(f, i, k, e);
      if (l < 0) return -1;
      k = END(l) + VAL(l);
    } else if (wt === 1) k += 8;
    else if (wt === 5) k += 4;
    else return -1;
    if (k > e) return -1;
    if (field <= 8) seen |= 1 << field;
  }
  return want > 0 ? -1 : k === e ? seen : -1;
}

function dataRun(f: FlowView, upTo: number, dir: number): number {
  let n = 0, rx = 0, prev = 0;
  for (let j = 0; j <= upTo; j++) {
    if (f.dir(j) !== dir || u8(f, j, 0) !== NEBULA_MESSAGE) continue;
    const sub = u8(f, j, 1);
    if ((sub !== 0 && sub !== 1) || u16be(f, j, 2) !== 0 || f.len(j) < HEADER_LEN + 16) return -1;
    const r = u32be(f, j, 4), hi = u32be(f, j, 8), c = u32be(f, j, 12);
    if (r <= 0 || hi !== 0 || c < 0) return -1;
    if (n > 0) {
      const step = c - prev;
      if (r !== rx || step > MAX_COUNTER_STEP || step < -MAX_COUNTER_STEP) return -1;
      // A repeated counter is a copy in the capture (a sender never reuses one): skipped; a newest packet that
      // repeats one adds nothing, so the rules fire once.
      if (step === 0) {
        if (j === upTo) return 0;
        continue;
      }
    }
    rx = r;
    prev = c;
    n++;
  }
  return n;
}

export const nebula: Detector = {
  id: 'nebula',
  transports: [IPPROTO_UDP],
  carriers: [],
  maxPackets: 16,
  rules: {
    'nebula.stage1':
      'handshake stage 1: exact header 10 00 00 00 / remote index 0 / counter 1, then 64 key bytes and a cleartext protobuf (Details with Cert and InitiatorIndex) walked exactly to the last byte',
    'nebula.stage2': 'stage-2 reply header (10 00 00 00, non-zero remote index, counter 2) answering a stage-1 header from the other side',
    'nebula.data': '≥4 message packets (11 00|01 00 00) per direction, one remote index per direction, 64-bit BE counter rising by small steps',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    const b0 = u8(f, i, 0), len = f.len(i), d = f.dir(i);
    if (b0 === NEBULA_HANDSHAKE) {
      if (u8(f, i, 1) !== 0 || u16be(f, i, 2) !== 0 || u32be(f, i, 8) !== 0) return null;
      const rx = u32be(f, i, 4), ctr = u32be(f, i, 12);
      if (rx === 0 && ctr === 1 && len > STAGE1_PAYLOAD && f.avail(i) >= len) {
        const top = walk(f, i, STAGE1_PAYLOAD, len, 0);
        if (top < 0 || (top & 2) === 0 || u8(f, i, STAGE1_PAYLOAD) !== 0x0a) return null;
        // Details (field 1, first) must itself walk exactly and carry Cert (1) and InitiatorIndex (2).
        const lp = varint35(f, i, STAGE1_PAYLOAD + 1, len);
        if (lp < 0) return null;
        const l = VAL(lp), ds = END(lp);
        const inner = walk(f, i, ds, ds + l, 0);
        if (inner < 0 || (inner & 6) !== 6) return null;
        const idx = walk(f, i, ds, ds + l, 2);
        return [
          {
            source: 'nebula', protocol: 'nebula', strength: 'strong', rule: 'nebula.stage1', packet: i, offset: STAGE1_PAYLOAD,
            reason: `packet ${i}: Nebula handshake stage 1, header 10 00 00 00 / remote index 0 / counter 1, ${len} bytes; protobuf Details (${l} bytes) with Cert and InitiatorIndex 0x${idx.toString(16)} walks exactly to the last byte`,
          },
        ];
      }
      if (rx > 0 && ctr === 2 && len >= HEADER_LEN + 32) {
        for (let j = 0; j < i; j++) {
          if (f.dir(j) === d || u32be(f, j, 0) !== 0x10000000 || u32be(f, j, 4) !== 0 || u32be(f, j, 8) !== 0 || u32be(f, j, 12) !== 1) continue;
          return [
            {
              source: 'nebula', protocol: 'nebula', strength: 'medium', rule: 'nebula.stage2', packet: i, offset: 4,
              reason: `packet ${j}: stage-1 header; packet ${i}${d === DIR_FWD ? '' : ' (reverse)'}: stage-2 header 10 00 00 00, remote index 0x${rx.toString(16)}, counter 2`,
            },
          ];
        }
      }
      return null;
    }
    if (b0 !== NEBULA_MESSAGE) return null;
    const n = dataRun(f, i, d);
    if (n !== DATA_RUN || dataRun(f, i, 1 - d) < DATA_RUN) return null;
    return [
      {
        source: 'nebula', protocol: 'nebula', strength: 'strong', rule: 'nebula.data', packet: i, offset: 4,
        reason: `≥${DATA_RUN} Nebula message packets per direction up to packet ${i}: byte 0 0x11, reserved 0000, remote index 0x${u32be(f, i, 4).toString(16)} constant for this direction, counter rising to ${u32be(f, i, 12)}`,
      },
    ];
  },
  /** Every Nebula datagram starts with the 16-byte header whose high nibble of byte 0 is version 1. */
  excludes(f: FlowView): boolean {
    const i = f.nPackets - 1;
    if (f.len(i) < HEADER_LEN) return true;
    const b0 = u8(f, i, 0);
    return b0 >= 0 && b0 >> 4 !== 1;
  },
};
