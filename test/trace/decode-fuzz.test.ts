/**
 * Decoder properties: (1) against the frame builder as oracle on random well-formed frames; (2) on random and
 * mutated bytes it never throws, every offset it reports lies inside the captured bytes, and the result does
 * not depend on bytes outside the capture (a packet embedded in garbage decodes like a packet alone).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Decoder, newPacketView } from '../../src/trace/decode.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { ENCAP_NAMES, type PacketView, type RawPacket } from '../../src/trace/types.js';
import { capwap, eth, geneve, gre, gtpu, ipv4, ipv6, nflogAttr, tcp, udp, vxlan, vxlanGpe, wlanData, extHeader, fragHeader } from './decode-helpers.js';

const LINK_TYPES = [0, 1, 9, 12, 14, 50, 101, 104, 105, 108, 113, 117, 127, 228, 229, 239, 276, 147];

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((a) => a.map((x) => x.toString(16)).join(':'));

/** Relative snapshot of a view (offsets made relative to the frame start) for comparisons. */
function snap(v: PacketView, base: number): unknown[] {
  return [
    v.vlan, v.encap, v.ipVersion, v.l3Off - base, v.srcOff - base, v.dstOff - base, v.src4, v.dst4, v.proto,
    v.srcPort, v.dstPort, v.spi, v.tcpFlags, v.payloadOff - base, v.payloadLen, v.payloadWireLen,
    v.isFragment, v.fragOffset, v.fragId, v.moreFragments,
  ];
}

function checkInvariants(v: PacketView, r: RawPacket): void {
  const lo = r.offset, hi = r.offset + r.capLen;
  const alen = v.ipVersion === 4 ? 4 : 16;
  expect(v.l3Off).toBeGreaterThanOrEqual(lo);
  expect(v.srcOff + alen).toBeLessThanOrEqual(hi);
  expect(v.dstOff + alen).toBeLessThanOrEqual(hi);
  expect(v.payloadLen).toBeGreaterThanOrEqual(0);
  expect(v.payloadOff).toBeGreaterThanOrEqual(v.l3Off);
  expect(v.payloadOff + v.payloadLen).toBeLessThanOrEqual(hi);
  expect(v.payloadWireLen).toBeGreaterThanOrEqual(0);
  expect(v.srcPort >= 0 && v.srcPort <= 0xffff && v.dstPort >= 0 && v.dstPort <= 0xffff).toBe(true);
  expect(ENCAP_NAMES[v.encap]).not.toBeUndefined();
  expect(v.vlan >= -1 && v.vlan <= 0xfff).toBe(true);
}

/** Decode `frame` alone and embedded in random garbage; both must agree and respect the capture bounds. */
function decodeBoth(frame: Uint8Array, linkType: number, before: Uint8Array, after: Uint8Array, d: Decoder, d2: Decoder): boolean {
  const alone: RawPacket = { data: frame, offset: 0, capLen: frame.length, wireLen: frame.length, tsUs: 0, linkType };
  const data = new Uint8Array(before.length + frame.length + after.length);
  data.set(before);
  data.set(frame, before.length);
  data.set(after, before.length + frame.length);
  const embedded: RawPacket = { data, offset: before.length, capLen: frame.length, wireLen: frame.length, tsUs: 0, linkType };
  const va = newPacketView(), vb = newPacketView();
  const okA = d.decode(alone, va);
  const okB = d2.decode(embedded, vb);
  expect(okB).toBe(okA);
  if (okA) {
    checkInvariants(va, alone);
    checkInvariants(vb, embedded);
    expect(snap(vb, before.length)).toEqual(snap(va, 0));
  }
  return okA;
}

/** Random well-formed frames with tunnels and extension headers, to mutate. */
const inner = fc.oneof(
  fc.record({ a: v4, b: v4, sp: fc.nat(0xffff), dp: fc.nat(0xffff), n: fc.nat(40) }).map((x) => ipv4(x.a, x.b, 6, tcp(x.sp, x.dp, new Uint8Array(x.n)))),
  fc.record({ a: v6, b: v6, sp: fc.nat(0xffff), dp: fc.nat(0xffff), n: fc.nat(40) }).map((x) =>
    ipv6(x.a, x.b, 17, udp(x.sp, x.dp, new Uint8Array(x.n)), [extHeader(0), fragHeader(0, true, 9)]),
  ),
);
const carrier = fc.tuple(inner, fc.constantFrom('gre', 'gtp', 'vxlan', 'gpe', 'geneve', 'capwap3', 'capwap11', 'ipip', 'none')).map(([ip, kind]) => {
  const e = (p: Uint8Array): Uint8Array => eth(p[0]! >> 4 === 4 ? 0x0800 : 0x86dd, p);
  switch (kind) {
    case 'gre': return ipv4('1.1.1.1', '2.2.2.2', 47, gre(ip[0]! >> 4 === 4 ? 0x0800 : 0x86dd, ip, { key: 1 }));
    case 'gtp': return ipv4('1.1.1.1', '2.2.2.2', 17, udp(2152, 2152, gtpu(ip, { ext: [[1, 2]] })));
    case 'vxlan': return ipv6('::1', '::2', 17, udp(9, 4789, vxlan(e(ip))));
    case 'gpe': return ipv4('1.1.1.1', '2.2.2.2', 17, udp(9, 4790, vxlanGpe(ip, ip[0]! >> 4 === 4 ? 1 : 2)));
    case 'geneve': return ipv4('1.1.1.1', '2.2.2.2', 17, udp(9, 6081, geneve(ip, ip[0]! >> 4 === 4 ? 0x0800 : 0x86dd, { options: [[1, 2, 3, 4], [5, 6, 7, 8, 9, 10, 11, 12]] })));
    case 'capwap3': return ipv4('1.1.1.1', '2.2.2.2', 17, udp(5247, 9, capwap(e(ip))));
    case 'capwap11': return ipv4('1.1.1.1', '2.2.2.2', 17, udp(5247, 9, capwap(wlanData(ip[0]! >> 4 === 4 ? 0x0800 : 0x86dd, ip), { native: true })));
    case 'ipip': return ipv4('1.1.1.1', '2.2.2.2', ip[0]! >> 4 === 4 ? 4 : 41, ip);
    default: return ip;
  }
});

describe('decoder fuzz', () => {
  it('matches the frame builder on random well-formed frames (oracle)', () => {
    const spec = fc.record({
      v6: fc.boolean(), a4: v4, b4: v4, a6: v6, b6: v6,
      proto: fc.constantFrom(6, 17, 1, 50, 47, 89),
      srcPort: fc.nat(0xffff), dstPort: fc.nat(0xffff),
      payload: fc.uint8Array({ minLength: 4, maxLength: 64 }),
      vlan: fc.option(fc.nat(4095), { nil: undefined }),
      link: fc.constantFrom('eth' as const, 'raw' as const),
      tcpFlags: fc.nat(255),
    });
    const d = new Decoder({ maxTunnelDepth: 0 }); // the oracle knows no tunnels; proto 47 payloads are random
    const v = newPacketView();
    fc.assert(
      fc.property(spec, (s) => {
        const src = s.v6 ? s.a6 : s.a4, dst = s.v6 ? s.b6 : s.b4;
        const fs = { src, dst, proto: s.proto, srcPort: s.srcPort, dstPort: s.dstPort, payload: s.payload, link: s.link, tcpFlags: s.tcpFlags, ...(s.link === 'eth' && s.vlan !== undefined ? { vlan: s.vlan } : {}) };
        const frame = buildFrame(fs);
        const linkType = s.link === 'eth' ? 1 : 101;
        expect(d.decode({ data: frame, offset: 0, capLen: frame.length, wireLen: frame.length, tsUs: 7, linkType }, v)).toBe(true);
        const l3 = s.link === 'eth' ? (fs.vlan !== undefined ? 18 : 14) : 0;
        const ipHdr = s.v6 ? 40 : 20;
        const l4Hdr = s.proto === 6 ? 20 : s.proto === 17 ? 8 : 0;
        const hasPorts = s.proto === 6 || s.proto === 17;
        expect(v.ipVersion).toBe(s.v6 ? 6 : 4);
        expect(v.l3Off).toBe(l3);
        expect(v.vlan).toBe(fs.vlan ?? -1);
        expect(v.proto).toBe(s.proto);
        expect([v.srcPort, v.dstPort]).toEqual(hasPorts ? [s.srcPort, s.dstPort] : [0, 0]);
        expect(v.tcpFlags).toBe(s.proto === 6 ? s.tcpFlags : 0);
        expect(v.spi).toBe(s.proto === 50 ? new DataView(s.payload.buffer).getUint32(0) : 0);
        expect(v.payloadOff).toBe(l3 + ipHdr + l4Hdr);
        expect(Array.from(frame.subarray(v.payloadOff, v.payloadOff + v.payloadLen))).toEqual(Array.from(s.payload));
        expect(v.payloadWireLen).toBe(s.payload.length);
        expect(v.tsUs).toBe(7);
        expect(v.isFragment).toBe(false);
        if (!s.v6) {
          expect(v.src4).toBe(s.a4.split('.').reduce((acc, x) => acc * 256 + Number(x), 0));
          expect(v.dst4).toBe(s.b4.split('.').reduce((acc, x) => acc * 256 + Number(x), 0));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes under every link type: never throws, bounded, independent of bytes outside the capture', () => {
    const d = new Decoder(), d2 = new Decoder();
    let n = 0;
    fc.assert(
      fc.property(fc.constantFrom(...LINK_TYPES), fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 64 }), (lt, bytes, before, after) => {
        n++;
        decodeBoth(bytes, lt, before, after, d, d2);
      }),
      { numRuns: 500 },
    );
    const failed = Object.values(d.stats.malformed).reduce((a, b) => a + b, 0);
    expect(d.stats.decoded + failed).toBe(n);
  });

  it('mutated and truncated tunnel frames: never throws, bounded, independent of bytes outside the capture', () => {
    const d = new Decoder(), d2 = new Decoder();
    let decoded = 0;
    fc.assert(
      fc.property(
        carrier,
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 3 }),
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        (frame, muts, cut, after) => {
          const f = frame.slice();
          for (const [at, val] of muts) f[at % f.length] = val;
          const cutAt = muts.length === 0 ? f.length : cut % (f.length + 1);
          if (decodeBoth(f.subarray(0, cutAt), 101, new Uint8Array(3), after, d, d2)) decoded++;
        },
      ),
      { numRuns: 600 },
    );
    expect(decoded).toBeGreaterThan(0);
  });

  it('mutated and truncated NFLOG records (either attribute byte order): never throws, bounded, independent of bytes outside the capture', () => {
    const tlv = nflogAttr;
    const d = new Decoder(), d2 = new Decoder();
    let decoded = 0;
    fc.assert(
      fc.property(
        carrier, fc.boolean(), fc.uint8Array({ maxLength: 12 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 3 }), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 64 }),
        (ip, le, prefix, muts, cut, after) => {
          const f = Uint8Array.from([ip[0]! >> 4 === 4 ? 2 : 10, 0, 0, 5, ...tlv(10, prefix, le), ...tlv(9, ip, le), ...tlv(11, [0, 0, 0, 1], le)]);
          for (const [at, val] of muts) f[at % f.length] = val;
          const cutAt = muts.length === 0 ? f.length : cut % (f.length + 1);
          if (decodeBoth(f.subarray(0, cutAt), 239, new Uint8Array(3), after, d, d2)) decoded++;
        },
      ),
      { numRuns: 600 },
    );
    expect(decoded).toBeGreaterThan(0);
  });
});
