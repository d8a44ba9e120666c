import { describe, expect, it } from 'vitest';
import { ah } from '../../src/detect/ah.js';
import { IPPROTO_AH, IPPROTO_ICMP, IPPROTO_UDP, type Evidence, type FlowView } from '../../src/detect/types.js';
import { concat, randomBytes, rng, runFlow, type Pkt } from './udp-vpn-builders.js';
import { ahPacket, espPacket, icmpEcho, ipv4Header, u16 } from './ipsec-builders.js';

const run = (pk: Pkt[]): Evidence[] => runFlow(ah, IPPROTO_AH, 0, 0, pk);
const rules = (ev: Evidence[]) => ev.map((e) => `${e.rule}@${e.packet}:${e.strength}`);

describe('ah (IP protocol 51)', () => {
  it('tunnel mode (next header 4): inner IPv4 total length matches → strong at packet 0', () => {
    const r = rng(1);
    const icmp = icmpEcho(1, 1, randomBytes(32, r));
    const ev = run([{ dir: 0, bytes: ahPacket(4, 0x1000, 1, concat(ipv4Header(IPPROTO_ICMP, icmp.length), icmp), r) }]);
    expect(rules(ev)).toEqual(['ah.tunnel@0:strong']);
    expect(ev[0]).toMatchObject({ source: 'ah', protocol: 'ipsec', offset: 0 });
    expect(ev[0]!.reason).toContain('payload length 4 → AH 24 bytes (ICV 12)');
  });

  it('tunnel mode wrapping ESP (next header 50)', () => {
    const r = rng(2);
    expect(rules(run([{ dir: 0, bytes: ahPacket(50, 0x1000, 1, espPacket(0x2000, 1, 60, r), r, 16) }]))).toEqual(['ah.tunnel@0:strong']);
  });

  it('transport mode protecting ICMP (checksum verified) and UDP (length verified) → strong', () => {
    const r = rng(3);
    const icmp = icmpEcho(5, 1, randomBytes(56, r));
    expect(rules(run([{ dir: 0, bytes: ahPacket(1, 0x604816f6, 1, icmp, r) }]))).toEqual(['ah.transport@0:strong']);
    const bad = icmp.slice();
    bad[10]! ^= 1;
    expect(run([{ dir: 0, bytes: ahPacket(1, 0x604816f6, 1, bad, r) }])).toEqual([]);
    const udp = concat(u16(40000), u16(53), u16(8 + 20), u16(0), randomBytes(20, r));
    expect(rules(run([{ dir: 0, bytes: ahPacket(IPPROTO_UDP, 0x3000, 9, udp, r) }]))).toEqual(['ah.transport@0:strong']);
    const udpBad = udp.slice();
    udpBad[5] = 99;
    expect(run([{ dir: 0, bytes: ahPacket(IPPROTO_UDP, 0x3000, 9, udpBad, r) }])).toEqual([]);
  });

  it('routing protocols in transport mode are IPsec but not VPN: weak only', () => {
    const r = rng(4);
    expect(rules(run([{ dir: 0, bytes: ahPacket(89, 0x3000, 1, randomBytes(44, r), r) }]))).toEqual(['ah.routing@0:weak']);
    const rip = concat(u16(521), u16(521), u16(8 + 24), u16(0), randomBytes(24, r));
    expect(rules(run([{ dir: 0, bytes: ahPacket(IPPROTO_UDP, 0x3000, 1, rip, r) }]))).toEqual(['ah.routing@0:weak']);
  });

  it('unverifiable next header is medium; three packets with +1 sequence are strong', () => {
    const r = rng(5);
    const pk = [1, 2, 3].map((s) => ({ dir: 0, bytes: ahPacket(132, 0x4000, s, randomBytes(40, r), r) }));
    expect(rules(run(pk))).toEqual(['ah.header@0:medium', 'ah.header@1:medium', 'ah.sequence@2:strong', 'ah.header@2:medium']);
    // As ESP: a lost packet and reordering within 32 keep the run, a jump beyond it does not.
    const seqs = (list: number[]) => rules(run(list.map((s) => ({ dir: 0, bytes: ahPacket(132, 0x4000, s, randomBytes(40, r), r) })))).filter((x) => x.startsWith('ah.sequence'));
    expect(seqs([5, 7, 6])).toEqual(['ah.sequence@2:strong']);
    expect(seqs([5, 6, 50])).toEqual([]);
  });

  it('reserved bytes, bad lengths, reserved SPIs and IPv6 alignment are checked', () => {
    const r = rng(6);
    const icmp = icmpEcho(5, 1, randomBytes(16, r));
    const good = ahPacket(1, 0x5000, 1, icmp, r);
    const mut = (k: number, v: number) => { const b = good.slice(); b[k] = v; return b; };
    expect(run([{ dir: 0, bytes: mut(2, 1) }])).toEqual([]);
    expect(run([{ dir: 0, bytes: mut(1, 0) }])).toEqual([]);
    expect(run([{ dir: 0, bytes: mut(1, 200) }])).toEqual([]);
    expect(run([{ dir: 0, bytes: ahPacket(1, 0x10, 1, icmp, r) }])).toEqual([]);
    // IPv6: AH length (pl + 2) × 4 must be a multiple of 8 → 16-byte ICV (pl 5, 28 bytes) is invalid, 20-byte padded one valid.
    const v6 = (b: Uint8Array): FlowView => ({
      transport: IPPROTO_AH, ipVersion: 6, srcPort: 0, dstPort: 0, nPackets: 1,
      dir: () => 0, len: () => b.length, avail: () => b.length, buf: () => b, start: () => 0,
    });
    const inner = concat(u16(1), u16(2), u16(8 + 8), u16(0), randomBytes(8, r));
    expect(ah.detect(v6(ahPacket(IPPROTO_UDP, 0x5000, 1, inner, r, 16)))).toBeNull();
    expect(ah.detect(v6(ahPacket(IPPROTO_UDP, 0x5000, 1, inner, r, 20)))?.[0]?.rule).toBe('ah.transport');
  });
});
