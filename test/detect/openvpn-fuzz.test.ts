/**
 * Fuzz the OpenVPN detector with real OpenVPN packets: the payloads of the OpenVPN flows of the dev corpus captures
 * (openvpn.pcap, 443-opvn.pcap; built spec packets when the corpus is not beside the clone), mutated (bit flips,
 * truncation, length fields set to 0/1/huge, direction swaps, drops) and, over TCP, re-cut into random segments.
 * Property: detect/excludes never throw, finish in bounded time, and every item is well-formed with a reason of
 * printable text. The same captures, mutated with the fuzz harness's capture operations (test/fuzz/mutate.ts), go
 * through a classifier session and must keep the harness's contract (test/fuzz/contract.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openvpn } from '../../src/detect/openvpn.js';
import { IPPROTO_TCP, IPPROTO_UDP, type Evidence } from '../../src/detect/types.js';
import { Decoder, newPacketView } from '../../src/trace/decode.js';
import { readCaptureBuffer } from '../../src/trace/reader.js';
import { PCAP_DIR } from '../helpers/corpus.js';
import { session, UNSAFE } from '../fuzz/contract.js';
import { capturePlan, mutateCapture } from '../fuzz/mutate.js';
import { LimitedFlowView, OVPN_SPEC_CLIENT, OVPN_SPEC_SERVER, OVPN_SPEC_TCP_CLIENT, concat, ovpnDataV2, rng, tcpFrame, type Pkt } from './udp-vpn-builders.js';

interface Flow { transport: number; pk: Pkt[] }
const CAPTURES = ['openvpn.pcap', '443-opvn.pcap'].map((f) => join(PCAP_DIR, f)).filter((p) => existsSync(p));

/** The payload packets of each flow of a capture that talks on an OpenVPN-looking port pair, first 24 per flow. */
function flowsOf(file: string): Flow[] {
  const dec = new Decoder(), v = newPacketView();
  const flows = new Map<string, { transport: number; first: string; pk: Pkt[] }>();
  readCaptureBuffer(new Uint8Array(readFileSync(file)), file, (raw) => {
    if (!dec.decode(raw, v) || (v.proto !== 6 && v.proto !== 17) || v.payloadLen === 0) return;
    const a = `${v.src4}:${v.srcPort}`, b = `${v.dst4}:${v.dstPort}`;
    const key = `${v.proto}|${[a, b].sort().join('|')}`;
    let fl = flows.get(key);
    if (!fl) flows.set(key, (fl = { transport: v.proto, first: a, pk: [] }));
    if (fl.pk.length < 24) fl.pk.push({ dir: a === fl.first ? 0 : 1, bytes: v.data.slice(v.payloadOff, v.payloadOff + v.payloadLen) });
  });
  return [...flows.values()].map(({ transport, pk }) => ({ transport, pk }));
}

const REAL: Flow[] = CAPTURES.flatMap(flowsOf).filter((fl) => {
  // keep the flows the detector itself calls OpenVPN: the mutations start from real OpenVPN bytes
  const ev = run(fl.transport, fl.pk, 48);
  return ev.some((e) => e.strength === 'strong');
});
const r = rng(7);
const BUILT: Flow[] = [
  { transport: IPPROTO_UDP, pk: [{ dir: 0, bytes: OVPN_SPEC_CLIENT }, { dir: 1, bytes: OVPN_SPEC_SERVER }, { dir: 0, bytes: ovpnDataV2(0x48, 1, 1, 80, r) }] },
  { transport: IPPROTO_TCP, pk: [{ dir: 0, bytes: OVPN_SPEC_TCP_CLIENT }, { dir: 1, bytes: tcpFrame(OVPN_SPEC_SERVER) }] },
];
const SEEDS = REAL.length > 0 ? REAL : BUILT;

function run(transport: number, pk: readonly Pkt[], keep: number): Evidence[] {
  const out: Evidence[] = [];
  const v = new LimitedFlowView(transport, 40000, 1194, pk, 0, keep);
  for (let n = 1; n <= Math.min(pk.length, openvpn.maxPackets); n++) {
    v.nPackets = n;
    const ev = openvpn.detect(v);
    const x = openvpn.excludes!(v);
    if (x) expect(ev).toBeNull();
    if (ev) {
      for (const e of ev) {
        expect(Object.keys(openvpn.rules)).toContain(e.rule);
        expect(e.packet! >= 0 && e.packet! < n).toBe(true);
        expect(Number.isInteger(e.offset) && e.offset! >= 0 && (n - 1 !== e.packet || e.offset! <= pk[n - 1]!.bytes.length)).toBe(true);
        expect(UNSAFE.test(e.reason)).toBe(false);
      }
      out.push(...ev);
    }
  }
  return out;
}

type Mut = { k: 'flip'; pkt: number; bit: number } | { k: 'trunc'; pkt: number; at: number } | { k: 'len'; pkt: number; at: number; v: number }
  | { k: 'swap'; pkt: number } | { k: 'drop'; pkt: number } | { k: 'dup'; pkt: number };
const mutation: fc.Arbitrary<Mut> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), pkt: fc.nat(), bit: fc.nat() }),
  fc.record({ k: fc.constant('trunc' as const), pkt: fc.nat(), at: fc.nat() }),
  fc.record({ k: fc.constant('len' as const), pkt: fc.nat(), at: fc.nat(64), v: fc.constantFrom(0, 1, 0x3fff, 0x4000, 0xffff, 0x0e) }),
  fc.record({ k: fc.constant('swap' as const), pkt: fc.nat() }),
  fc.record({ k: fc.constant('drop' as const), pkt: fc.nat() }),
  fc.record({ k: fc.constant('dup' as const), pkt: fc.nat() }),
);
function apply(pk: Pkt[], m: Mut): Pkt[] {
  if (pk.length === 0) return pk;
  const i = m.pkt % pk.length, p = pk[i]!, out = pk.slice(), b = p.bytes.slice();
  switch (m.k) {
    case 'flip': if (b.length) b[(m.bit >> 3) % b.length]! ^= 1 << (m.bit & 7); out[i] = { dir: p.dir, bytes: b }; break;
    case 'trunc': out[i] = { dir: p.dir, bytes: b.slice(0, m.at % (b.length + 1)) }; break;
    case 'len': if (b.length >= 2) { const at = m.at % (b.length - 1); b[at] = m.v >> 8; b[at + 1] = m.v & 0xff; } out[i] = { dir: p.dir, bytes: b }; break;
    case 'swap': out[i] = { dir: 1 - p.dir, bytes: b }; break;
    case 'drop': out.splice(i, 1); break;
    case 'dup': out.splice(i, 0, { dir: p.dir, bytes: b }); break;
  }
  return out;
}
/** TCP: every direction's bytes re-cut at random points (fractions), directions kept in their order of runs. */
function recut(pk: Pkt[], cuts: number[]): Pkt[] {
  const out: Pkt[] = [];
  let c = 0;
  for (let k = 0; k < pk.length; ) {
    let e = k;
    while (e < pk.length && pk[e]!.dir === pk[k]!.dir) e++;
    const stream = concat(...pk.slice(k, e).map((p) => p.bytes));
    let p = 0;
    while (p < stream.length) {
      const n = Math.max(1, Math.floor((cuts[c++ % Math.max(1, cuts.length)] ?? 1) * 400));
      out.push({ dir: pk[k]!.dir, bytes: stream.subarray(p, p + n) });
      p += n;
    }
    k = e;
  }
  return out;
}

describe('OpenVPN detector on mutated real OpenVPN packets', () => {
  it(`has seeds (${CAPTURES.length ? 'real flows from the dev corpus' : 'built spec packets: corpus not found'})`, () => {
    expect(SEEDS.length).toBeGreaterThan(0);
    if (CAPTURES.length) expect(REAL.length).toBeGreaterThanOrEqual(8);
  });

  it('fast-check: never throws or hangs; items well-formed and escaped', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(mutation, { maxLength: 6 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }), fc.integer({ min: 0, max: 64 }), (si, muts, cuts, keep) => {
        const seed = SEEDS[si % SEEDS.length]!;
        let pk = seed.pk;
        for (const m of muts) pk = apply(pk, m);
        if (seed.transport === IPPROTO_TCP && cuts.length) pk = recut(pk, cuts);
        if (pk.length === 0) return;
        const t0 = performance.now();
        run(seed.transport, pk, keep);
        run(seed.transport, pk, 48);
        expect(performance.now() - t0).toBeLessThan(2000);
      }),
      { numRuns: 600 },
    );
  });
});

describe('hostile TCP streams stay bounded', () => {
  it('24 full segments of minimal frames (resets, server resets, control packets) in both directions', () => {
    const seg = (op: number, len: number) => {
      const parts: Uint8Array[] = [];
      for (let n = 0; n + len + 2 <= 1460; n += len + 2) {
        const b = new Uint8Array(len).fill(0);
        b[0] = op;
        parts.push(tcpFrame(b));
      }
      return concat(...parts);
    };
    const kinds = [[0x38, 14], [0x40, 26], [0x20, 14], [0x28, 22], [0x48, 8], [0x20, 1]] as const;
    for (const [a, la] of kinds) {
      for (const [b, lb] of kinds) {
        const pk: Pkt[] = [];
        for (let k = 0; k < 24; k++) pk.push(k % 2 ? { dir: 1, bytes: seg(b, lb) } : { dir: 0, bytes: seg(a, la) });
        const t0 = performance.now();
        run(IPPROTO_TCP, pk, 48);
        run(IPPROTO_TCP, pk, 1 << 20);
        expect(performance.now() - t0, `0x${a.toString(16)}/${la} vs 0x${b.toString(16)}/${lb}`).toBeLessThan(1500);
      }
    }
  });
});

describe.runIf(CAPTURES.length > 0)('the OpenVPN captures, mutated, through a classifier session', () => {
  it('fast-check: the fuzz harness contract holds (no throw, records well-formed) in bounded time', () => {
    const seeds = CAPTURES.map((p) => ({ name: p, bytes: new Uint8Array(readFileSync(p)) }));
    fc.assert(
      fc.property(capturePlan(seeds.length), ({ seed, ops }) => {
        const t0 = performance.now();
        session({}, mutateCapture(seeds[seed]!.bytes, ops, seeds));
        expect(performance.now() - t0).toBeLessThan(10_000);
      }),
      { numRuns: 40 },
    );
  });
});
