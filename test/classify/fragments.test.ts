/**
 * End to end through a classifier session: the motivating case — an IKEv2 IKE_AUTH carrying certificates on
 * UDP 4500 after NAT detection, larger than the path MTU, arriving as IPv4 (and IPv6) fragments. Before reassembly
 * only the first fragment reached the detectors and "IKE length = UDP payload length" failed; now the datagram is
 * shown whole once, and the session's stats carry the reassembly counters.
 */
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import type { SessionStats } from '../../src/classify/session.js';
import { LINKTYPE_RAW } from '../../src/trace/types.js';
import { ipv4, ipv6, udp } from '../trace/decode-helpers.js';
import { fragmentOf, ipBody, split } from '../trace/frag-helpers.js';
import { SPEC_SPI_I, SPEC_SPI_R, v2Auth } from '../detect/ipsec-builders.js';
import { rng } from '../detect/udp-vpn-builders.js';

function run(frames: Uint8Array[]): { recs: FlowRecord[]; stats: SessionStats } {
  const s = createClassifier().session();
  const recs: FlowRecord[] = [];
  s.on('flow', (r: FlowRecord) => recs.push(r));
  frames.forEach((f, i) => s.push(f, BigInt(1_700_000_000_000_000 + i * 1000) * 1000n, LINKTYPE_RAW));
  s.end();
  return { recs, stats: s.stats };
}

describe('fragmented IKE_AUTH on UDP 4500', () => {
  for (const fam of [4, 6] as const) {
    it(`IPv${fam}: the reassembled message walks (ike.message, strong); the first fragment alone does not`, () => {
      const auth = v2Auth(rng(3), SPEC_SPI_I, SPEC_SPI_R, 1, false, true, 2600); // non-ESP marker + IKE_AUTH
      const pkt = fam === 4 ? ipv4('192.0.2.10', '198.51.100.7', 17, udp(4500, 4500, auth)) : ipv6('2001:db8::10', '2001:db8:1::7', 17, udp(4500, 4500, auth));
      const frags = split(ipBody(pkt), [1232, 1232]).map((p) => fragmentOf(pkt, 0x77, p));
      expect(frags.length).toBe(3);
      const whole = run(frags);
      expect(whole.recs).toHaveLength(1);
      expect(whole.recs[0]!.label).toBe('unregistered_vpn');
      expect(whole.recs[0]!.evidence.map((e) => e.rule)).toContain('ike.message');
      expect(whole.recs[0]!.packets).toBe(3);
      expect(whole.stats.reassembly).toMatchObject({ fragments: 3, reassembled: 1 });
      expect(whole.stats.fragmentsUnattributed).toBe(0);
      // Control: the first fragment alone (the rest lost) names the flow but proves nothing.
      const first = run(frags.slice(0, 1));
      expect(first.recs.map((r) => [r.label, r.packets])).toEqual([['ordinary', 1]]);
      expect(first.stats.reassembly).toMatchObject({ reassembled: 0, flushed: 1 });
    });
  }
});
