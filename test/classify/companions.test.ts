/**
 * Cross-flow companion rules, end to end through a streaming session: frames in, flow records out.
 * Reference part 3 §"Evidence rules" (Companion DTLS, Companion ESP GlobalProtect) and part 1 (tinc).
 */
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import { v1Encrypted, v1MainMode1, v2Auth, v2SaInitRequest } from '../detect/ipsec-builders.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { dtlsRecord, helloBody, sniExt } from '../detect/names/builders.js';
import { bytes, classify, CLIENT, dtlsHello, espFlow, OTHER, SERVER, stubFlow, tlsFlow, udpFlow, type Pkt } from './flow-builders.js';

const find = (rs: FlowRecord[], transport: string, dst: string): FlowRecord => {
  const r = rs.find((x) => x.transport === transport && x.dst === dst);
  if (!r) throw new Error(`no ${transport} flow to ${dst}: ${rs.map((x) => `${x.transport} ${x.dst}`).join(', ')}`);
  return r;
};
const rulesOf = (r: FlowRecord): string[] => r.evidence.map((e) => e.rule);

describe('companion DTLS (SSL-VPN data channel)', () => {
  it('labels the DTLS flow and its TLS control flow, with evidence naming the other flow', () => {
    const rs = classify([...tlsFlow(50000, 443, 0, 30), ...udpFlow(443, 3, dtlsHello())]);
    const udp = find(rs, 'udp', `${SERVER}:443`);
    const tcp = find(rs, 'tcp', `${SERVER}:443`);
    expect(udp.label).toBe('unregistered_vpn');
    expect(udp.protocol).toBe('ssl-vpn');
    expect(rulesOf(udp)).toContain('sslvpn.companion-dtls');
    expect(udp.evidence.find((e) => e.rule === 'sslvpn.companion-dtls')!.reason).toContain(`${CLIENT}:50000 → ${SERVER}:443`);
    expect(tcp.label).toBe('unregistered_vpn');
    expect(tcp.protocol).toBe('ssl-vpn');
    expect(tcp.evidence.find((e) => e.rule === 'sslvpn.companion-dtls')!.reason).toContain(`${CLIENT}:40001 → ${SERVER}:443`);
  });
  it('IPv6: same rule, evidence names the TLS flow as [ipv6]:port', () => {
    const V6: Record<string, string> = { [CLIENT]: '2001:db8::10', [SERVER]: '2001:db8:1::7' };
    const v6 = (ps: ReturnType<typeof tlsFlow>): ReturnType<typeof tlsFlow> => ps.map((p) => ({ ...p, src: V6[p.src]!, dst: V6[p.dst]! }));
    const rs = classify([...v6(tlsFlow(50000, 443, 0, 30)), ...v6(udpFlow(443, 3, dtlsHello()))]);
    const udp = find(rs, 'udp', '[2001:db8:1::7]:443');
    expect(udp.label).toBe('unregistered_vpn');
    expect(udp.evidence.find((e) => e.rule === 'sslvpn.companion-dtls')!.reason).toContain('[2001:db8::10]:50000 → [2001:db8:1::7]:443');
    expect(find(rs, 'tcp', '[2001:db8:1::7]:443').label).toBe('unregistered_vpn');
  });
  it('accepts the TLS flow port (FortiClient style) and the AnyConnect default 443', () => {
    const same = classify([...tlsFlow(50000, 10443, 0, 30), ...udpFlow(10443, 2, dtlsHello())]);
    expect(find(same, 'udp', `${SERVER}:10443`).label).toBe('unregistered_vpn');
    const dflt = classify([...tlsFlow(50000, 8443, 0, 30), ...udpFlow(443, 2, dtlsHello())]);
    expect(find(dflt, 'udp', `${SERVER}:443`).label).toBe('unregistered_vpn');
    const other = classify([...tlsFlow(50000, 8443, 0, 30), ...udpFlow(4433, 2, dtlsHello())]);
    expect(find(other, 'udp', `${SERVER}:4433`).label).toBe('ordinary');
  });
  it('within 10 s of the TLS start, or later only while the TLS flow is open', () => {
    // TLS open 0–30 s: a DTLS flow at 25 s is still a companion.
    expect(find(classify([...tlsFlow(50000, 443, 0, 30), ...udpFlow(443, 25, dtlsHello())]), 'udp', `${SERVER}:443`).label).toBe('unregistered_vpn');
    // TLS lasted 0–2 s and closed (FIN): a DTLS flow at 15 s is unrelated.
    const late = classify([...tlsFlow(50000, 443, 0, 2), ...udpFlow(443, 15, dtlsHello())]);
    expect(find(late, 'udp', `${SERVER}:443`).label).toBe('ordinary');
    expect(find(late, 'tcp', `${SERVER}:443`).label).toBe('ordinary');
  });
  it('the window is configurable (companionWindowS); a bad value is an error', () => {
    // TLS flow closed at 1.1 s; DTLS starts at 3 s: inside the default 10 s window, outside a 2 s one.
    const pkts = [...tlsFlow(50000, 443, 0, 1), ...udpFlow(443, 3, dtlsHello())];
    expect(find(classify(pkts), 'udp', `${SERVER}:443`).label).toBe('unregistered_vpn');
    expect(find(classify(pkts, [], { companionWindowS: 2 }), 'udp', `${SERVER}:443`).label).toBe('ordinary');
    expect(() => createClassifier({ companionWindowS: -1 })).toThrow(/companionWindowS/);
    expect(() => createClassifier({ companionWindowS: Number.NaN })).toThrow(/companionWindowS/);
  });
  it('negatives: use_srtp (WebRTC), STUN on the flow, another server, no TLS flow, non-DTLS first datagram', () => {
    const srtp = classify([...tlsFlow(50000, 443, 0, 30), ...udpFlow(443, 2, dtlsHello({ srtp: true }))]);
    expect(find(srtp, 'udp', `${SERVER}:443`).label).toBe('ordinary');
    expect(find(srtp, 'tcp', `${SERVER}:443`).label).toBe('ordinary');
    const stunPkt = Uint8Array.from([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, ...bytes(12, 1)]);
    const withStun = [...tlsFlow(50000, 443, 0, 30), ...udpFlow(443, 2, dtlsHello()), { src: CLIENT, dst: SERVER, proto: 17, srcPort: 40001, dstPort: 443, t: 2.005, payload: stunPkt }];
    expect(find(classify(withStun), 'udp', `${SERVER}:443`).label).toBe('ordinary');
    const elsewhere = classify([...tlsFlow(50000, 443, 0, 30), ...udpFlow(443, 2, dtlsHello(), OTHER)]);
    expect(find(elsewhere, 'udp', `${OTHER}:443`).label).toBe('ordinary');
    expect(find(classify(udpFlow(443, 2, dtlsHello())), 'udp', `${SERVER}:443`).label).toBe('ordinary');
    const notDtls = classify([...tlsFlow(50000, 443, 0, 30), ...udpFlow(443, 2, bytes(120, 9))]);
    expect(find(notDtls, 'udp', `${SERVER}:443`).label).toBe('ordinary');
  });
  it('a fragmented DTLS hello cannot prove the absence of use_srtp: no companion', () => {
    const body = helloBody({ version: 0xfefd, cookie: [], exts: [sniExt('vpn.example.com')] });
    const frag = dtlsRecord(body, { fragLen: 40 });
    expect(find(classify([...tlsFlow(50000, 443, 0, 30), ...udpFlow(443, 2, frag)]), 'udp', `${SERVER}:443`).label).toBe('ordinary');
  });
});

describe('companion ESP on UDP 4501 (GlobalProtect)', () => {
  it('labels the ESP flow and the TLS flow to the same server', () => {
    const rs = classify([...tlsFlow(50000, 443, 0, 30), ...espFlow(4501, 4)]);
    const esp = find(rs, 'udp', `${SERVER}:4501`);
    expect(esp.label).toBe('unregistered_vpn');
    expect(esp.protocol).toBe('globalprotect');
    expect(rulesOf(esp)).toContain('globalprotect.companion-esp');
    expect(find(rs, 'tcp', `${SERVER}:443`).protocol).toBe('globalprotect');
  });
  it('negatives: no TLS flow, too few packets, sequence not +1, another port', () => {
    expect(find(classify(espFlow(4501, 4)), 'udp', `${SERVER}:4501`).label).toBe('ordinary');
    expect(find(classify([...tlsFlow(50000, 443, 0, 30), ...espFlow(4501, 4, 2)]), 'udp', `${SERVER}:4501`).label).toBe('ordinary');
    const jumbled = espFlow(4501, 4).map((p, i) => ({ ...p, payload: Uint8Array.from([...p.payload!.subarray(0, 7), (i * 5 + 3) & 255, ...p.payload!.subarray(8)]) }));
    expect(find(classify([...tlsFlow(50000, 443, 0, 30), ...jumbled]), 'udp', `${SERVER}:4501`).label).toBe('ordinary');
    expect(find(classify([...tlsFlow(50000, 443, 0, 30), ...espFlow(4502, 4)]), 'udp', `${SERVER}:4502`).label).toBe('ordinary');
  });
});

describe('a lone TLS flow', () => {
  it('stays ordinary however long it lasts and whatever its port', () => {
    for (const port of [443, 10443, 4433]) {
      const rs = classify(tlsFlow(50000, port, 0, 600));
      expect(find(rs, 'tcp', `${SERVER}:${port}`).label).toBe('ordinary');
    }
  });
});

describe('protocol of a tied TLS flow', () => {
  it('takes the data channel protocol when that was identified (AnyConnect legacy DTLS)', () => {
    const legacy = dtlsRecord(helloBody({ version: 0x0100, sessionId: new Array(32).fill(0x42), cookie: [], suites: [0x0035], noExtensions: true }), { recVersion: 0x0100 });
    const rs = classify([...tlsFlow(50000, 443, 0, 30), ...udpFlow(443, 2, legacy)]);
    expect(find(rs, 'udp', `${SERVER}:443`).protocol).toBe('anyconnect');
    const tcp = find(rs, 'tcp', `${SERVER}:443`);
    expect(tcp.protocol).toBe('anyconnect');
    expect(rulesOf(tcp)).toEqual(['sslvpn.companion-dtls']);
  });
  it('a data channel strong on its own framing (AnyConnect legacy DTLS) ties on any port (the server names it in X-DTLS-Port)', () => {
    const legacy = dtlsRecord(helloBody({ version: 0x0100, sessionId: new Array(32).fill(0x42), cookie: [], suites: [0x0035], noExtensions: true }), { recVersion: 0x0100 });
    const rs = classify([...tlsFlow(50000, 8443, 0, 30), ...udpFlow(8444, 2, legacy)]);
    const tcp = find(rs, 'tcp', `${SERVER}:8443`);
    expect([tcp.label, tcp.protocol, rulesOf(tcp)]).toEqual(['unregistered_vpn', 'anyconnect', ['sslvpn.companion-dtls']]);
    expect(find(rs, 'udp', `${SERVER}:8444`).evidence.find((e) => e.rule === 'sslvpn.companion-dtls')?.reason).toMatch(/port 8444 \(a DTLS port of the server's choice/);
    // A DTLS hello with nothing strong of its own still needs the TLS port or 443 (the case above, 4433: ordinary);
    // and the strong framing does not reach a TLS flow to another server.
    const elsewhere = classify([...tlsFlow(50000, 8443, 0, 30, OTHER), ...udpFlow(8444, 2, legacy)]);
    expect(find(elsewhere, 'tcp', `${OTHER}:8443`).label).toBe('ordinary');
  });
});

describe('CompanionIndex memory bound', () => {
  it('never holds more than `max` entries of a kind — TLS flows, SSL-VPN gateways, IKE SAs on 500 — whatever the mix of host pairs (property)', async () => {
    const { CompanionIndex } = await import('../../src/classify/companions.js');
    const fc = (await import('fast-check')).default;
    const strong = [{ source: 'anyconnect', protocol: 'anyconnect', strength: 'strong' as const, rule: 'anyconnect.connect', reason: '' }];
    const note = [
      (idx: InstanceType<typeof CompanionIndex>, pair: number, port: number) => idx.noteTlsStart(stubFlow(6, 0x0a000000 + pair, 50000 + port, 443)),
      (idx: InstanceType<typeof CompanionIndex>, pair: number, port: number) => idx.noteVerdict(stubFlow(6, 0x0a000000 + pair, 50000, 443 + port, `c${pair}`, 's'), 'anyconnect', strong),
      (idx: InstanceType<typeof CompanionIndex>, pair: number, port: number) => idx.noteIkeSpis(stubFlow(17, 0x0a000000 + pair, 500, 500), [{ initiator: `${pair}-${port}`, responder: '' }]),
    ];
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.nat(2), fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 3 })), { maxLength: 400 }), (max, kind, ops) => {
        const idx = new CompanionIndex(max);
        for (const [pair, port] of ops) {
          note[kind]!(idx, pair, port);
          if (idx.size > max) return false;
        }
        return true;
      }),
    );
  });
});

describe('companion ESP without IKE on UDP 4500 (Ivanti/Pulse pattern)', () => {
  let seed = 1;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  // A spec-built IKEv2 IKE_SA_INIT request on UDP 500.
  const ike = (): ReturnType<typeof tlsFlow> => [{ src: CLIENT, dst: SERVER, proto: 17, srcPort: 500, dstPort: 500, t: 0.5, payload: v2SaInitRequest(rnd) }];
  it('labels the ESP flow pulse (refining natt.esp ipsec) and its TLS flow', () => {
    const rs = classify([...tlsFlow(50000, 443, 0, 30), ...espFlow(4500, 4)]);
    const esp = find(rs, 'udp', `${SERVER}:4500`);
    expect(esp.label).toBe('unregistered_vpn');
    expect(esp.protocol).toBe('pulse');
    expect(rulesOf(esp)).toEqual(expect.arrayContaining(['natt.esp', 'pulse.companion-esp']));
    expect(find(rs, 'tcp', `${SERVER}:443`).protocol).toBe('pulse');
  });
  it('IKE between the hosts (UDP 500, or behind the non-ESP marker on the same 5-tuple, which decides that flow as IKE at once) makes it plain IPsec', () => {
    const withIke = classify([...ike(), ...tlsFlow(50000, 443, 0, 30), ...espFlow(4500, 4)]);
    expect(find(withIke, 'udp', `${SERVER}:500`).protocol).toBe('ipsec');
    expect(find(withIke, 'udp', `${SERVER}:4500`).protocol).toBe('ipsec');
    expect(find(withIke, 'tcp', `${SERVER}:443`).label).toBe('ordinary');
    const marker = { src: CLIENT, dst: SERVER, proto: 17, srcPort: 40002, dstPort: 4500, t: 3.9, payload: v2SaInitRequest(rnd, undefined, true) };
    const inline = classify([...tlsFlow(50000, 443, 0, 30), marker, ...espFlow(4500, 4)]);
    expect(find(inline, 'udp', `${SERVER}:4500`).protocol).toBe('ipsec');
    expect(find(inline, 'tcp', `${SERVER}:443`).label).toBe('ordinary');
  });
  it('operator-set ports (sslVpnEspPorts): ESP on 4600 next to a TLS flow is tied only when 4600 is listed', () => {
    const pkts = [...tlsFlow(50000, 443, 0, 30), ...espFlow(4600, 4)];
    expect(find(classify(pkts), 'udp', `${SERVER}:4600`).label).toBe('ordinary');
    const rs = classify(pkts, [], { sslVpnEspPorts: [4500, 4600] });
    expect(find(rs, 'udp', `${SERVER}:4600`).protocol).toBe('pulse');
    expect(find(rs, 'udp', `${SERVER}:4600`).evidence.find((e) => e.rule === 'pulse.companion-esp')!.reason).toContain('port 4600');
    expect(find(rs, 'tcp', `${SERVER}:443`).protocol).toBe('pulse');
    // Listing other ports drops 4500 from the rule (it stays IPsec by natt.esp).
    expect(find(classify([...tlsFlow(50000, 443, 0, 30), ...espFlow(4500, 4)], [], { sslVpnEspPorts: [4600] }), 'udp', `${SERVER}:4500`).protocol).toBe('ipsec');
    for (const bad of [[0], [65536], [1.5], [Number.NaN]]) expect(() => createClassifier({ sslVpnEspPorts: bad })).toThrow(/sslVpnEspPorts/);
  });
  it('without a TLS flow, ESP-in-UDP on 4500 stays ipsec', () => {
    expect(find(classify(espFlow(4500, 4)), 'udp', `${SERVER}:4500`).protocol).toBe('ipsec');
  });
});

describe('IKE NAT-T float (ike.natt-float; reference part 2 §2, RFC 7296 §2.23)', () => {
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const spiI = Uint8Array.of(0x3f, 0x1c, 0xa2, 0x9b, 0x00, 0x5e, 0x71, 0xd4);
  const spiR = Uint8Array.of(0x9a, 0x41, 0x07, 0xc3, 0x5d, 0xe2, 0x18, 0x66);
  const at = (t: number, dir: 0 | 1, sport: number, dport: number, payload: Uint8Array, server = SERVER): Pkt =>
    dir === 0 ? { src: CLIENT, dst: server, proto: 17, srcPort: sport, dstPort: dport, t, payload } : { src: server, dst: CLIENT, proto: 17, srcPort: dport, dstPort: sport, t, payload };
  /** IKEv1 Main Mode 1/2 on 500 (clear, walkable), then one encrypted message 5 behind the marker on 4500. */
  const mainMode = (floatSpiI = spiI, floatSpiR = spiR, server = SERVER): Pkt[] => [
    at(0, 0, 500, 500, v1MainMode1(rnd, spiI)),
    at(0.05, 1, 500, 500, v1MainMode1(rnd, spiI)),
    at(1, 0, 4500, 4500, v1Encrypted(rnd, floatSpiI, floatSpiR, 2, 0, 96, true), server),
  ];
  it('an IKEv1 encrypted message on 4500 (alone only ike.header, medium) continues the SA seen on 500: VPN', () => {
    const rs = classify(mainMode());
    const f = find(rs, 'udp', `${SERVER}:4500`);
    expect(f.label).toBe('unregistered_vpn');
    expect(f.protocol).toBe('ipsec');
    expect(rulesOf(f)).toEqual(['ike.header', 'ike.natt-float']);
    const e = f.evidence.find((x) => x.rule === 'ike.natt-float')!;
    expect(e).toMatchObject({ kind: 'relation', strength: 'strong', source: 'companion' });
    expect(e.reason).toContain('initiator SPI 3f1ca29b005e71d4 and responder SPI 9a4107c35de21866');
    expect(e.reason).toContain(`${CLIENT}:500 → ${SERVER}:500`);
  });
  it('control and look-alikes: no 500 exchange, another initiator SPI, another server, a zero responder SPI', () => {
    const lone = classify(mainMode().slice(2));
    expect(find(lone, 'udp', `${SERVER}:4500`).label).toBe('ordinary');
    const other = classify(mainMode(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)));
    expect(find(other, 'udp', `${SERVER}:4500`).label).toBe('ordinary');
    const elsewhere = classify(mainMode(spiI, spiR, OTHER));
    expect(find(elsewhere, 'udp', `${OTHER}:4500`).label).toBe('ordinary');
    const zeroR = classify(mainMode(spiI, new Uint8Array(8)));
    expect(find(zeroR, 'udp', `${SERVER}:4500`).label).toBe('ordinary');
  });
  it('when the 500 reply was recorded, the responder SPI must be the same', () => {
    // The 500 flow opens with an encrypted (unwalkable) message and is decided by the reply relation at packet 1,
    // so both SPIs of the SA are known.
    const first = [at(0, 0, 500, 500, v1Encrypted(rnd, spiI, spiR, 2, 0)), at(0.05, 1, 500, 500, v1Encrypted(rnd, spiI, spiR, 2, 0))];
    const same = classify([...first, at(1, 0, 4500, 4500, v1Encrypted(rnd, spiI, spiR, 2, 0, 96, true))]);
    expect(rulesOf(find(same, 'udp', `${SERVER}:4500`))).toContain('ike.natt-float');
    const diff = classify([...first, at(1, 0, 4500, 4500, v1Encrypted(rnd, spiI, Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9), 2, 0, 96, true))]);
    expect(find(diff, 'udp', `${SERVER}:4500`).label).toBe('ordinary');
  });
  it('an IKEv2 IKE_AUTH that walks on its own gains the relation as corroboration (0.99)', () => {
    const rs = classify([at(0, 0, 500, 500, v2SaInitRequest(rnd, spiI)), at(1, 0, 4500, 4500, v2Auth(rnd, spiI, spiR, 1, false, true))]);
    const f = find(rs, 'udp', `${SERVER}:4500`);
    expect(rulesOf(f)).toEqual(['ike.message', 'ike.natt-float']);
    expect(f.confidence).toBe(0.99);
  });
});

describe('SSL-VPN side connections (sslvpn.side-connection)', () => {
  /** A CSTP control connection 0–60 s and its DTLS data channel at 2 s: the server's 443 is a gateway for CLIENT. */
  const session = (): Pkt[] => [...tlsFlow(50000, 443, 0, 60), ...udpFlow(443, 2, dtlsHello())];
  it('a later TLS connection from the same client to the gateway is that VPN\'s; the evidence names the gateway', () => {
    const rs = classify([...session(), ...tlsFlow(50100, 443, 100, 1)]);
    const side = rs.find((r) => r.transport === 'tcp' && r.src === `${CLIENT}:50100`)!;
    expect(side.label).toBe('unregistered_vpn');
    expect(side.protocol).toBe('ssl-vpn');
    expect(rulesOf(side)).toEqual(['sslvpn.side-connection']);
    const e = side.evidence[0]!;
    expect(e).toMatchObject({ kind: 'relation', strength: 'strong' });
    expect(e.reason).toContain(`sslvpn.companion-dtls on ${CLIENT}:50000 → ${SERVER}:443`);
    expect(e.reason).toContain('98.0 s after it was identified');
  });
  it('an authentication connection still open when the gateway is identified is tied at its end', () => {
    const rs = classify([...tlsFlow(50001, 443, 0, 5), ...tlsFlow(50000, 443, 1, 60), ...udpFlow(443, 3, dtlsHello())]);
    expect(rs.find((r) => r.src === `${CLIENT}:50001`)!.label).toBe('unregistered_vpn');
    // One that had closed (and left the table) before the gateway existed stays ordinary.
    const early = classify([...tlsFlow(50001, 443, 0, 0.2), ...tlsFlow(50000, 443, 20, 60), ...udpFlow(443, 22, dtlsHello())]);
    expect(early.find((r) => r.src === `${CLIENT}:50001`)!.label).toBe('ordinary');
  });
  it('the protocol follows the gateway: AnyConnect legacy DTLS names it, and so its side connections', () => {
    const legacy = dtlsRecord(helloBody({ version: 0x0100, sessionId: new Array(32).fill(0x42), cookie: [], suites: [0x0035], noExtensions: true }), { recVersion: 0x0100 });
    const rs = classify([...tlsFlow(50000, 443, 0, 60), ...udpFlow(443, 2, legacy), ...tlsFlow(50100, 443, 30, 1)]);
    expect(rs.find((r) => r.src === `${CLIENT}:50100`)!.protocol).toBe('anyconnect');
  });
  it('bounded window (sideConnectionWindowS, default 300 s); other port, server or client; no gateway: ordinary', () => {
    expect(classify([...session(), ...tlsFlow(50100, 443, 2 + 300 + 5, 1)]).find((r) => r.src === `${CLIENT}:50100`)!.label).toBe('ordinary');
    const w = classify([...session(), ...tlsFlow(50100, 443, 30, 1)], [], { sideConnectionWindowS: 10 });
    expect(w.find((r) => r.src === `${CLIENT}:50100`)!.label).toBe('ordinary');
    expect(classify([...session(), ...tlsFlow(50100, 8443, 30, 1)]).find((r) => r.src === `${CLIENT}:50100`)!.label).toBe('ordinary');
    expect(classify([...session(), ...tlsFlow(50100, 443, 30, 1, OTHER)]).find((r) => r.src === `${CLIENT}:50100`)!.label).toBe('ordinary');
    const fromOther = tlsFlow(50100, 443, 30, 1).map((p) => ({ ...p, src: p.src === CLIENT ? '192.0.2.99' : p.src, dst: p.dst === CLIENT ? '192.0.2.99' : p.dst }));
    expect(classify([...session(), ...fromOther]).find((r) => r.src === '192.0.2.99:50100')!.label).toBe('ordinary');
    expect(classify([...tlsFlow(50000, 443, 0, 60), ...tlsFlow(50100, 443, 30, 1)]).every((r) => r.label === 'ordinary')).toBe(true);
    expect(() => createClassifier({ sideConnectionWindowS: -1 })).toThrow(/sideConnectionWindowS/);
  });
});
