/**
 * Frame peeks against the full decoder (the oracle): isDnsServerFrame is true exactly when the decoded packet is
 * plain UDP/TCP (no tunnel, not a later fragment) from a DNS port — for random addresses, ports, VLAN tags and link
 * types — and never throws on hostile bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildFrame, buildIpPacket } from '../../src/trace/frame-builder.js';
import { Decoder, newPacketView } from '../../src/trace/decode.js';
import { isDnsServerFrame } from '../../src/trace/peek.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW, type RawPacket } from '../../src/trace/types.js';

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((w) => w.map((x) => x.toString(16)).join(':'));
const pair = fc.oneof(fc.tuple(v4, v4), fc.tuple(v6, v6));
const port = fc.oneof(fc.constantFrom(53, 5353, 5355, 54, 4789, 2152), fc.nat(65535));

function raw(b: Uint8Array, linkType: number): RawPacket {
  return { data: b, offset: 0, capLen: b.length, wireLen: b.length, tsUs: 0, linkType };
}

describe('isDnsServerFrame', () => {
  it('agrees with the decoder on plain UDP/TCP frames', () => {
    const dec = new Decoder();
    const v = newPacketView();
    fc.assert(
      fc.property(pair, fc.constantFrom(6, 17, 47, 50), port, port, fc.option(fc.integer({ min: 1, max: 4094 }), { nil: undefined }), fc.boolean(), ([a, b], proto, sp, dp, vlan, rawLink) => {
        const f = buildFrame({ src: a, dst: b, proto, srcPort: sp, dstPort: dp, payload: new Uint8Array(20), link: rawLink ? 'raw' : 'eth', ...(vlan === undefined || rawLink ? {} : { vlan }) });
        const lt = rawLink ? LINKTYPE_RAW : LINKTYPE_ETHERNET;
        const want = dec.decode(raw(f, lt), v) && v.encap === 0 && (v.proto === 6 || v.proto === 17) && [53, 5353, 5355].includes(v.srcPort);
        expect(isDnsServerFrame(f, 0, f.length, lt)).toBe(want);
      }),
      { numRuns: 600 },
    );
  });

  it('looks at the outermost header only: a DNS answer inside a tunnel is not peeked at', () => {
    const inner = buildIpPacket({ src: '10.0.0.53', dst: '10.0.0.5', proto: 17, srcPort: 53, dstPort: 40000, payload: new Uint8Array(30) });
    const gre = buildFrame({ src: '192.0.2.1', dst: '192.0.2.2', proto: 4, payload: inner });
    expect(isDnsServerFrame(gre, 0, gre.length, LINKTYPE_ETHERNET)).toBe(false);
  });

  it('never throws and never reads past the captured bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 90 }), fc.constantFrom(0, 1, 101, 113, 228, 229, 239, 276), fc.nat(100), (b, lt, cut) => {
        const n = Math.min(cut, b.length);
        const got = isDnsServerFrame(b, 0, n, lt);
        expect(got).toBe(isDnsServerFrame(b.slice(0, n), 0, n, lt));
      }),
      { numRuns: 800 },
    );
  });
});
