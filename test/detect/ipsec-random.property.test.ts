/**
 * Random payload sequences must never produce strong evidence from the IKE/ESP/AH/L2TP/PPTP detectors, and the
 * IKE message rule must agree with a naive, independently written parser on structured messages.
 *
 * Argued false-match bounds for uniform random payloads (P = probability a random packet/flow passes the rule):
 *   ike.message   version 0x10/0x20 (2^-7) × known exchange (≤ 7/256, 2^-5.2) × reserved flag bits zero (5 bits,
 *                 2^-5) × 32-bit length == UDP payload (2^-32) × first payload type known (≤ 22/256, 2^-3.5) ×
 *                 first payload's reserved byte (2^-7) and a walk landing exactly on the end with next payload 0
 *                 (≤ 2^-8): ≤ 2^-67 ≈ 7e-21 per packet and header offset (0, or 4 behind a 32-bit zero marker,
 *                 which adds 2^-32); × 8 packets × 2 offsets ≈ 1e-19 per flow.
 *   ike.reply     header checks as above without the walk (≤ 2^-49) × 64-bit initiator SPI echo (2^-64) × message id
 *                 equality (2^-32): ≤ 2^-145 per packet pair.
 *   ike.v1-sa     two IKEv1 headers with flag E (each ≤ 2^-49 as above, version fixed to 0x10) × body a multiple of 8
 *                 (2^-3 each) × 128-bit SPI pair equality (2^-128): ≤ 2^-232 per packet pair.
 *   natt.esp      UDP 4500 only; 3 packets of one direction: SPI equality twice (2^-64) × two more sequence numbers
 *                 within ±6 of the newest (lost packets and reordering: ≤ 13/2^32 each, 2^-56.6): ≤ 2^-120.
 *   esp.sequence  same relation on IP protocol 50: ≤ 2^-120 — the SPI's value plays no part, so accepting the reserved
 *                 SPIs 1–255 (manually keyed SAs) leaves the bound unchanged; with the SPI forced into 1–255 and
 *                 equal, the sequence relation alone still needs 2^-56 (swept below).  ah.sequence: + reserved 16 bits
 *                 zero: ≤ 2^-152.
 *   ah.tunnel / ah.transport  reserved 16 bits (2^-16) × next header value (2^-8) × inner check (IPv4/IPv6 16-bit
 *                 length, ESP SPI + 2^-0, UDP 16-bit length, ICMP 16-bit checksum + type, TCP data offset/reserved
 *                 bits ≈ 2^-4.4, ICMPv6 type ≈ 2^-3.7): worst case (TCP) ≈ 2^-28.4 ≈ 2.8e-9 per packet.
 *   l2tp.control  16-bit C802 (2^-16) × length == payload (2^-16) × 64-bit Message Type AVP prefix with a known
 *                 type (2^-52) × AVP walk: ≤ 2^-84.  l2tp.v3-control: same with C803 (and 32 zero bits over IP).
 *   l2tp.ack      two valid control headers (each ≤ 2^-84): negligible.
 *   l2tp.data-session  2 × (flags/version 12 bits × FF 03 16 bits × PPP protocol ≈ 2^-12.7) × 32-bit id equality:
 *                 ≤ 2^-113. A compressed frame (ACFC/PFC) in the run: flags/version 2^-12 × protocol field (≤ 2^-7) ×
 *                 inner length field == bytes remaining with its version/code (≤ 2^-20.5): ≤ 2^-39.5 per packet, so
 *                 the run stays ≤ 2^-111 (test/detect/l2tp-random.property.test.ts measures it).
 *   l2tp.data-ppp  data header fixed bits (T, 7 reserved, version: 2^-12) × FF 03 (2^-16) × one of 4 control protocols
 *                 (2^-14) × 16-bit length == bytes remaining (2^-16) × code/minimum length/option walk (measured
 *                 below on look-alikes with everything else forced valid: ≤ 2^-4): ≤ 2^-62 per packet.
 *   pptp.control  32-bit magic (2^-32) × message type 1 (2^-16) × control type 1–15 (2^-12) × fixed length
 *                 (2^-16) × reserved 0 (2^-16): 2^-92.  pptp.call: two of those + 16-bit echo.
 *   pptp.gre      flags (2^-7) × version byte (2^-7) × protocol 880B (2^-16) × 16-bit payload length == actual
 *                 (2^-16): 2^-46 ≈ 1.4e-14.  pptp.gre-sequence: three headers + call id/sequence equalities.
 * Measured: the seeded sweep below (10,000 random flows of 8 packets over every transport/port the detectors
 * inspect) produces no strong item and the number of medium items it reports (0 in the recorded run).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ah } from '../../src/detect/ah.js';
import { esp } from '../../src/detect/esp.js';
import { ike } from '../../src/detect/ike.js';
import { IPPROTO_L2TP, l2tp } from '../../src/detect/l2tp.js';
import { pptp } from '../../src/detect/pptp.js';
import { IPPROTO_AH, IPPROTO_ESP, IPPROTO_GRE, IPPROTO_TCP, IPPROTO_UDP, type Detector, type Evidence } from '../../src/detect/types.js';
import { randomBytes, rng, runFlow, type Pkt } from './udp-vpn-builders.js';
import { payload, u32 } from './ipsec-builders.js';
import { concat } from './udp-vpn-builders.js';

const DETECTORS: readonly Detector[] = [ike, esp, ah, l2tp, pptp];
const FLOWS: readonly { transport: number; port: number }[] = [
  { transport: IPPROTO_UDP, port: 500 }, { transport: IPPROTO_UDP, port: 4500 }, { transport: IPPROTO_UDP, port: 1701 },
  { transport: IPPROTO_TCP, port: 1723 }, { transport: IPPROTO_GRE, port: 0 }, { transport: IPPROTO_ESP, port: 0 },
  { transport: IPPROTO_AH, port: 0 }, { transport: IPPROTO_L2TP, port: 0 },
];

function items(transport: number, port: number, pk: Pkt[]): Evidence[] {
  const out: Evidence[] = [];
  for (const d of DETECTORS) if (d.transports.includes(transport)) out.push(...runFlow(d, transport, port ? 40000 : 0, port, pk));
  return out;
}

const packet = fc.record({ dir: fc.integer({ min: 0, max: 1 }), bytes: fc.uint8Array({ minLength: 0, maxLength: 1500 }) });

/** Random bodies behind a header that passes every IKE header check: only the chain walk stands between them and strong. */
const ikeHeaderLookalike = fc
  .record({
    dir: fc.integer({ min: 0, max: 1 }),
    v2: fc.boolean(),
    marker: fc.boolean(),
    bodyLen: fc.integer({ min: 0, max: 1200 }),
    first: fc.integer({ min: 0, max: 255 }),
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
  })
  .map(({ dir, v2, marker, bodyLen, first, seed }) => {
    const r = rng(seed);
    const hdr = concat(randomBytes(8, r), new Uint8Array(8), new Uint8Array([first, v2 ? 0x20 : 0x10, v2 ? 34 : 2, v2 ? 0x08 : 0]), u32(0), u32(28 + bodyLen));
    hdr[0] = hdr[0]! | 1; // initiator SPI non-zero
    const m = concat(hdr, randomBytes(bodyLen, r));
    return { dir, bytes: marker ? concat(new Uint8Array(4), m) : m };
  });

describe('rule-specific look-alikes (everything else forced valid)', () => {
  it('esp.sequence with SPIs 1–255: constant small SPI, random sequence numbers → never a run (2^-56 needed)', () => {
    const r = rng(0x5b1);
    for (let f = 0; f < 20_000; f++) {
      const spi = 1 + (r() % 255);
      const pk: Pkt[] = [];
      for (let k = 0; k < 4; k++) pk.push({ dir: 0, bytes: concat(u32(spi), randomBytes(60, r)) });
      expect(runFlow(esp, IPPROTO_ESP, 0, 0, pk).filter((e) => e.strength === 'strong')).toEqual([]);
    }
  });

  it('l2tp.data-ppp: a valid data header, FF 03, a control protocol and a right length over random code and body pass ≤ 2^-4', () => {
    const r = rng(0x12f0);
    const protos = [0xc021, 0x8021, 0x8057, 0x80fd];
    let pass = 0;
    const N = 100_000;
    for (let k = 0; k < N; k++) {
      const body = randomBytes(4 + (r() % 60), r);
      body[2] = body.length >> 8;
      body[3] = body.length & 255; // the PPP length field forced equal to the bytes remaining
      // 40 02 (L set, version 2), length, tunnel id 1, session id 2, FF 03, PPP protocol, then the control packet.
      const pkt = concat(Uint8Array.of(0x40, 0x02, 0, 0, 0, 1, 0, 2, 0xff, 0x03, protos[k & 3]! >> 8, protos[k & 3]! & 255), body);
      pkt[2] = pkt.length >> 8;
      pkt[3] = pkt.length & 255;
      if (runFlow(l2tp, IPPROTO_UDP, 1701, 1701, [{ dir: 0, bytes: pkt }]).some((e) => e.rule === 'l2tp.data-ppp')) pass++;
    }
    // Measured in the recorded run: 1,796 of 100,000 (1.8%, ≈ 2^-5.8): mostly codes whose minimum length fits and
    // which have no option list to walk.
    expect(pass / N).toBeLessThanOrEqual(1 / 16);
    expect(pass).toBeGreaterThan(0); // the forced fields are right: the measure can see a pass
  });
});

describe('random payload sequences produce no strong evidence (IKE, ESP, AH, L2TP, PPTP)', () => {
  it('fast-check: uniform random payloads, 1-8 packets, every inspected transport', () => {
    fc.assert(
      fc.property(fc.array(packet, { minLength: 1, maxLength: 8 }), fc.constantFrom(...FLOWS), (pk, fl) => {
        expect(items(fl.transport, fl.port, pk).filter((e) => e.strength === 'strong')).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('fast-check: valid IKE headers over random bodies never walk (no ike.message)', () => {
    fc.assert(
      fc.property(fc.array(ikeHeaderLookalike, { minLength: 1, maxLength: 8 }), fc.constantFrom(500, 4500), (pk, port) => {
        // Distinct random initiator SPIs: the reply rule cannot apply, so any strong item would be a walk accident.
        expect(runFlow(ike, IPPROTO_UDP, 40000, port, pk).filter((e) => e.strength === 'strong')).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  it('seeded sweep: 10,000 random 8-packet flows give no strong item (medium counted)', () => {
    const r = rng(0x1ce);
    let medium = 0;
    for (let f = 0; f < 10_000; f++) {
      const pk: Pkt[] = [];
      for (let k = 0; k < 8; k++) pk.push({ dir: r() & 1, bytes: randomBytes(((r() << 8) | r()) % 1501, r) });
      const fl = FLOWS[f % FLOWS.length]!;
      for (const e of items(fl.transport, fl.port, pk)) {
        expect(e.strength).not.toBe('strong');
        if (e.strength === 'medium' && e.source !== 'esp') medium++;
      }
    }
    // ESP's protocol-number item fires on any non-zero SPI by design (IP protocol 50 is the statement); others: none.
    expect(medium).toBe(0);
  });
});

// ---------------------------------------------------------------- IKE oracle

const V1_TYPES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 20, 21, 130, 131, 132];
const V2_TYPES = Array.from({ length: 22 }, (_, k) => 33 + k);
const V1_X = [1, 2, 3, 4, 5, 6, 32, 33]; // 6: Transaction (Mode Config / XAUTH)
const V2_X = [34, 35, 36, 37, 38, 43, 44];

/** Naive twin of the ike.message rule: slices the message into payload objects, then checks the list. */
function oracleIsMessage(b: Uint8Array, marker: boolean): boolean {
  let m = b;
  if (marker) {
    if (b.length < 4 || b[0] || b[1] || b[2] || b[3]) return false;
    m = b.subarray(4);
  } else if (b.length >= 4 && !b[0] && !b[1] && !b[2] && !b[3]) return false;
  if (m.length < 28) return false;
  const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
  const ver = m[17]!, x = m[18]!, flags = m[19]!;
  if (dv.getUint32(24) !== m.length) return false;
  if (dv.getUint32(0) === 0 && dv.getUint32(4) === 0) return false;
  const rZero = dv.getUint32(8) === 0 && dv.getUint32(12) === 0;
  let types: number[];
  if (ver === 0x10) {
    if (!V1_X.includes(x) || flags & 0xf8 || flags & 1) return false;
    types = V1_TYPES;
  } else if (ver === 0x20) {
    if (!V2_X.includes(x) || flags & 0xc7) return false;
    if (rZero && x !== 34) return false;
    if (x === 34 && dv.getUint32(20) !== 0) return false;
    types = V2_TYPES;
  } else return false;
  const list: { type: number; next: number; crit: number; len: number; body: Uint8Array }[] = [];
  let type = m[16]!, off = 28;
  while (type !== 0) {
    if (!types.includes(type) || off + 4 > m.length) return false;
    const len = dv.getUint16(off + 2);
    list.push({ type, next: m[off]!, crit: m[off + 1]!, len, body: m.subarray(off + 4, off + len) });
    if (len < 4 || off + len > m.length) return false;
    off += len;
    if (ver === 0x20 && (type === 46 || type === 53)) break;
    type = list[list.length - 1]!.next;
  }
  if (list.length === 0 || off !== m.length) return false;
  for (const p of list) {
    if (ver === 0x10 ? p.crit !== 0 : (p.crit & 0x7f) !== 0) return false;
    if (p.type === 53 && (p.len < 8 || ((p.body[0]! << 8) | p.body[1]!) < 1 || ((p.body[0]! << 8) | p.body[1]!) > ((p.body[2]! << 8) | p.body[3]!))) return false;
  }
  return true;
}

/** Structured IKE messages: a random chain of (mostly valid) payloads, then optional corruptions. */
const structured = fc
  .record({
    v2: fc.boolean(),
    marker: fc.boolean(),
    exchange: fc.constantFrom(1, 2, 4, 5, 6, 32, 34, 35, 36, 37, 38, 43, 44, 7, 39, 0),
    flags: fc.constantFrom(0, 1, 2, 4, 8, 0x20, 0x28, 0x40, 0x80),
    msgId: fc.constantFrom(0, 1, 7),
    rZero: fc.boolean(),
    validHdr: fc.boolean(),
    chain: fc.array(fc.record({ sel: fc.integer({ min: 0, max: 11 }), len: fc.integer({ min: 0, max: 40 }), crit: fc.constantFrom(0, 0, 0, 0x80, 1) }), { minLength: 0, maxLength: 6 }),
    lengthDelta: fc.constantFrom(0, 0, 0, 1, -1),
    trail: fc.constantFrom(0, 0, 0, 3),
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
  })
  .map((s) => {
    const r = rng(s.seed);
    const parts: Uint8Array[] = [];
    // Mostly types of the message's own version (SK/SKF included), sometimes the other version's or unregistered ones.
    const own = s.v2 ? [33, 34, 40, 41, 43, 46, 53, 35] : [1, 4, 10, 13, 20, 130, 132, 5];
    const chain = s.chain.map((c) => ({ ...c, type: c.sel < 8 ? own[c.sel]! : [60, 127, s.v2 ? 13 : 41, 0][c.sel - 8]! }));
    const exchange = s.validHdr ? (s.v2 ? 34 : 2) : s.exchange;
    const flags = s.validHdr ? (s.v2 ? 0x08 : 0) : s.flags;
    const msgId = s.validHdr ? 0 : s.msgId;
    for (let k = chain.length - 1, next = 0; k >= 0; k--) {
      const c = chain[k]!;
      const body = randomBytes(c.len, r);
      if (c.type === 53 && c.len >= 4) { body[0] = 0; body[1] = 1; body[2] = 0; body[3] = 2; }
      parts.unshift(payload(next, body, c.crit));
      next = c.type;
    }
    const body = concat(...parts, randomBytes(s.trail, r));
    const first = chain[0]?.type ?? 0;
    const hdr = concat(randomBytes(8, r), s.rZero ? new Uint8Array(8) : randomBytes(8, r), new Uint8Array([first, s.v2 ? 0x20 : 0x10, exchange, flags]), u32(msgId), u32(28 + body.length + s.lengthDelta));
    const m = concat(hdr, body);
    return s.marker ? concat(new Uint8Array(4), m) : m;
  });

describe('ike.message agrees with a naive parser', () => {
  it('fast-check: structured messages with corrupted headers/chains', () => {
    let positives = 0;
    fc.assert(
      fc.property(structured, (b) => {
        const marker = b.length >= 4 && !b[0] && !b[1] && !b[2] && !b[3];
        const ev = runFlow(ike, IPPROTO_UDP, 40000, 4500, [{ dir: 0, bytes: b }]);
        const got = ev.some((e) => e.rule === 'ike.message');
        const want = oracleIsMessage(b, marker);
        if (want) positives++;
        expect(got).toBe(want);
      }),
      { numRuns: 3000 },
    );
    expect(positives).toBeGreaterThan(20); // the generator reaches the accepting side too
  });
});
