/**
 * OpenVPN detector properties:
 *  - random bytes, over UDP and TCP (uniform, and well-framed TCP streams of random frames behind OpenVPN-looking
 *    opcode bytes), never give a strong OpenVPN item. Bounds: every strong rule needs a 64-bit session id repeated
 *    (reset-echo, session, tcp-chain, session-oneway: ≤ 2^-64 per pair of frames), a 16-bit length relation with
 *    an opcode and a replay-id range (crypt-v2: ≈ 2^-40), or ≥ 8 data frames each way with one 24-bit peer id;
 *  - any segmentation of a valid OpenVPN TCP byte stream gives the same rules (and strengths) as one segment per
 *    packet, when every segment is kept whole. With the flow table's 48-byte snippets of earlier segments a
 *    segmentation can only lose items, never add one: a frame (or a length field) starting past byte 48 of an earlier
 *    segment is unknown, and a coalesced segment's later frames count only while it is the newest.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openvpn } from '../../src/detect/openvpn.js';
import { IPPROTO_TCP, IPPROTO_UDP, type Evidence } from '../../src/detect/types.js';
import { concat, runFlow, ovpnControl, ovpnDataV2, randomBytes, rng, tcpFrame, type OvpnMode, type OvpnSide, type Pkt } from './udp-vpn-builders.js';

/** runFlow with a chosen number of kept bytes for earlier packets. */
const run = (transport: number, pk: readonly Pkt[], keep: number): Evidence[] => runFlow(openvpn, transport, 40000, 1194, pk, keep);
const strongOf = (ev: Evidence[]) => ev.filter((e) => e.strength === 'strong');
const ruleSet = (ev: Evidence[]) => [...new Set(ev.map((e) => `${e.rule}:${e.strength}`))].sort();

const OPCODE_BYTES = [0x38, 0x40, 0x50, 0x20, 0x28, 0x48, 0x30, 0x58, 0x18];
/** A TCP segment of 1–4 well-framed frames, each an OpenVPN-looking opcode byte and random bytes. */
const framedSegment = fc
  .record({ dir: fc.integer({ min: 0, max: 1 }), frames: fc.array(fc.record({ op: fc.constantFrom(...OPCODE_BYTES), len: fc.oneof(fc.constantFrom(14, 22, 26, 42, 54, 66, 353), fc.integer({ min: 1, max: 300 })), seed: fc.nat() }), { minLength: 1, maxLength: 4 }) })
  .map(({ dir, frames }) => ({
    dir,
    bytes: concat(...frames.map(({ op, len, seed }) => {
      const b = randomBytes(len, rng(seed + 1));
      b[0] = op;
      return tcpFrame(b);
    })),
  }));

describe('random bytes give no strong OpenVPN item', () => {
  it('fast-check: uniform random payloads, UDP and TCP, kept prefix 48', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ dir: fc.integer({ min: 0, max: 1 }), bytes: fc.uint8Array({ maxLength: 1500 }) }), { minLength: 1, maxLength: 24 }), fc.boolean(), (pk, isTcp) => {
        expect(strongOf(run(isTcp ? IPPROTO_TCP : IPPROTO_UDP, pk, 48))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
  it('fast-check: TCP streams of well-framed random frames behind OpenVPN opcode bytes (every segment kept whole, and 48)', () => {
    fc.assert(
      fc.property(fc.array(framedSegment, { minLength: 1, maxLength: 16 }), (pk) => {
        expect(strongOf(run(IPPROTO_TCP, pk, 1 << 20))).toEqual([]);
        expect(strongOf(run(IPPROTO_TCP, pk, 48))).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });
});

interface Msg { dir: 0 | 1; bytes: Uint8Array }
const MODES: OvpnMode[] = [{ kind: 'N' }, { kind: 'A', hmac: 16 }, { kind: 'A', hmac: 20 }, { kind: 'A', hmac: 32 }, { kind: 'A', hmac: 64 }, { kind: 'C' }];

/** A valid opening (and optionally data) in one mode; `only` keeps one side (an asymmetric capture). */
function exchange(mode: OvpnMode, seed: number, more: number, data: number, only: -1 | 0 | 1, v3: boolean): Msg[] {
  const r = rng(seed);
  const none = new Uint8Array(0);
  const c: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: 0x6a2f1c40 };
  const s: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: 0x6a2f1c44 };
  let reset = ovpnControl(v3 ? 0x50 : 0x38, mode, c, [], null, 0, none, r);
  if (v3) {
    const wkc = randomBytes(299, r);
    wkc[297] = 299 >> 8;
    wkc[298] = 299 & 0xff;
    reset = concat(reset, wkc);
  }
  const out: Msg[] = [{ dir: 0, bytes: reset }, { dir: 1, bytes: ovpnControl(0x40, mode, s, [0], c.sid, 0, none, r) }];
  out.push({ dir: 0, bytes: ovpnControl(0x28, mode, c, [0], s.sid, null, none, r) });
  for (let k = 1; k <= more; k++) {
    out.push({ dir: 0, bytes: ovpnControl(0x20, mode, c, [], null, k, randomBytes(40 + ((k * 37) % 200), r), r) });
    out.push({ dir: 1, bytes: ovpnControl(0x20, mode, s, [k], c.sid, k, randomBytes(60 + ((k * 53) % 300), r), r) });
  }
  for (let k = 0; k < data; k++) {
    out.push({ dir: 0, bytes: ovpnDataV2(0x48, 7, 1 + k, 60 + k, r) });
    out.push({ dir: 1, bytes: ovpnDataV2(0x48, 7, 1 + k, 90 + k, r) });
  }
  return only < 0 ? out : out.filter((m) => m.dir === only).map((m) => ({ dir: 0 as const, bytes: m.bytes }));
}

/** Consecutive same-direction messages as one byte stream each, cut at the given fractions (≥ 1 byte per segment). */
function resegment(msgs: Msg[], cuts: number[][]): Pkt[] {
  const out: Pkt[] = [];
  let g = 0;
  for (let k = 0; k < msgs.length; ) {
    let e = k;
    while (e < msgs.length && msgs[e]!.dir === msgs[k]!.dir) e++;
    const stream = concat(...msgs.slice(k, e).map((m) => tcpFrame(m.bytes)));
    const at = [...new Set((cuts[g++ % cuts.length] ?? []).map((x) => 1 + Math.floor(x * (stream.length - 1))))].filter((x) => x < stream.length).sort((a, b) => a - b);
    let p = 0;
    for (const c of [...at, stream.length]) {
      out.push({ dir: msgs[k]!.dir, bytes: stream.subarray(p, c) });
      p = c;
    }
    k = e;
  }
  return out;
}

const plan = fc.record({
  mode: fc.nat(MODES.length - 1),
  seed: fc.nat(),
  more: fc.integer({ min: 0, max: 3 }),
  data: fc.integer({ min: 0, max: 2 }),
  only: fc.constantFrom(-1 as const, -1 as const, 0 as const, 1 as const),
  v3: fc.boolean(),
  cuts: fc.array(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }), { minLength: 1, maxLength: 6 }),
});

describe('segmentation of a valid OpenVPN TCP stream', () => {
  it('spot check: the generator makes streams the detector recognises', () => {
    const msgs = exchange({ kind: 'N' }, 1, 2, 0, -1, false);
    expect(ruleSet(run(IPPROTO_TCP, msgs.map((m) => ({ dir: m.dir, bytes: tcpFrame(m.bytes) })), 1 << 20))).toContain('ovpn.reset-echo:strong');
  });
  it('fast-check: any segmentation gives the rules of one segment per packet (segments kept whole); with 48-byte snippets it adds none', () => {
    fc.assert(
      fc.property(plan, ({ mode, seed, more, data, only, v3, cuts }) => {
        const m = MODES[mode]!;
        const msgs = exchange(m, seed, more, data, only, v3 && m.kind === 'C');
        const base: Pkt[] = msgs.map((x) => ({ dir: x.dir, bytes: tcpFrame(x.bytes) }));
        const seg = resegment(msgs, cuts);
        fc.pre(seg.length <= openvpn.maxPackets && base.length <= openvpn.maxPackets);
        const whole = ruleSet(run(IPPROTO_TCP, base, 1 << 20));
        expect(ruleSet(run(IPPROTO_TCP, seg, 1 << 20))).toEqual(whole);
        const kept = ruleSet(run(IPPROTO_TCP, seg, 48));
        for (const r of kept) expect(whole).toContain(r);
      }),
      { numRuns: 400 },
    );
  });
});
