import { describe, expect, it } from 'vitest';
import { Decoder, newPacketView } from '../../src/trace/decode.js';
import { ENCAP_NAMES, type PacketView } from '../../src/trace/types.js';
import {
  be16, capwap, cat, eth, extHeader, fragHeader, gre, gtpu, ipv4, ipv6, raw, tcp, udp, vxlan, wlanData,
} from './decode-helpers.js';
import { geneve, nflogAttr, pflogHeader, vxlanGpe } from './decode-helpers.js';

const A4 = '192.0.2.1', B4 = '198.51.100.7';
const A6 = '2001:db8::1', B6 = '2001:db8:ffff::2';
const PAYLOAD = [1, 2, 3, 4, 5, 6, 7, 8, 9];

interface Result {
  ok: boolean;
  v: PacketView;
  d: Decoder;
}

function decode(frame: Uint8Array, linkType = 1, opts: ConstructorParameters<typeof Decoder>[0] = {}): Result {
  const d = new Decoder(opts);
  const v = newPacketView();
  const ok = d.decode(raw(frame, linkType), v);
  return { ok, v, d };
}

function ok(frame: Uint8Array, linkType = 1, opts: ConstructorParameters<typeof Decoder>[0] = {}): PacketView {
  const r = decode(frame, linkType, opts);
  expect(r.d.stats.malformed).toEqual({});
  expect(r.ok).toBe(true);
  return r.v;
}

function bad(frame: Uint8Array, reason: string, linkType = 1): void {
  const r = decode(frame, linkType);
  expect(r.ok).toBe(false);
  expect(r.d.stats.malformed).toEqual({ [reason]: 1 });
  expect(r.d.stats.decoded).toBe(0);
}

const hex = (v: PacketView, off: number, len: number): string => Buffer.from(v.data.subarray(off, off + len)).toString('hex');
const payload = (v: PacketView): number[] => Array.from(v.data.subarray(v.payloadOff, v.payloadOff + v.payloadLen));
const encap = (v: PacketView): string | null => ENCAP_NAMES[v.encap] ?? null;

const udp4 = ipv4(A4, B4, 17, udp(1234, 53, PAYLOAD));
const udp6 = ipv6(A6, B6, 17, udp(1234, 53, PAYLOAD));

function expectUdp4(v: PacketView): void {
  expect(v.ipVersion).toBe(4);
  expect(v.src4).toBe(0xc0000201);
  expect(v.dst4).toBe(0xc6336407);
  expect(hex(v, v.srcOff, 4)).toBe('c0000201');
  expect(v.proto).toBe(17);
  expect([v.srcPort, v.dstPort]).toEqual([1234, 53]);
  expect(payload(v)).toEqual(PAYLOAD);
  expect(v.payloadWireLen).toBe(PAYLOAD.length);
}

function expectUdp6(v: PacketView): void {
  expect(v.ipVersion).toBe(6);
  expect(v.src4).toBe(0);
  expect(hex(v, v.srcOff, 16)).toBe('20010db8000000000000000000000001');
  expect(hex(v, v.dstOff, 16)).toBe('20010db8ffff00000000000000000002');
  expect([v.proto, v.srcPort, v.dstPort]).toEqual([17, 1234, 53]);
  expect(payload(v)).toEqual(PAYLOAD);
}

describe('link layers', () => {
  it('Ethernet II, IPv4 and IPv6', () => {
    const v = ok(eth(0x0800, udp4));
    expectUdp4(v);
    expect(v.l3Off).toBe(14);
    expect(v.vlan).toBe(-1);
    expect(v.encap).toBe(0);
    expectUdp6(ok(eth(0x86dd, udp6)));
  });

  it('802.1Q, 802.1ad QinQ and the old 0x9100 tag: innermost VLAN id by default (as nDPI), outermost on request', () => {
    expect(ok(eth(0x0800, udp4, [{ tpid: 0x8100, id: 0x2000 | 42 }])).vlan).toBe(42);
    const qinq = eth(0x86dd, udp6, [{ tpid: 0x88a8, id: 100 }, { tpid: 0x8100, id: 200 }]);
    expect(ok(qinq).vlan).toBe(200);
    expect(ok(qinq, 1, { vlan: 'outer' }).vlan).toBe(100);
    expectUdp6(ok(qinq));
    const old = eth(0x0800, udp4, [{ tpid: 0x9100, id: 7 }, { tpid: 0x8100, id: 8 }]);
    expect(ok(old).vlan).toBe(8);
    expect(ok(old, 1, { vlan: 'outer' }).vlan).toBe(7);
  });

  it('PPPoE session and MPLS label stacks', () => {
    expectUdp4(ok(eth(0x8864, cat([0x11, 0, 0, 1], be16(udp4.length + 2), be16(0x0021), udp4))));
    expectUdp6(ok(eth(0x8847, cat([0, 0, 0x10, 64], [0, 0, 0x21, 64], udp6))));
    bad(eth(0x8864, cat([0x11, 0, 0, 1], be16(10), be16(0xc021), [0, 0, 0, 0])), 'non-ip');
  });

  it('raw IP under DLT 12, 14, 101, 228, 229', () => {
    for (const lt of [12, 14, 101, 228]) expectUdp4(ok(udp4, lt));
    for (const lt of [12, 14, 101, 229]) expectUdp6(ok(udp6, lt));
  });

  it('Linux cooked capture v1 (113) and v2 (276)', () => {
    const sll = (proto: number): number[] => [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, ...be16(proto)];
    expectUdp4(ok(cat(sll(0x0800), udp4), 113));
    expectUdp6(ok(cat(sll(0x86dd), udp6), 113));
    expect(ok(cat(sll(0x8100), be16(9), be16(0x0800), udp4), 113).vlan).toBe(9);
    const sll2 = (proto: number): number[] => [...be16(proto), 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
    expectUdp4(ok(cat(sll2(0x0800), udp4), 276));
    expectUdp6(ok(cat(sll2(0x86dd), udp6), 276));
    bad(cat(sll(0x0806), new Uint8Array(28)), 'non-ip', 113);
  });

  it('Linux NFLOG (239): the IP packet is the NFULA_PAYLOAD attribute, attributes in the writer\'s byte order', () => {
    // nfgenmsg (family, version 0, resource id big-endian), then type-length-value attributes padded to 4 bytes.
    const tlv = nflogAttr;
    const nflog = (family: number, ip: Uint8Array, le: boolean): Uint8Array =>
      cat([family, 0, 0, 5], tlv(1, [0x08, 0x00, 3, 0], le), tlv(10, [...Buffer.from('fw-drop'), 0], le), tlv(2, [0, 0, 0, 1], le), tlv(9, ip, le), tlv(11, [0, 0, 3, 232], le));
    for (const le of [true, false]) {
      expectUdp4(ok(nflog(2, udp4, le), 239));
      expectUdp6(ok(nflog(10, udp6, le), 239));
    }
    // No payload attribute (a log line without the packet), an attribute running past the end, another family.
    bad(cat([2, 0, 0, 5], tlv(10, [0x41, 0], true)), 'non-ip', 239);
    bad(cat([2, 0, 0, 5], [200, 0, 9, 0], udp4.subarray(0, 20)), 'truncated-link', 239);
    bad(cat([2, 0, 0, 5], [3, 0, 9, 0]), 'truncated-link', 239);
    bad(nflog(7, udp4, true), 'non-ip', 239);
    bad(new Uint8Array([2, 0, 0]), 'truncated-link', 239);
    // A packet attribute cut by the rule's copy range, followed by another attribute: the packet ends with its
    // attribute (the uid's bytes are not payload), its length on the wire stays the IP header's.
    const cut = ok(cat([2, 0, 0, 5], tlv(9, udp4.subarray(0, 30), true), tlv(11, [9, 9, 9, 9], true)), 239);
    expect([cut.payloadLen, cut.payloadWireLen]).toEqual([2, udp4.length - 28]);
    // Its length is the packet's (IP total length) behind the record's header part, not the log message's.
    expect(cut.wireLen).toBe(8 + udp4.length);
    const whole = nflog(10, udp6, false);
    const wv = ok(whole, 239);
    expect(wv.wireLen).toBe(wv.l3Off + udp6.length); // the padding and the trailing uid attribute are not the packet's
    expect(wv.wireLen).toBeLessThan(whole.length);
  });

  it('BSD pflog (117): the header length rounded up to 4 bytes, the family as the BSDs number it', () => {
    // struct pfloghdr: length, af, action, reason, ifname[16], ruleset[16], rule numbers, uid/pid…, dir, pad.
    const pflog = pflogHeader;
    expectUdp4(ok(cat(pflog(2), udp4), 117));
    for (const af of [24, 28, 30]) expectUdp6(ok(cat(pflog(af), udp6), 117));
    expectUdp4(ok(cat(pflog(2, 45), udp4), 117)); // the oldest header (no uid/pid fields), 48 bytes
    bad(cat(pflog(7), udp4), 'non-ip', 117);
    bad(cat(pflog(2, 20), udp4), 'truncated-link', 117); // shorter than any pflog header
    bad(Uint8Array.from(pflog(2).slice(0, 40)), 'truncated-link', 117);
  });

  it('BSD null (0) and loop (108) with the family in either byte order', () => {
    for (const lt of [0, 108]) {
      expectUdp4(ok(cat([2, 0, 0, 0], udp4), lt));
      expectUdp4(ok(cat([0, 0, 0, 2], udp4), lt));
      for (const af of [24, 28, 30]) {
        expectUdp6(ok(cat([af, 0, 0, 0], udp6), lt));
        expectUdp6(ok(cat([0, 0, 0, af], udp6), lt));
      }
      bad(cat([7, 0, 0, 0], udp4), 'non-ip', lt);
    }
  });

  it('PPP (9) with and without address/control', () => {
    expectUdp4(ok(cat([0xff, 0x03, 0x00, 0x21], udp4), 9));
    expectUdp6(ok(cat([0x00, 0x57], udp6), 9));
  });

  it('PPP serial (50), Cisco HDLC (104), 802.11 (105) and radiotap (127)', () => {
    expectUdp4(ok(cat([0xff, 0x03, 0x00, 0x21], udp4), 50));
    expectUdp6(ok(cat([0x0f, 0x00], be16(0x86dd), udp6), 104));
    expectUdp4(ok(wlanData(0x0800, udp4), 105));
    const radiotap = [0, 0, ...[12, 0], 0, 0, 0, 0, 0, 0, 0, 0];
    expectUdp6(ok(cat(radiotap, wlanData(0x86dd, udp6, { qos: true })), 127));
    bad(cat(radiotap, [0x80, 0, 0, 0], new Uint8Array(40)), 'non-ip', 127); // beacon
    bad(cat([0, 0, 200, 0, 0, 0, 0, 0], udp4), 'truncated-link', 127);
  });

  it('802.3 length field with LLC/SNAP', () => {
    expectUdp4(ok(eth(udp4.length + 8, cat([0xaa, 0xaa, 0x03, 0, 0, 0], be16(0x0800), udp4))));
    bad(eth(40, cat([0x42, 0x42, 0x03], new Uint8Array(37))), 'non-ip'); // spanning tree
  });

  it('counts unknown link types, truncated link headers and non-IP frames', () => {
    bad(udp4, 'unknown-linktype', 147);
    bad(eth(0x0800, []).subarray(0, 10), 'truncated-link');
    bad(eth(0x0806, new Uint8Array(28)), 'non-ip');
    bad(eth(0x8100, [0, 5]), 'truncated-link');
  });
});

describe('IPv4', () => {
  it('skips options by IHL', () => {
    const v = ok(eth(0x0800, ipv4(A4, B4, 17, udp(1234, 53, PAYLOAD), { ihlWords: 7 })));
    expectUdp4(v);
    expect(v.payloadOff).toBe(14 + 28 + 8);
  });

  it('rejects a bad IHL, a total length below the header and a truncated header', () => {
    bad(eth(0x0800, ipv4(A4, B4, 17, udp(1, 2), { ihlWords: 4 })), 'ipv4-bad-ihl');
    bad(eth(0x0800, ipv4(A4, B4, 17, udp(1, 2), { totalLen: 19 })), 'ipv4-bad-total-length');
    bad(eth(0x0800, udp4.subarray(0, 19)), 'ipv4-truncated');
    bad(eth(0x0800, ipv4(A4, B4, 17, [], { ihlWords: 15 }).subarray(0, 40)), 'ipv4-truncated');
    bad(eth(0x0800, [0x50, ...udp4.subarray(1)]), 'ip-bad-version');
  });

  it('bounds the packet by the total length (Ethernet padding, FCS) and reports snaplen cuts', () => {
    const padded = ok(eth(0x0800, cat(udp4, [0xee, 0xee, 0xee, 0xee])));
    expect(payload(padded)).toEqual(PAYLOAD);
    const cut = ok(eth(0x0800, udp4.subarray(0, udp4.length - 4)));
    expect(cut.payloadLen).toBe(PAYLOAD.length - 4);
    expect(cut.payloadWireLen).toBe(PAYLOAD.length);
    // total length 0 (segmentation offload): as captured
    const tso = ipv4(A4, B4, 17, udp(1234, 53, PAYLOAD), { totalLen: 0 });
    expect(payload(ok(eth(0x0800, tso)))).toEqual(PAYLOAD);
  });

  it('first fragment keeps ports; later fragments carry the id and no ports', () => {
    const first = ok(eth(0x0800, ipv4(A4, B4, 17, udp(1234, 53, PAYLOAD), { id: 777, mf: true })));
    expect([first.isFragment, first.moreFragments, first.fragOffset, first.fragId]).toEqual([true, true, 0, 777]);
    expect([first.srcPort, first.dstPort]).toEqual([1234, 53]);
    const later = ok(eth(0x0800, ipv4(A4, B4, 17, PAYLOAD, { id: 777, fragOffset: 1480, mf: false })));
    expect([later.isFragment, later.moreFragments, later.fragOffset, later.fragId]).toEqual([true, false, 1480, 777]);
    expect([later.proto, later.srcPort, later.dstPort]).toEqual([17, 0, 0]);
    expect(payload(later)).toEqual(PAYLOAD);
    const whole = ok(eth(0x0800, udp4));
    expect([whole.isFragment, whole.fragOffset, whole.moreFragments]).toEqual([false, 0, false]);
  });

  it('a later fragment of a TCP packet is not parsed as TCP', () => {
    const v = ok(ipv4(A4, B4, 6, [1, 2, 3], { fragOffset: 8 }), 101);
    expect([v.proto, v.srcPort, v.tcpFlags, v.payloadLen]).toEqual([6, 0, 0, 3]);
  });
});

describe('IPv6 extension headers', () => {
  it('walks hop-by-hop, routing and destination options to the transport', () => {
    const v = ok(eth(0x86dd, ipv6(A6, B6, 17, udp(1234, 53, PAYLOAD), [extHeader(0), extHeader(43, 1), extHeader(60, 2)])));
    expectUdp6(v);
    expect(v.payloadOff).toBe(14 + 40 + 8 + 16 + 24 + 8);
    expect(v.payloadWireLen).toBe(PAYLOAD.length);
  });

  it('fragment header: first fragment gives ports, later ones the 32-bit id', () => {
    const first = ok(ipv6(A6, B6, 6, tcp(40000, 443, PAYLOAD), [fragHeader(0, true, 0xabcdef01)]), 101);
    expect([first.isFragment, first.moreFragments, first.fragOffset, first.fragId]).toEqual([true, true, 0, 0xabcdef01]);
    expect([first.proto, first.srcPort, first.dstPort, first.tcpFlags]).toEqual([6, 40000, 443, 0x18]);
    const later = ok(ipv6(A6, B6, 6, PAYLOAD, [extHeader(0), fragHeader(1448, false, 0xabcdef01)]), 101);
    expect([later.isFragment, later.fragOffset, later.fragId, later.proto, later.srcPort]).toEqual([true, 1448, 0xabcdef01, 6, 0]);
    expect(payload(later)).toEqual(PAYLOAD);
    const atomic = ok(ipv6(A6, B6, 17, udp(1, 2), [fragHeader(0, false, 5)]), 101);
    expect([atomic.isFragment, atomic.srcPort, atomic.dstPort]).toEqual([false, 1, 2]);
  });

  it('AH is the transport (payload at the AH header); no-next-header is portless', () => {
    const ah = cat([6, 4, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], new Uint8Array(12), tcp(1, 2));
    const v = ok(ipv6(A6, B6, 51, ah), 101);
    expect([v.proto, v.srcPort, v.dstPort, v.spi]).toEqual([51, 0, 0, 0]);
    expect(v.payloadOff).toBe(40);
    expect(payload(v)).toEqual(Array.from(ah));
    const v4 = ok(ipv4(A4, B4, 51, ah), 101);
    expect([v4.proto, v4.payloadOff]).toEqual([51, 20]);
    const none = ok(ipv6(A6, B6, 59, []), 101);
    expect([none.proto, none.payloadLen]).toEqual([59, 0]);
  });

  it('rejects an extension header longer than the payload, and truncated headers', () => {
    bad(ipv6(A6, B6, 17, [], [extHeader(0, 3)]).subarray(0, 48), 'ipv6-truncated', 101);
    const lying = ipv6(A6, B6, 17, udp(1, 2), [extHeader(60, 0)]);
    lying[40 + 1] = 5; // 48 bytes claimed, 16 present
    bad(lying, 'ipv6-bad-ext-header', 101);
    bad(udp6.subarray(0, 39), 'ipv6-truncated', 101);
  });
});

describe('transports', () => {
  it('TCP: ports, flags, data offset with options', () => {
    const v = ok(ipv4(A4, B4, 6, tcp(40000, 443, PAYLOAD, { flags: 0x12, doffWords: 8 })), 101);
    expect([v.srcPort, v.dstPort, v.tcpFlags]).toEqual([40000, 443, 0x12]);
    expect(v.payloadOff).toBe(20 + 32);
    expect(payload(v)).toEqual(PAYLOAD);
  });

  it('TCP: rejects a data offset below 5 words or beyond the packet; truncated header', () => {
    bad(ipv4(A4, B4, 6, tcp(1, 2, [], { doffWords: 4 })), 'tcp-bad-data-offset', 101);
    bad(ipv4(A4, B4, 6, tcp(1, 2, [], { doffWords: 15 }).subarray(0, 20)), 'tcp-bad-data-offset', 101);
    // Captured up to byte 13 of the header (no flags), or a header shorter than 20 bytes on the wire.
    bad(ipv4(A4, B4, 6, tcp(1, 2)).subarray(0, 33), 'truncated-l4', 101);
    bad(ipv4(A4, B4, 6, tcp(1, 2).subarray(0, 15)), 'truncated-l4', 101);
  });

  it('TCP and UDP headers the snap length cut after what the decoder reads: the flow is named, the payload empty', () => {
    // IPv6 + TCP in a 68-byte capture: 14 bytes of TCP header (ports, data offset, flags).
    for (const keep of [14, 15, 19]) {
      const v = ok(ipv4(A4, B4, 6, tcp(40000, 443, PAYLOAD, { flags: 0x18 })).subarray(0, 20 + keep), 101);
      expect([v.srcPort, v.dstPort, v.tcpFlags, v.payloadLen, v.payloadWireLen]).toEqual([40000, 443, 0x18, 0, PAYLOAD.length]);
    }
    const udp = cat(be16(5000), be16(53), be16(8 + PAYLOAD.length), [0, 0], PAYLOAD);
    for (const keep of [4, 6, 7]) {
      const v = ok(ipv4(A4, B4, 17, udp).subarray(0, 20 + keep), 101);
      expect([v.srcPort, v.dstPort, v.payloadLen, v.payloadWireLen, v.payloadOff]).toEqual([5000, 53, 0, PAYLOAD.length, 20 + keep]);
    }
    bad(ipv4(A4, B4, 17, udp).subarray(0, 23), 'truncated-l4', 101);
  });

  it('TCP: options cut by the snap length leave ports and an empty payload', () => {
    const full = ipv4(A4, B4, 6, tcp(1, 2, PAYLOAD, { doffWords: 10 }));
    const v = ok(full.subarray(0, 20 + 24), 101);
    expect([v.srcPort, v.dstPort, v.payloadLen, v.payloadWireLen]).toEqual([1, 2, 0, PAYLOAD.length]);
  });

  it('UDP truncated header is counted', () => {
    bad(ipv4(A4, B4, 17, [0, 1, 0, 2]), 'truncated-l4', 101);
  });

  it('SCTP ports from the common header', () => {
    const sctp = cat(be16(2905), be16(2906), [0, 0, 0, 1], [0, 0, 0, 0], PAYLOAD);
    const v = ok(ipv4(A4, B4, 132, sctp), 101);
    expect([v.proto, v.srcPort, v.dstPort]).toEqual([132, 2905, 2906]);
    expect(payload(v)).toEqual(PAYLOAD);
  });

  it('ESP: SPI from the first 4 bytes, payload at the ESP header', () => {
    const esp = cat([0x12, 0x34, 0x56, 0x78], [0, 0, 0, 1], PAYLOAD);
    const v = ok(ipv4(A4, B4, 50, esp), 101);
    expect([v.proto, v.spi, v.srcPort, v.payloadOff, v.payloadLen]).toEqual([50, 0x12345678, 0, 20, esp.length]);
    bad(ipv4(A4, B4, 50, [1, 2]), 'truncated-l4', 101);
  });

  it('ICMP, ICMPv6 and other protocols: portless, payload = IP payload', () => {
    const icmp = [8, 0, 0, 0, 0, 1, 0, 1];
    const v = ok(ipv4(A4, B4, 1, icmp), 101);
    expect([v.proto, v.srcPort, v.dstPort, v.payloadLen]).toEqual([1, 0, 0, 8]);
    expect(ok(ipv6(A6, B6, 58, [128, 0, 0, 0]), 101).proto).toBe(58);
    expect(ok(ipv4(A4, B4, 89, PAYLOAD), 101).payloadLen).toBe(PAYLOAD.length);
  });
});

describe('tunnels', () => {
  const inner4 = ipv4('10.1.1.1', '10.2.2.2', 6, tcp(5555, 80, PAYLOAD));
  const inner6 = ipv6('fd00::1', 'fd00::2', 17, udp(5353, 5353, PAYLOAD));
  function expectInner4(v: PacketView, name: string): void {
    expect(encap(v)).toBe(name);
    expect([v.ipVersion, v.src4, v.dst4, v.proto, v.srcPort, v.dstPort]).toEqual([4, 0x0a010101, 0x0a020202, 6, 5555, 80]);
    expect(payload(v)).toEqual(PAYLOAD);
  }
  function expectInner6(v: PacketView, name: string): void {
    expect(encap(v)).toBe(name);
    expect([v.ipVersion, v.proto, v.srcPort, v.dstPort]).toEqual([6, 17, 5353, 5353]);
    expect(hex(v, v.srcOff, 16)).toBe('fd000000000000000000000000000001');
    expect(payload(v)).toEqual(PAYLOAD);
  }

  it('IP-in-IP: 4in4, 6in4, 4in6, 6in6', () => {
    expectInner4(ok(eth(0x0800, ipv4(A4, B4, 4, inner4))), 'ipip');
    expectInner6(ok(eth(0x0800, ipv4(A4, B4, 41, inner6))), 'ipip');
    expectInner4(ok(eth(0x86dd, ipv6(A6, B6, 4, inner4))), 'ipip');
    expectInner6(ok(eth(0x86dd, ipv6(A6, B6, 41, inner6, [extHeader(60)]))), 'ipip');
  });

  it('GRE v0 with IPv4, IPv6 (with key, sequence, checksum) and transparent Ethernet bridging', () => {
    expectInner4(ok(ipv4(A4, B4, 47, gre(0x0800, inner4)), 101), 'gre');
    expectInner6(ok(ipv4(A4, B4, 47, gre(0x86dd, inner6, { key: 9, seq: 1, csum: true })), 101), 'gre');
    const teb = ok(ipv4(A4, B4, 47, gre(0x6558, eth(0x0800, inner4, [{ tpid: 0x8100, id: 33 }]))), 101);
    expectInner4(teb, 'gre');
    expect(teb.vlan).toBe(33);
    const tagged = eth(0x0800, ipv4(A4, B4, 47, gre(0x6558, eth(0x0800, inner4, [{ tpid: 0x8100, id: 33 }]))), [{ tpid: 0x8100, id: 5 }]);
    expect(ok(tagged).vlan).toBe(33);
    expect(ok(tagged, 1, { vlan: 'outer' }).vlan).toBe(5);
    const innerUntagged = eth(0x0800, ipv4(A4, B4, 47, gre(0x6558, eth(0x0800, inner4))), [{ tpid: 0x8100, id: 5 }]);
    expect(ok(innerUntagged).vlan).toBe(5);
  });

  it('GRE v0 with ERSPAN II/III (Ethernet mirror) and MPLS', () => {
    expectInner4(ok(ipv4(A4, B4, 47, gre(0x88be, cat(new Uint8Array(8), eth(0x0800, inner4)), { seq: 1 })), 101), 'gre');
    expectInner4(ok(ipv4(A4, B4, 47, gre(0x22eb, cat(new Uint8Array(12), eth(0x0800, inner4)))), 101), 'gre');
    const withSub = cat(new Uint8Array(11), [1], new Uint8Array(8), eth(0x0800, inner4));
    expectInner4(ok(ipv4(A4, B4, 47, gre(0x22eb, withSub)), 101), 'gre');
    expectInner6(ok(ipv4(A4, B4, 47, gre(0x8847, cat([0, 1, 0x01, 64], inner6))), 101), 'gre');
  });

  it('GRE v1 (PPTP) is the flow itself; unknown GRE payloads are not opened', () => {
    const pptp = cat([0x30, 0x81], be16(0x880b), be16(4), be16(7), [0, 0, 0, 1], [0, 0, 0, 0], [0xff, 0x03, 0, 0x21]);
    const v = ok(ipv4(A4, B4, 47, pptp), 101);
    expect([v.proto, v.encap, v.payloadOff, v.payloadLen]).toEqual([47, 0, 20, pptp.length]);
    const d = decode(ipv4(A4, B4, 47, gre(0x8137, PAYLOAD)), 101);
    expect([d.ok, d.v.proto, d.v.encap]).toEqual([true, 47, 0]);
    expect(d.d.stats.fallback).toEqual({});
  });

  it('decodeInner exposes IP carried in unencrypted PPTP PPP frames, and nothing else', () => {
    const ppp = (proto: number[], body: Uint8Array, acf = true): Uint8Array => cat(acf ? [0xff, 0x03] : [], proto, body);
    const pptp = (payload: Uint8Array, seq = true, ack = false): Uint8Array =>
      cat([seq ? 0x30 : 0x20, ack ? 0x81 : 0x01], be16(0x880b), be16(payload.length), be16(7), seq ? [0, 0, 0, 1] : [], ack ? [0, 0, 0, 0] : [], payload);
    const d = new Decoder();
    const outer = newPacketView(), inner = newPacketView();
    const cases: [Uint8Array, boolean, 4 | 6][] = [
      [pptp(ppp([0x00, 0x21], inner4)), true, 4],
      [pptp(ppp([0x21], inner4, false), false, true), true, 4],
      [pptp(ppp([0x00, 0x57], inner6, false)), true, 6],
      [pptp(ppp([0x00, 0xfd], inner4)), false, 4], // MPPE: encrypted
      [pptp(new Uint8Array(0), false, true), false, 4], // acknowledgement only
      [pptp(ppp([0x00, 0x21], inner6)), false, 4], // protocol says IPv4, packet is IPv6
    ];
    for (const [g, expected, version] of cases) {
      expect(d.decode(raw(eth(0x0800, ipv4(A4, B4, 47, g), [{ tpid: 0x8100, id: 12 }]), 1), outer)).toBe(true);
      expect([outer.proto, outer.encap]).toEqual([47, 0]);
      expect(d.decodeInner(outer, inner)).toBe(expected);
      if (expected) {
        if (version === 4) expectInner4(inner, 'pptp');
        else expectInner6(inner, 'pptp');
        expect(inner.vlan).toBe(12);
        expect([outer.proto, outer.src4]).toEqual([47, 0xc0000201]); // outer untouched
      }
    }
    expect(d.decodeInner(ok(ipv4(A4, B4, 47, gre(0x0800, inner4)), 101), inner)).toBe(false);
    expect(d.stats.malformed).toEqual({});
  });

  it('GTP-U G-PDU on UDP 2152: plain, with sequence, with an extension-header chain', () => {
    expectInner4(ok(ipv4(A4, B4, 17, udp(2152, 2152, gtpu(inner4))), 101), 'gtp');
    expectInner6(ok(ipv4(A4, B4, 17, udp(40000, 2152, gtpu(inner6, { seq: 5 }))), 101), 'gtp');
    expectInner4(ok(ipv6(A6, B6, 17, udp(2152, 40000, gtpu(inner4, { ext: [[1, 2], [3, 4, 5, 6, 7, 8]] }))), 101), 'gtp');
  });

  it('GTP-U messages other than G-PDU are plain UDP; a broken extension chain falls back to the carrier', () => {
    const echo = decode(ipv4(A4, B4, 17, udp(2152, 2152, gtpu(new Uint8Array(0), { type: 1 }))), 101);
    expect([echo.ok, echo.v.encap, echo.v.dstPort]).toEqual([true, 0, 2152]);
    expect(echo.d.stats.fallback).toEqual({});
    const broken = gtpu(inner4, { ext: [[1, 2]] });
    broken[12] = 0; // extension length 0 is impossible
    const r = decode(ipv4(A4, B4, 17, udp(2152, 2152, broken)), 101);
    expect([r.ok, r.v.encap, r.v.proto, r.v.dstPort, r.v.src4]).toEqual([true, 0, 17, 2152, 0xc0000201]);
    expect(r.d.stats.fallback).toEqual({ 'gtp-inner': 1 });
  });

  it('VXLAN on UDP 4789 (I flag required)', () => {
    const v = ok(eth(0x0800, ipv4(A4, B4, 17, udp(51000, 4789, vxlan(eth(0x86dd, inner6, [{ tpid: 0x8100, id: 5 }]))))));
    expectInner6(v, 'vxlan');
    expect(v.vlan).toBe(5);
    const noI = ok(ipv4(A4, B4, 17, udp(51000, 4789, vxlan(eth(0x86dd, inner6), 0))), 101);
    expect([noI.encap, noI.dstPort]).toEqual([0, 4789]);
    expectInner6(ok(ipv4(A4, B4, 17, udp(51000, 8472, vxlan(eth(0x86dd, inner6)))), 101), 'vxlan');
    const loose = ok(ipv4(A4, B4, 17, udp(51000, 8472, vxlan(eth(0x86dd, inner6), 0x0c))), 101);
    expect([loose.encap, loose.dstPort]).toEqual([0, 8472]);
  });

  it('CAPWAP data on UDP 5247: 802.3, native 802.11 (either frame-control order, QoS, 4-address), DTLS left alone', () => {
    expectInner4(ok(ipv4(A4, B4, 17, udp(12345, 5247, capwap(eth(0x0800, inner4), { native: false }))), 101), 'capwap');
    expectInner4(ok(ipv4(A4, B4, 17, udp(12345, 5247, capwap(wlanData(0x0800, inner4), { native: true, hlenWords: 4 }))), 101), 'capwap');
    expectInner6(ok(ipv4(A4, B4, 17, udp(5247, 12345, capwap(wlanData(0x86dd, inner6, { swapFc: true }), { native: true }))), 101), 'capwap');
    expectInner6(ok(ipv4(A4, B4, 17, udp(5247, 12345, capwap(wlanData(0x86dd, inner6, { qos: true, fourAddr: true }), { native: true }))), 101), 'capwap');
    const dtls = decode(ipv4(A4, B4, 17, udp(12345, 5247, capwap(eth(0x0800, inner4), { preamble: 0x01 }))), 101);
    expect([dtls.ok, dtls.v.encap]).toEqual([true, 0]);
    expect(dtls.d.stats.fallback).toEqual({});
    const mgmt = cat([0x40, 0x00, 0, 0], new Uint8Array(20));
    const probe = decode(ipv4(A4, B4, 17, udp(12345, 5247, capwap(mgmt, { native: true }))), 101);
    expect([probe.ok, probe.v.encap, probe.d.stats.fallback]).toEqual([true, 0, {}]);
  });

  it('Geneve on UDP 6081: Ethernet or IP by protocol type, options skipped; control packets and bad headers stay UDP', () => {
    // AWS Gateway Load Balancer style: IPv4 inner packet after three 8-byte options (attachment id, flow cookie…).
    const aws = [[1, 2, 3, 4, 5, 6, 7, 8], [9, 9, 9, 9, 9, 9, 9, 9], [0, 0, 0, 1, 0, 0, 0, 2]];
    expectInner4(ok(ipv4(A4, B4, 17, udp(40000, 6081, geneve(inner4, 0x0800, { options: aws }))), 101), 'geneve');
    expectInner6(ok(ipv4(A4, B4, 17, udp(6081, 40000, geneve(inner6, 0x86dd))), 101), 'geneve');
    const e = ok(ipv6(A6, B6, 17, udp(40000, 6081, geneve(eth(0x0800, inner4, [{ tpid: 0x8100, id: 12 }]), 0x6558, { options: [[7, 7, 7, 7]], flags: 0x40 }))), 101);
    expectInner4(e, 'geneve');
    expect(e.vlan).toBe(12);
    // Left as the UDP flow it is (no fallback counted): a control packet (O), version 1, reserved flag bits, an
    // unknown protocol type, options that do not fill the option length, options past the captured bytes.
    for (const g of [
      geneve(inner4, 0x0800, { flags: 0x80 }),
      geneve(inner4, 0x0800, { version: 1 }),
      geneve(inner4, 0x0800, { flags: 0x01 }),
      geneve(inner4, 0x88cc),
      geneve(inner4, 0x0800, { options: [[1, 2, 3, 4]], optLenWords: 3 }),
      geneve(new Uint8Array(0), 0x0800, { options: [[1, 2, 3, 4]], optLenWords: 40 }),
    ]) {
      const r = decode(ipv4(A4, B4, 17, udp(40000, 6081, g)), 101);
      expect([r.ok, r.v.encap, r.v.dstPort, r.d.stats.fallback]).toEqual([true, 0, 6081, {}]);
    }
    // A valid header whose inner packet is not: the carrier flow, with the fallback counted.
    const broken = decode(ipv4(A4, B4, 17, udp(40000, 6081, geneve(Uint8Array.from([0x45, 0, 0]), 0x0800))), 101);
    expect([broken.ok, broken.v.encap, broken.v.dstPort]).toEqual([true, 0, 6081]);
    expect(broken.d.stats.fallback).toEqual({ 'geneve-inner': 1 });
  });

  it('VXLAN-GPE on UDP 4790: IPv4, IPv6 or Ethernet by next protocol; OAM, NSH and bad flags stay UDP', () => {
    const gpe = vxlanGpe;
    expectInner4(ok(ipv4(A4, B4, 17, udp(40000, 4790, gpe(inner4, 1))), 101), 'vxlan');
    expectInner6(ok(ipv4(A4, B4, 17, udp(40000, 4790, gpe(inner6, 2))), 101), 'vxlan');
    expectInner4(ok(ipv4(A4, B4, 17, udp(4790, 40000, gpe(eth(0x0800, inner4), 3))), 101), 'vxlan');
    for (const g of [gpe(inner4, 1, 0x0d), gpe(inner4, 4), gpe(inner4, 1, 0x08), gpe(inner4, 1, 0x2c), gpe(inner4, 1, 0x0c, 0x40)]) {
      const r = decode(ipv4(A4, B4, 17, udp(40000, 4790, g)), 101);
      expect([r.ok, r.v.encap, r.v.dstPort, r.d.stats.fallback]).toEqual([true, 0, 4790, {}]);
    }
  });

  it('Teredo (UDP 3544) is not opened', () => {
    const v = ok(ipv4(A4, B4, 17, udp(3544, 40000, inner6)), 101);
    expect([v.encap, v.ipVersion, v.srcPort]).toEqual([0, 4, 3544]);
  });

  it('nests tunnels (GTP inside VXLAN inside GRE) and records the innermost', () => {
    const gtpPkt = ipv4('172.16.0.1', '172.16.0.2', 17, udp(2152, 2152, gtpu(inner4)));
    const vx = ipv4('10.9.9.1', '10.9.9.2', 17, udp(1, 4789, vxlan(eth(0x0800, gtpPkt))));
    expectInner4(ok(ipv4(A4, B4, 47, gre(0x0800, vx)), 101), 'gtp');
  });

  it('caps the nesting depth and reports the deepest decoded level', () => {
    let p = inner4;
    for (let i = 0; i < 6; i++) p = ipv4(`10.0.0.${i + 10}`, B4, 4, p);
    const r = decode(p, 101);
    expect(r.ok).toBe(true);
    expect(r.d.stats.fallback).toEqual({ 'too-deep': 1 });
    expect(encap(r.v)).toBe('ipip');
    expect(r.v.proto).toBe(4);
    expect(r.v.l3Off).toBe(4 * 20);
    const off = decode(ipv4(A4, B4, 4, inner4), 101, { maxTunnelDepth: 0 });
    expect([off.v.proto, off.v.encap]).toEqual([4, 0]);
  });

  it('falls back to the carrier when the inner packet is not decodable', () => {
    const r = decode(eth(0x0800, ipv4(A4, B4, 4, inner4.subarray(0, 30)), [{ tpid: 0x8100, id: 3 }]));
    expect(r.ok).toBe(true);
    expect([r.v.encap, r.v.proto, r.v.src4, r.v.vlan, r.v.l3Off]).toEqual([0, 4, 0xc0000201, 3, 18]);
    expect(r.d.stats.fallback).toEqual({ 'ipip-inner': 1 });
    const arp = decode(ipv4(A4, B4, 17, udp(1, 4789, vxlan(eth(0x0806, new Uint8Array(28), [{ tpid: 0x8100, id: 44 }])))), 101);
    expect([arp.ok, arp.v.encap, arp.v.vlan, arp.v.dstPort]).toEqual([true, 0, -1, 4789]);
    expect(arp.d.stats.fallback).toEqual({ 'vxlan-inner': 1 });
  });

  it('opens no fragment of a carrier, first or later: the flow table reassembles the datagram, then decodes it whole', () => {
    const big = ipv4('10.1.1.1', '10.2.2.2', 6, tcp(5555, 80, new Uint8Array(100).fill(7)));
    const gtpPkt = udp(2152, 2152, gtpu(big));
    const first = ok(ipv4(A4, B4, 17, gtpPkt.subarray(0, 64), { mf: true, id: 3, totalLen: 20 + 64 }), 101);
    expect([encap(first), first.srcPort, first.dstPort, first.isFragment]).toEqual([null, 2152, 2152, true]);
    // Where the fragment's data starts (the UDP header of the carrier) and how long it is on the wire.
    expect([first.fragDataOff, first.fragDataLen]).toEqual([20, 64]);
    const later = ok(ipv4(A4, B4, 4, inner4.subarray(8), { fragOffset: 8 }), 101);
    expect([later.encap, later.proto, later.isFragment, later.fragOffset]).toEqual([0, 4, true, 8]);
  });
});
