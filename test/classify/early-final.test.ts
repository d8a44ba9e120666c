/**
 * When inspection ends: a QUIC flow whose first Initial held the whole ClientHello is final at once; a flow that
 * is TLS from its first packet and whose server has switched to encrypted records, or QUIC from its first packet,
 * is final once the name packets are seen (encrypted bytes cannot match any rule); so is a flow every detector has
 * excluded by its framing (Detector.excludes); every other flow keeps the detectors' full packet budget.
 */
import { describe, expect, it } from 'vitest';
import type { VerdictEvent } from '../../src/classify/session.js';
import { DetectorTable, FlowDetection, NAME_PACKETS, PENDING_AFTER } from '../../src/classify/engine.js';
import { ArrayFlowView } from '../../src/detect/array-flow.js';
import { DETECTORS } from '../../src/detect/registry.js';
import { IPPROTO_UDP, type Detector, type FlowView } from '../../src/detect/types.js';
import { QUIC_V1 } from '../../src/detect/names/quic.js';
import { cryptoFrame, ext, handshake, helloBody, protectInitial, sniExt, tlsRecord } from '../detect/names/builders.js';
import { bytes, classify, CLIENT, SERVER, tlsFlow, type Pkt } from './flow-builders.js';

const decidedAt = (vs: VerdictEvent[], transport: string): number => {
  const v = vs.find((x) => x.flow.transport === transport);
  if (!v) throw new Error(`no ${transport} verdict`);
  return v.verdict.decidedAtPacket;
};

function tcpFlow(first: Uint8Array, server: (i: number) => Uint8Array): Pkt[] {
  const c = { src: CLIENT, dst: SERVER, proto: 6, srcPort: 50000, dstPort: 443 };
  const s = { src: SERVER, dst: CLIENT, proto: 6, srcPort: 443, dstPort: 50000 };
  const out: Pkt[] = [{ ...c, t: 0, payload: first }];
  for (let i = 0; i < 12; i++) out.push({ ...(i % 2 ? c : s), t: 0.01 * (i + 1), payload: i % 2 ? bytes(90, i) : server(i) });
  return out;
}

function udpFlow(first: Uint8Array): Pkt[] {
  const c = { src: CLIENT, dst: SERVER, proto: 17, srcPort: 40000, dstPort: 443 };
  const s = { src: SERVER, dst: CLIENT, proto: 17, srcPort: 443, dstPort: 40000 };
  const out: Pkt[] = [{ ...c, t: 0, payload: first }];
  // Short-header QUIC-looking datagrams (fixed bit set, first byte 0x40–0x7f).
  for (let i = 0; i < 12; i++) out.push({ ...(i % 2 ? c : s), t: 0.01 * (i + 1), payload: Uint8Array.from([0x41 + i, ...bytes(100, i)]) });
  return out;
}

const HELLO = tlsRecord(helloBody({ exts: [sniExt('www.example.com')] }));
const appData = (i: number): Uint8Array => Uint8Array.from([0x17, 0x03, 0x03, 0, 80, ...bytes(80, i)]);
const handshakeRec = (i: number): Uint8Array => Uint8Array.from([0x16, 0x03, 0x03, 0, 80, ...bytes(80, i)]);

describe('early end of inspection', () => {
  it('TLS both ways (server sends application data): final after the name packets', () => {
    const vs: VerdictEvent[] = [];
    classify(tcpFlow(HELLO, appData), vs);
    expect(decidedAt(vs, 'tcp')).toBe(NAME_PACKETS);
    vs.length = 0;
    classify(tlsFlow(50000, 443, 0, 5), vs);
    expect(decidedAt(vs, 'tcp')).toBe(NAME_PACKETS);
  });
  it('TLS hello but the server never switches to encrypted records: full budget', () => {
    const vs: VerdictEvent[] = [];
    classify(tcpFlow(HELLO, handshakeRec), vs);
    expect(decidedAt(vs, 'tcp')).toBe(8);
  });
  it('not TLS from the first packet (server app data alone is not enough): full budget', () => {
    const vs: VerdictEvent[] = [];
    classify(tcpFlow(bytes(200, 3), appData), vs);
    expect(decidedAt(vs, 'tcp')).toBe(8);
  });
  it('QUIC: a whole ClientHello in the first Initial is final at once; a partial one after the name packets; other UDP: full budget', () => {
    const ch = [...handshake(helloBody({ exts: [sniExt('www.example.com')] }))];
    const dcid = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const vs: VerdictEvent[] = [];
    classify(udpFlow(protectInitial(QUIC_V1, dcid, cryptoFrame(0, ch))), vs);
    expect(decidedAt(vs, 'udp')).toBe(1);
    vs.length = 0;
    // SNI first, then a key share cut short: the name is read, but the hello continues in a later Initial.
    const long = [...handshake(helloBody({ exts: [sniExt('www.example.com'), ext(51, new Array(100).fill(7))] }))];
    classify(udpFlow(protectInitial(QUIC_V1, dcid, cryptoFrame(0, long.slice(0, long.length - 10)))), vs);
    expect(decidedAt(vs, 'udp')).toBe(NAME_PACKETS);
    vs.length = 0;
    classify(udpFlow(bytes(1200, 5)), vs);
    expect(decidedAt(vs, 'udp')).toBe(8);
  });
});

/**
 * Datagrams no UDP detector's framing admits: byte 0 EE (no WireGuard/WARP type, OpenVPN opcode 29, Nebula version
 * 14, not DTLS, STUN or a SoftEther helper message), byte 1 EE (L2TP version 14), a non-zero tinc destination id,
 * a ZeroTier destination in the reserved FF prefix, no ISAKMP version at offset 17.
 */
function unframed(i: number): Uint8Array {
  const b = bytes(120, i);
  b[0] = 0xee;
  b[1] = 0xee;
  b[2] = 1;
  b[8] = 0xff;
  b[13] = 0;
  b[17] = 0;
  return b;
}

describe('exclusion ends inspection', () => {
  const flow = (): Pkt[] => {
    const c = { src: CLIENT, dst: SERVER, proto: 17, srcPort: 40000, dstPort: 50000 };
    const s = { src: SERVER, dst: CLIENT, proto: 17, srcPort: 50000, dstPort: 40000 };
    return Array.from({ length: 12 }, (_, i) => ({ ...(i % 3 === 2 ? s : c), t: 0.01 * i, payload: unframed(i) }));
  };

  it('every UDP detector excludes the datagrams: final at the name packets, not at the budget', () => {
    const vs: VerdictEvent[] = [];
    classify(flow(), vs);
    expect(decidedAt(vs, 'udp')).toBe(NAME_PACKETS);
    expect(vs[0]!.verdict.label).toBe('ordinary');
    // Each detector on its own says so (so the test fails when one of them stops excluding).
    const v = new ArrayFlowView({ transport: IPPROTO_UDP, srcPort: 40000, dstPort: 50000 });
    v.push({ dir: 0, bytes: unframed(0) });
    const udp = DETECTORS.filter((d) => d.transports.includes(IPPROTO_UDP));
    expect(udp.filter((d) => d.excludes?.(v) !== true).map((d) => d.id)).toEqual([]);
  });

  it('a session keeps a flow’s exclusions between packets (most flows share one scratch detection state)', () => {
    // After the first datagram, WireGuard-shaped headers (04 00 00 00) that only the WireGuard family admits: they
    // were excluded at packet 1, so the flow is still final at the name packets.
    const pk = flow().map((p, i) => {
      if (i === 0) return p;
      const b = unframed(i);
      b.set([4, 0, 0, 0]);
      return { ...p, payload: b };
    });
    const vs: VerdictEvent[] = [];
    classify(pk, vs);
    expect(decidedAt(vs, 'udp')).toBe(NAME_PACKETS);
    vs.length = 0;
    classify(pk.slice(1), vs);
    expect(decidedAt(vs, 'udp')).toBe(8);
  });

  it('an excluded detector is not called again; one without `excludes` keeps its budget', () => {
    let calls = 0, plainCalls = 0;
    const spy: Detector = {
      id: 'spy', transports: [IPPROTO_UDP], carriers: [], maxPackets: 20, rules: {},
      detect: () => (calls++, null),
      excludes: (f: FlowView) => f.nPackets === 2,
    };
    const plain: Detector = { id: 'plain', transports: [IPPROTO_UDP], carriers: [], maxPackets: 10, rules: {}, detect: () => (plainCalls++, null) };
    const run = (dets: Detector[]): number => {
      const t = new DetectorTable(dets), d = new FlowDetection();
      const v = new ArrayFlowView({ transport: IPPROTO_UDP, srcPort: 1, dstPort: 2 });
      for (let n = 1; n <= 30; n++) {
        v.push({ dir: 0, bytes: bytes(50, n) });
        if (d.inspect(v, t)) return n;
      }
      return -1;
    };
    expect(run([spy])).toBe(NAME_PACKETS);
    expect(calls).toBe(2);
    calls = 0;
    // The plain detector is live until its budget (10), but past PENDING_AFTER packets a flow without a pending
    // item ends: ordinary traffic does not pay for long budgets.
    expect(run([spy, plain])).toBe(PENDING_AFTER);
    expect(calls).toBe(2);
    expect(plainCalls).toBe(PENDING_AFTER);
    // With a medium item pending, the same detector keeps its whole budget.
    plainCalls = 0;
    const medium: Detector = {
      ...plain,
      detect: (f: FlowView) => (plainCalls++, f.nPackets === 3 ? [{ source: 'plain', protocol: 'plain', strength: 'medium', rule: 'p', packet: 2, offset: 0, reason: '' }] : null),
    };
    expect(run([spy, medium])).toBe(10);
    expect(plainCalls).toBe(10);
  });
});
