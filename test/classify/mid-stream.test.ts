/**
 * A tunnel already running when capture starts (tcpdump started after the VPN, a gateway restarted under long-lived
 * sessions): only data-phase packets are seen. The specification's data-phase rules must be reachable by a session,
 * not only by a detector given a whole flow: OpenVPN's strong mid-stream rule needs 8 P_DATA_V2 packets in each
 * direction, i.e. 16 payload packets, beyond the flow table's old record of 8.
 */
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { ovpnDataV2, rng, tcpFrame, wgData } from '../detect/udp-vpn-builders.js';
import { classify, CLIENT, SERVER, type Pkt } from './flow-builders.js';

/** n data packets each way, alternating, as a tunnel carrying a ping or an interactive session shows them. */
function dataFlow(n: number, make: (dir: 0 | 1, i: number) => Uint8Array, clientPort = 40000, proto = 17): Pkt[] {
  const c = { src: CLIENT, dst: SERVER, proto, srcPort: clientPort, dstPort: 1194 };
  const s = { src: SERVER, dst: CLIENT, proto, srcPort: 1194, dstPort: clientPort };
  const out: Pkt[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ ...c, t: 1 + i, payload: make(0, i) });
    out.push({ ...s, t: 1.001 + i, payload: make(1, i) });
  }
  return out;
}

const r = rng(7);
const ovpn = (dir: 0 | 1, i: number) => ovpnDataV2(0x48, 0x00a1b2, (dir ? 70_000 : 50_000) + i, 84 + ((i * 16) % 64), r);
/** OpenVPN over TCP: each packet behind its 2-byte length, one per segment (small packets, TCP_NODELAY). */
const ovpnTcp = (dir: 0 | 1, i: number) => tcpFrame(ovpn(dir, i));

describe('tunnels seen mid-stream', () => {
  it('OpenVPN P_DATA_V2 both ways (constant peer id, packet ids +1): OpenVPN, on the strong data rule', () => {
    const [rec] = classify(dataFlow(10, ovpn));
    expect([rec!.label, rec!.protocol]).toEqual(['unregistered_vpn', 'openvpn']);
    const [tcp] = classify(dataFlow(10, ovpnTcp, 40000, 6));
    expect([tcp!.label, tcp!.protocol, tcp!.decidedAtPacket]).toEqual(['unregistered_vpn', 'openvpn', 16]);
    const strong = rec!.evidence.find((e) => e.rule === 'ovpn.data' && e.strength === 'strong');
    expect(strong?.reason).toMatch(/8 P_DATA_V2 packets .*\(and ≥8 the other way\)/);
    expect(rec!.decidedAtPacket).toBe(16);
  });

  it('four data packets each way are not enough for OpenVPN (medium: the spec wants eight)', () => {
    const [rec] = classify(dataFlow(4, ovpn));
    expect(rec!.label).toBe('ordinary');
    expect(rec!.evidence.map((e) => [e.rule, e.strength])).toEqual([['ovpn.data', 'medium']]);
  });

  it('WireGuard type-4 both ways decides at four each way, as before', () => {
    const wr = rng(9);
    const [rec] = classify(dataFlow(6, (dir, i) => wgData(dir ? 0x1111 : 0x2222, 300 + i, 96, wr)));
    expect([rec!.label, rec!.protocol]).toEqual(['unregistered_vpn', 'wireguard']);
  });

  it('random UDP is still final at its fourth payload packet (every detector excluded it)', () => {
    const rr = rng(11);
    const [rec] = classify(dataFlow(12, () => Uint8Array.from({ length: 120 }, () => Math.floor(rr() * 256))));
    expect(rec!.label).toBe('ordinary');
    expect(rec!.decidedAtPacket).toBeLessThanOrEqual(8);
  });
});

describe('memory stays bounded: the long record is capped', () => {
  it('flows beyond the long tier\'s cap keep their first 8 packets and are counted; the others still decide', () => {
    const s = createClassifier().session({ flow: { maxLongCapturingFlows: 2 } });
    const out: FlowRecord[] = [];
    s.on('flow', (rec: FlowRecord) => out.push(rec));
    // When each verdict came out: frames pushed so far (all four flows' verdicts must come before the input ends).
    let pushed = 0;
    const verdictAt: number[] = [];
    s.on('verdict', () => verdictAt.push(pushed));
    // TCP: an ordinary TCP verdict is emitted when inspection ends (an ordinary UDP one waits for the flow's end).
    const flows = [0, 1, 2, 3].map((k) => dataFlow(10, ovpnTcp, 40000 + k, 6));
    // Interleave the four flows packet by packet so all four want the long record at once.
    for (let i = 0; i < flows[0]!.length; i++) {
      for (const f of flows) {
        s.push(buildFrame(f[i]!), BigInt(Math.round(f[i]!.t * 1e6)) * 1000n);
        pushed++;
      }
    }
    const total = pushed;
    pushed = Infinity;
    s.end();
    expect(out.map((x) => x.label).sort()).toEqual(['ordinary', 'ordinary', 'unregistered_vpn', 'unregistered_vpn']);
    expect(s.flowStats.captureShort).toBe(2);
    // The two judged on 8 packets say so, at the confidence of a cut payload; the two that grew do not.
    const capped = out.filter((x) => x.captureCapped === true);
    expect(capped.map((x) => [x.label, x.confidence])).toEqual([['ordinary', 0.6], ['ordinary', 0.6]]);
    expect(out.filter((x) => x.label !== 'ordinary').every((x) => !('captureCapped' in x))).toBe(true);
    // The two that could not grow are final at their 8th packet (the 31st and 32nd frames: 30 and 31 pushed before
    // them), not at their end; the others at their 16th (the 61st and 62nd frames).
    expect(total).toBe(80);
    expect(verdictAt.sort((a, b) => a - b)).toEqual([30, 31, 60, 61]);
  });
});
