/**
 * The verdict event is emitted the moment a flow's label (and registrant) can no longer change, and the flow's
 * end record never has another label, registrant or list version:
 * - a VPN label is final at the first packet whose evidence makes the flow a VPN (combine() is monotone; the
 *   registration lookup keeps that packet's list snapshot) — inspection goes on and may refine the protocol;
 * - an ordinary label is final when inspection ends, except for UDP and TLS flows, which a cross-flow relation
 *   found later can still claim: their verdict comes when they end.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createClassifier, type ClassifierOptions } from '../../src/classify/classifier.js';
import { combine } from '../../src/classify/combine.js';
import { decide, FlowDetection, labelIsVpn, type FlowAddresses } from '../../src/classify/engine.js';
import { nextSnapshot } from '../../src/classify/lists.js';
import type { FlowRecord } from '../../src/classify/record.js';
import type { VerdictEvent } from '../../src/classify/session.js';
import type { BoundName } from '../../src/classify/dns-bindings.js';
import type { FlowNames } from '../../src/detect/names/index.js';
import type { Evidence, Strength } from '../../src/detect/types.js';
import { buildFrame, TCP_ACK, TCP_FIN, TCP_SYN } from '../../src/trace/frame-builder.js';
import { helloBody, sniExt, tlsRecord } from '../detect/names/builders.js';
import { bytes, CLIENT, dtlsHello, SERVER, tlsFlow, udpFlow, type Pkt } from './flow-builders.js';
import { rng, wgInit, wgResp } from '../detect/udp-vpn-builders.js';

type Event = { at: number; kind: 'verdict'; v: VerdictEvent } | { at: number; kind: 'record'; r: FlowRecord };

/** Push packets one by one; `between(i)` runs before packet i. Events carry the index of the packet that caused them. */
function run(pkts: Pkt[], options: ClassifierOptions = {}, between?: (i: number, c: ReturnType<typeof createClassifier>) => void): Event[] {
  const c = createClassifier(options);
  const s = c.session();
  const ev: Event[] = [];
  let at = -1;
  s.on('verdict', (v: VerdictEvent) => ev.push({ at, kind: 'verdict', v }));
  s.on('flow', (r: FlowRecord) => ev.push({ at, kind: 'record', r }));
  const sorted = [...pkts].sort((a, b) => a.t - b.t);
  sorted.forEach((p, i) => {
    between?.(i, c);
    at = i;
    s.push(buildFrame(p), BigInt(Math.round(p.t * 1e6)) * 1000n);
  });
  at = sorted.length;
  s.end();
  return ev;
}

const verdictOf = (ev: Event[], transport: string): Extract<Event, { kind: 'verdict' }> => {
  const v = ev.filter((e): e is Extract<Event, { kind: 'verdict' }> => e.kind === 'verdict' && e.v.flow.transport === transport);
  expect(v).toHaveLength(1);
  return v[0]!;
};
const recordOf = (ev: Event[], transport: string): FlowRecord => {
  const r = ev.filter((e): e is Extract<Event, { kind: 'record' }> => e.kind === 'record' && e.r.transport === transport);
  expect(r).toHaveLength(1);
  return r[0]!.r;
};
/** Index (in time order) of the first payload packet of the flow. */
const firstPayload = (pkts: Pkt[], transport: number): number => [...pkts].sort((a, b) => a.t - b.t).findIndex((p) => p.proto === transport && p.payload);

/** A TLS connection to `sni` with a server certificate-less handshake and 12 application-data records. */
function namedTls(sni: string): Pkt[] {
  const flow = tlsFlow(50000, 443, 0, 5);
  const hello = tlsRecord(helloBody({ exts: [sniExt(sni)] }));
  return flow.map((p) => (p.payload && p.payload[0] === 0x16 ? { ...p, payload: hello } : p));
}

describe('verdict as soon as the label is final', () => {
  it('TLS to a listed name: verdict at the ClientHello (packet 1), record with the same label', () => {
    const pkts = namedTls('nl1.nordvpn.com');
    const ev = run(pkts, { vpnDomains: [['nordvpn.com', 'NordVPN']] });
    const v = verdictOf(ev, 'tcp');
    expect(v.at).toBe(firstPayload(pkts, 6));
    expect(v.v.verdict).toMatchObject({ label: 'unregistered_vpn', protocol: 'vpn-provider', decidedAtPacket: 1 });
    const r = recordOf(ev, 'tcp');
    expect(r).toMatchObject({ label: 'unregistered_vpn', decidedAtPacket: 1, listVersion: v.v.verdict.listVersion });
  });
  it('an endpoint-list hit decides at the first payload packet', () => {
    const pkts = namedTls('www.example.com');
    const ev = run(pkts, { vpnEndpoints: [[`${SERVER}/32`, 'corp']] });
    expect(verdictOf(ev, 'tcp')).toMatchObject({ at: firstPayload(pkts, 6), v: { verdict: { label: 'unregistered_vpn', decidedAtPacket: 1 } } });
  });
  it('lists updated after the early verdict: the record keeps its label, registrant and list version', () => {
    const pkts = namedTls('nl1.nordvpn.com');
    const hello = firstPayload(pkts, 6);
    const ev = run(pkts, { vpnDomains: [['nordvpn.com', 'NordVPN']], registered: [[`${CLIENT}/32`, 'acme']] }, (i, c) => {
      // Right after the verdict: drop the name and the registration (a new snapshot, version 2).
      if (i === hello + 1) c.update({ vpnDomains: null, registered: [[`${SERVER}/32`, 'other']] });
    });
    const v = verdictOf(ev, 'tcp').v.verdict;
    expect(v).toMatchObject({ label: 'registered_vpn', registrant: 'acme', listVersion: 1 });
    expect(recordOf(ev, 'tcp')).toMatchObject({ label: 'registered_vpn', registrant: 'acme', listVersion: 1 });
  });
  it('WireGuard: verdict at the response (packet 2), not at the detectors’ budget', () => {
    const c = { src: CLIENT, dst: SERVER, proto: 17, srcPort: 40000, dstPort: 51820 };
    const s = { src: SERVER, dst: CLIENT, proto: 17, srcPort: 51820, dstPort: 40000 };
    const r = rng(7);
    const pkts: Pkt[] = [{ ...c, t: 0, payload: wgInit(0x11223344, r) }, { ...s, t: 0.01, payload: wgResp(0x55667788, 0x11223344, r) }];
    for (let i = 0; i < 10; i++) pkts.push({ ...(i % 2 ? s : c), t: 0.02 + i * 0.01, payload: bytes(64, i) });
    const ev = run(pkts);
    expect(verdictOf(ev, 'udp')).toMatchObject({ at: 1, v: { verdict: { label: 'unregistered_vpn', protocol: 'wireguard', decidedAtPacket: 2 } } });
  });
  it('ordinary TCP (not TLS): verdict when inspection ends, before the flow ends', () => {
    const c = { src: CLIENT, dst: SERVER, proto: 6, srcPort: 50001, dstPort: 8000 };
    const s = { src: SERVER, dst: CLIENT, proto: 6, srcPort: 8000, dstPort: 50001 };
    const pkts: Pkt[] = [{ ...c, t: 0, tcpFlags: TCP_SYN }];
    for (let i = 0; i < 12; i++) pkts.push({ ...(i % 2 ? s : c), t: 0.01 * (i + 1), payload: bytes(100, i) });
    pkts.push({ ...c, t: 1, tcpFlags: TCP_FIN | TCP_ACK });
    const ev = run(pkts);
    const v = verdictOf(ev, 'tcp');
    expect(v.v.verdict.label).toBe('ordinary');
    expect(v.at).toBeLessThan(pkts.length - 1);
  });
  it('ordinary TLS and UDP flows: verdict at the flow’s end, since a data channel or meta connection can still claim them', () => {
    // The TLS flow starts at 0; its DTLS data channel starts at 2 s, after the TLS flow's inspection ended.
    const pkts = [...tlsFlow(50000, 443, 0, 30), ...udpFlow(443, 2, dtlsHello())];
    const ev = run(pkts);
    const tcp = verdictOf(ev, 'tcp');
    const rec = recordOf(ev, 'tcp');
    expect(tcp.v.verdict.label).toBe('unregistered_vpn');
    expect(rec.label).toBe('unregistered_vpn');
    // Emitted with the record, not at the ClientHello.
    const recAt = ev.findIndex((e) => e.kind === 'record' && e.r.transport === 'tcp');
    expect(ev.indexOf(tcp)).toBe(recAt - 1);
    // A lone ordinary UDP flow also gets its verdict when it ends (here: end of input).
    const lone = run(udpFlow(5000, 0, bytes(100, 1)));
    expect(verdictOf(lone, 'udp')).toMatchObject({ at: udpFlow(5000, 0, bytes(100, 1)).length, v: { verdict: { label: 'ordinary' } } });
  });
  it('classifyFlow reports the same decidedAtPacket as a session', () => {
    const c = createClassifier({ vpnDomains: [['nordvpn.com', 'NordVPN']] });
    const hello = tlsRecord(helloBody({ exts: [sniExt('nl1.nordvpn.com')] }));
    const packets = [{ dir: 0 as const, bytes: hello }, ...Array.from({ length: 8 }, (_, i) => ({ dir: (i % 2 ? 0 : 1) as 0 | 1, bytes: Uint8Array.from([0x17, 3, 3, 0, 64, ...bytes(64, i)]) }))];
    const v = c.classifyFlow({ transport: 6, src: CLIENT, dst: SERVER, srcPort: 50000, dstPort: 443, packets });
    expect(v).toMatchObject({ label: 'unregistered_vpn', decidedAtPacket: 1 });
  });
});

describe('labelIsVpn', () => {
  const addrs = (src4: number, dst4: number): FlowAddresses => ({ ipVersion: 4, src4, dst4, addrBytes: () => new Uint8Array(32), src6Off: () => 0, dst6Off: () => 16 });
  const item = fc.record({
    source: fc.constantFrom('wireguard', 'openvpn', 'ike', 'companion', 'forticlient'),
    strength: fc.constantFrom<Strength>('strong', 'medium', 'weak'),
    rule: fc.constantFrom('r1', 'r2'),
    kind: fc.constantFrom<Evidence['kind'] | undefined>(undefined, undefined, 'name', 'relation'),
  }).map((x): Evidence => ({ source: x.source, protocol: x.source, strength: x.strength, rule: x.rule, reason: '', ...(x.kind ? { kind: x.kind } : {}) }));
  const name = fc.record({ kind: fc.constantFrom<FlowNames['kind']>('tls', 'quic', 'dns', 'http', 'cert'), n: fc.constantFrom('vpn.example', 'www.other.test', 'a.vpn.example') }).map((x): FlowNames => {
    const nm: FlowNames = { kind: x.kind, packet: 0 };
    if (x.kind === 'dns') nm.dnsName = x.n;
    else if (x.kind === 'http') nm.host = x.n;
    else if (x.kind === 'cert') nm.cert = { cn: x.n } as FlowNames['cert'] & object;
    else nm.sni = x.n;
    return nm;
  });
  it('property: equals decide(…).label !== ordinary, for any evidence, names, lists and DNS binding', () => {
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 5 }),
        fc.array(name, { maxLength: 3 }),
        fc.boolean(), fc.boolean(), fc.boolean(), fc.constantFrom<'none' | 'within' | 'after' | 'unlisted'>('none', 'within', 'after', 'unlisted'),
        (items, names, endpoints, domains, registered, bind) => {
          const lists = nextSnapshot(null, {
            vpnEndpoints: endpoints ? [['198.51.100.0/24', 'corp']] : null,
            vpnDomains: domains ? [['vpn.example', 'P']] : null,
            registered: registered ? [['192.0.2.0/24', 'acme']] : null,
          });
          const det = new FlowDetection();
          det.evidence = items;
          det.names = names;
          const bound: BoundName | null =
            bind === 'none' ? null : { address: '198.51.100.7', within: bind !== 'after', binding: { chain: [bind === 'unlisted' ? 'x.test' : 'vpn.example'], atUs: 0, untilUs: 1, ttl: 1, answer: 'a' } };
          const f = addrs(0xc000020a, 0xc6336407);
          return labelIsVpn(det, f, lists, bound) === (decide(det, f, lists, 1, null, bound).label !== 'ordinary');
        },
      ),
      { numRuns: 3000 },
    );
  });
  it('property: combine() is monotone — adding items never turns a VPN into ordinary (what makes the early verdict final)', () => {
    const any = fc.record({
      source: fc.constantFrom('wireguard', 'openvpn', 'vpn-endpoints', 'vpn-domains', 'companion', 'registered'),
      strength: fc.constantFrom<Strength>('strong', 'medium', 'weak'),
      rule: fc.constantFrom('r1', 'r2', 'dns-binding.list'),
      kind: fc.constantFrom<Evidence['kind'] | undefined>(undefined, 'name', 'list', 'relation'),
    }).map((x): Evidence => ({ source: x.source, protocol: x.source, strength: x.strength, rule: x.rule, reason: '', ...(x.kind ? { kind: x.kind } : {}) }));
    fc.assert(
      fc.property(fc.array(any, { maxLength: 6 }), fc.array(any, { maxLength: 6 }), (a, b) => !combine(a).isVpn || combine([...a, ...b]).isVpn),
      { numRuns: 5000 },
    );
  });
});
