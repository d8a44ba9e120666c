/**
 * Generators of the committed trace fixtures (fixtures/trace/). Deterministic: the fixture test checks the
 * committed bytes equal a fresh generation (UPDATE_FIXTURES=1 rewrites them), so the files stay explainable.
 *
 *  - tunnels.pcap: Ethernet, one packet per decoder case: plain IPv4/IPv6, QinQ, IPv4 fragments, IPv6
 *    extension headers, IP-in-IP, GRE (IPv4, TEB), GTP-U, VXLAN, CAPWAP (802.3 and 802.11), PPTP GRE v1,
 *    Teredo, ESP, AH, SCTP, and one ARP frame (non-IP).
 *  - sections.pcapng: two sections (little- then big-endian), Ethernet + raw IP + Linux SLL2 interfaces with
 *    ns / ms / 2^-20 s timestamp units, EPB, SPB, obsolete PB, name-resolution, statistics and unknown blocks.
 */
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { PcapngWriter } from '../helpers/pcapng-writer.js';
import { be16, capwap, cat, eth, extHeader, fragHeader, gre, gtpu, ipv4, ipv6, tcp, udp, vxlan, wlanData } from './decode-helpers.js';

const T0 = 1_700_000_000_000_000;

export interface FixturePacket {
  name: string;
  frame: Uint8Array;
  /** What the decoder must report (null = not decodable). */
  expect: { encap: string | null; proto: number; srcPort: number; dstPort: number; vlan: number } | null;
}

export function tunnelPackets(): FixturePacket[] {
  const in4 = ipv4('10.1.1.1', '10.2.2.2', 6, tcp(5555, 443, [0x16, 3, 1, 0, 4, 1, 2, 3, 4]));
  const in6 = ipv6('fd00::1', 'fd00::2', 17, udp(5353, 53, [0, 1, 2, 3]));
  const A = '192.0.2.1', B = '198.51.100.2';
  const e4 = (p: Uint8Array, tags: { tpid: number; id: number }[] = []): Uint8Array => eth(0x0800, p, tags);
  const e6 = (p: Uint8Array): Uint8Array => eth(0x86dd, p);
  const x4 = { encap: null, proto: 6, srcPort: 5555, dstPort: 443, vlan: -1 };
  const x6 = { encap: null, proto: 17, srcPort: 5353, dstPort: 53, vlan: -1 };
  const pptp = cat([0x30, 0x81], be16(0x880b), be16(8), be16(7), [0, 0, 0, 1], [0, 0, 0, 0], [0xff, 0x03, 0x00, 0xfd], [1, 2, 3, 4]);
  return [
    { name: 'ipv4 tcp', frame: e4(in4), expect: x4 },
    { name: 'ipv6 udp', frame: e6(in6), expect: x6 },
    { name: 'qinq', frame: eth(0x0800, in4, [{ tpid: 0x88a8, id: 100 }, { tpid: 0x8100, id: 200 }]), expect: { ...x4, vlan: 200 } },
    { name: 'ipv4 first fragment', frame: e4(ipv4(A, B, 17, udp(1000, 2000, new Uint8Array(16)), { id: 99, mf: true })), expect: { encap: null, proto: 17, srcPort: 1000, dstPort: 2000, vlan: -1 } },
    { name: 'ipv4 later fragment', frame: e4(ipv4(A, B, 17, new Uint8Array(16), { id: 99, fragOffset: 24 })), expect: { encap: null, proto: 17, srcPort: 0, dstPort: 0, vlan: -1 } },
    { name: 'ipv6 ext headers', frame: e6(ipv6('2001:db8::1', '2001:db8::2', 6, tcp(1, 2), [extHeader(0), extHeader(43, 1), extHeader(60)])), expect: { encap: null, proto: 6, srcPort: 1, dstPort: 2, vlan: -1 } },
    { name: 'ipv6 later fragment', frame: e6(ipv6('2001:db8::1', '2001:db8::2', 17, new Uint8Array(8), [fragHeader(1232, false, 7)])), expect: { encap: null, proto: 17, srcPort: 0, dstPort: 0, vlan: -1 } },
    { name: '4in4', frame: e4(ipv4(A, B, 4, in4)), expect: { ...x4, encap: 'ipip' } },
    { name: '6in4', frame: e4(ipv4(A, B, 41, in6)), expect: { ...x6, encap: 'ipip' } },
    { name: 'gre ipv4', frame: e4(ipv4(A, B, 47, gre(0x0800, in4, { key: 1 }))), expect: { ...x4, encap: 'gre' } },
    { name: 'gre teb', frame: e4(ipv4(A, B, 47, gre(0x6558, e6(in6)))), expect: { ...x6, encap: 'gre' } },
    { name: 'gtp-u', frame: e4(ipv4(A, B, 17, udp(2152, 2152, gtpu(in4, { seq: 1, ext: [[0, 9]] })))), expect: { ...x4, encap: 'gtp' } },
    { name: 'vxlan', frame: e4(ipv4(A, B, 17, udp(40000, 4789, vxlan(eth(0x86dd, in6, [{ tpid: 0x8100, id: 5 }]))))), expect: { ...x6, encap: 'vxlan', vlan: 5 } },
    { name: 'capwap 802.3', frame: e4(ipv4(A, B, 17, udp(12222, 5247, capwap(e4(in4))))), expect: { ...x4, encap: 'capwap' } },
    { name: 'capwap 802.11', frame: e4(ipv4(A, B, 17, udp(12222, 5247, capwap(wlanData(0x86dd, in6, { qos: true }), { native: true })))), expect: { ...x6, encap: 'capwap' } },
    { name: 'pptp gre v1', frame: e4(ipv4(A, B, 47, pptp)), expect: { encap: null, proto: 47, srcPort: 0, dstPort: 0, vlan: -1 } },
    { name: 'teredo', frame: e4(ipv4(A, B, 17, udp(3544, 50000, in6))), expect: { encap: null, proto: 17, srcPort: 3544, dstPort: 50000, vlan: -1 } },
    { name: 'esp', frame: e4(ipv4(A, B, 50, [0, 0, 1, 0, 0, 0, 0, 1, 9, 9, 9, 9])), expect: { encap: null, proto: 50, srcPort: 0, dstPort: 0, vlan: -1 } },
    { name: 'ah', frame: e6(ipv6('2001:db8::1', '2001:db8::2', 51, cat([4, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], new Uint8Array(12), in4))), expect: { encap: null, proto: 51, srcPort: 0, dstPort: 0, vlan: -1 } },
    { name: 'sctp', frame: e4(ipv4(A, B, 132, cat(be16(2905), be16(2905), new Uint8Array(8)))), expect: { encap: null, proto: 132, srcPort: 2905, dstPort: 2905, vlan: -1 } },
    { name: 'arp', frame: eth(0x0806, new Uint8Array(28)), expect: null },
  ];
}

export function tunnelsPcap(): Uint8Array {
  const w = new PcapWriter({ linkType: 1 });
  tunnelPackets().forEach((p, i) => w.packet(T0 + i * 1000, p.frame));
  return w.toBuffer();
}

export function sectionsPcapng(): Uint8Array {
  const p4 = ipv4('192.0.2.1', '192.0.2.2', 17, udp(1, 2, [1, 2, 3]));
  const p6 = ipv6('2001:db8::1', '2001:db8::2', 6, tcp(3, 4));
  const sll2 = cat(be16(0x0800), [0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0], p4);
  const w = new PcapngWriter();
  w.section({ bigEndian: false }).idb({ linkType: 1, snapLen: 65535, tsresol: 9 }).idb({ linkType: 101, tsresol: 3 });
  w.epb(0, BigInt(T0) * 1000n + 123n, eth(0x0800, p4));
  w.epb(1, BigInt(T0 / 1000) + 1n, p6);
  w.block(4, new Uint8Array(8)); // empty name resolution block
  w.spb(eth(0x86dd, p6));
  w.section({ bigEndian: true }).idb({ linkType: 276, tsresol: 0x80 | 20 });
  w.pb(0, 3n << 20n, sll2);
  w.block(5, new Uint8Array(12)); // interface statistics
  w.block(0x7777, new Uint8Array(4)); // unknown
  w.epb(0, (5n << 20n) + (1n << 19n), sll2);
  return w.toBuffer();
}
