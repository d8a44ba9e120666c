import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatRegistrations, minimumPackets, synthesize, type SynthOptions, type SynthResult } from '../../src/synth/generate.js';
import { kindCounts, kindShares } from '../../src/synth/mix.js';
import { TunnelscopeError } from '../../src/errors.js';
import { endpointText, flowKey, packetFlowKey, parsePcap, type LitePacket } from './pcap-lite.js';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { readCaptureBuffer } from '../../src/trace/reader.js';
import { VPN_PROVIDER_DOMAINS } from '../../src/synth/names.js';

function gen(o: SynthOptions): { bytes: Uint8Array; res: SynthResult } {
  const parts: Uint8Array[] = [];
  const res = synthesize(o, (c) => parts.push(c.slice()));
  return { bytes: Buffer.concat(parts), res };
}

const BASE: SynthOptions = { packets: 30000, flows: 700, vpnShare: 0.3, registeredShare: 0.4, seed: 11 };
const A = gen(BASE);
const parsed = parsePcap(A.bytes);

/** Naive CIDR containment over address text (oracle for the registration list). */
function toBig(ip: string): { v: 4 | 6; n: bigint } {
  if (ip.includes(':')) {
    const [h, t] = ip.split('::') as [string, string | undefined];
    const hs = h === '' ? [] : h.split(':');
    const ts = t === undefined ? [] : t === '' ? [] : t.split(':');
    const groups = t === undefined ? hs : [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts];
    return { v: 6, n: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
  }
  return { v: 4, n: ip.split('.').reduce((acc, x) => (acc << 8n) | BigInt(Number(x)), 0n) };
}
function contains(cidr: string, ip: string): boolean {
  const [net, len] = cidr.split('/') as [string, string];
  const a = toBig(net), b = toBig(ip);
  if (a.v !== b.v) return false;
  const bits = BigInt(a.v === 4 ? 32 : 128), l = BigInt(Number(len));
  return a.n >> (bits - l) === b.n >> (bits - l);
}
const hostOf = (ep: string): string => (ep.startsWith('[') ? ep.slice(1, ep.indexOf(']')) : ep.includes(':') && !ep.includes('::') && ep.split(':').length === 2 ? ep.split(':')[0]! : ep);

describe('synthesize: determinism and framing', () => {
  it('same options give identical bytes, truth and list', () => {
    const B = gen(BASE);
    expect(Buffer.compare(A.bytes, B.bytes)).toBe(0);
    expect(B.res.truth).toEqual(A.res.truth);
    expect(B.res.registrations).toEqual(A.res.registrations);
  });

  it('a different seed gives a different capture', () => {
    const C = gen({ ...BASE, seed: 12 });
    expect(Buffer.compare(A.bytes, C.bytes)).not.toBe(0);
    expect(C.res.truth).not.toEqual(A.res.truth);
  });

  it('writes exactly --packets Ethernet records whose lengths add up to the file', () => {
    expect(parsed.linkType).toBe(1);
    expect(parsed.records).toBe(BASE.packets);
    expect(A.bytes.length).toBe(A.res.fileBytes);
    const frames = parsed.packets.reduce((s, p) => s + p.frameLen, 0);
    expect(frames).toBe(A.res.frameBytes);
  });

  it('timestamps strictly increase and stay in a short trace', () => {
    const ps = parsed.packets;
    for (let i = 1; i < ps.length; i++) expect(ps[i]!.tsUs).toBeGreaterThan(ps[i - 1]!.tsUs);
    expect(ps[ps.length - 1]!.tsUs - ps[0]!.tsUs).toBeLessThan(600e6);
  });
});

describe('synthesize: truth', () => {
  const byFlow = new Map<string, LitePacket[]>();
  for (const p of parsed.packets) {
    const k = packetFlowKey(p);
    let l = byFlow.get(k);
    if (!l) byFlow.set(k, (l = []));
    l.push(p);
  }

  it('one truth line per distinct flow in the capture, with its packet count', () => {
    expect(A.res.truth.length).toBe(BASE.flows);
    const keys = new Set(A.res.truth.map((t) => flowKey(t.transport, t.src, t.dst)));
    expect(keys.size).toBe(BASE.flows);
    expect(new Set(byFlow.keys())).toEqual(keys);
    for (const t of A.res.truth) expect(byFlow.get(flowKey(t.transport, t.src, t.dst))!.reduce((s, p) => s + p.frames, 0)).toBe(t.packets);
    expect(A.res.truth.reduce((s, t) => s + t.packets, 0)).toBe(BASE.packets);
  });

  it('the truth src is the side that sends first; idle gaps inside a flow stay below 60 s', () => {
    for (const t of A.res.truth) {
      const ps = byFlow.get(flowKey(t.transport, t.src, t.dst))!;
      // TCP: the SYN comes from the client; every UDP/IP kind opens with a client packet.
      expect(endpointText(ps[0]!, 'src')).toBe(t.src);
      for (let i = 1; i < ps.length; i++) expect(ps[i]!.tsUs - ps[i - 1]!.tsUs).toBeLessThan(60e6);
    }
  });

  it('shares: VPN flows = round(flows·vpnShare), registered = round(VPN·registeredShare), ~20% IPv6', () => {
    const vpn = A.res.truth.filter((t) => t.expect === 'vpn');
    expect(vpn.length).toBe(Math.round(BASE.flows * BASE.vpnShare));
    expect(vpn.filter((t) => t.registered).length).toBe(Math.round(vpn.length * BASE.registeredShare));
    const v6 = parsed.packets.filter((p) => p.v6).length;
    const v6Flows = A.res.truth.filter((t) => hostOf(t.src).includes(':')).length / BASE.flows;
    expect(v6Flows).toBeGreaterThan(0.14);
    expect(v6Flows).toBeLessThan(0.26);
    expect(v6).toBeGreaterThan(0);
    const mean = A.res.frameBytes / BASE.packets;
    expect(Math.abs(mean - 620)).toBeLessThan(40);
  });

  it('registration list: registered ⇔ client inside a listed prefix of the same registrant; ordinary stays ordinary', () => {
    const text = formatRegistrations(A.res.registrations, 'test');
    const entries = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(',') as [string, string]);
    expect(entries.length).toBe(A.res.registrations.length);
    const lens = new Set(entries.map(([c]) => c.split('/')[1]));
    for (const l of ['32', '24', '128', '48']) expect(lens.has(l)).toBe(true);
    for (const t of A.res.truth) {
      const host = hostOf(t.src);
      const hits = entries.filter(([c]) => contains(c, host));
      expect(hits.length <= 1).toBe(true);
      expect(hits.length === 1).toBe(t.registered);
      expect(hits[0]?.[1] ?? null).toBe(t.registrant);
      // Nothing of the server side is ever registered.
      expect(entries.some(([c]) => contains(c, hostOf(t.dst)))).toBe(false);
      if (t.expect === 'ordinary') expect(t.protocol).toBeNull();
    }
    expect(A.res.truth.some((t) => t.expect === 'ordinary' && t.registered)).toBe(true);
    // Wider prefixes cover several clients.
    const multi = entries.filter(([c]) => /\/(24|48)$/.test(c)).some(([c]) => new Set(A.res.truth.filter((t) => contains(c, hostOf(t.src))).map((t) => hostOf(t.src))).size > 1);
    expect(multi).toBe(true);
  });

  it('some DNS flows are the lookup before a VPN flow; classified, those VPN flows carry the DNS binding and no label changes', () => {
    const c = createClassifier({ vpnDomains: VPN_PROVIDER_DOMAINS.map((d) => [d, 'provider'] as [string, string]) });
    const s = c.session();
    const recs: FlowRecord[] = [];
    s.on('flow', (r: FlowRecord) => recs.push(r));
    readCaptureBuffer(A.bytes, 'synth', (raw) => s.pushRaw(raw));
    s.end();
    const host = (ep: string): string => (ep.startsWith('[') ? ep.slice(1, ep.indexOf(']')) : ep.split(':')[0]!);
    const vpnPairs = new Set(A.res.truth.filter((t) => t.expect === 'vpn').map((t) => `${host(t.src)}>${host(t.dst)}`));
    const vpnFlows = A.res.truth.filter((t) => t.expect === 'vpn').length;
    let bound = 0;
    for (const r of recs) {
      const b = r.evidence.find((e) => e.rule === 'dns-binding.list');
      if (!b) continue;
      // Bindings land only on flows between a VPN client and its server (VPN servers serve no ordinary flow).
      expect(vpnPairs.has(`${host(r.src)}>${host(r.dst)}`)).toBe(true);
      expect(r.label).not.toBe('ordinary');
      bound++;
    }
    expect(bound).toBeGreaterThan(vpnFlows * 0.05);
    expect(recs.filter((r) => r.label !== 'ordinary').length).toBe(vpnFlows);
  });

  it('registered share 0 and 1 are exact', () => {
    for (const share of [0, 1]) {
      const r = synthesize({ ...BASE, packets: 8000, flows: 200, registeredShare: share }, () => {});
      const vpn = r.truth.filter((t) => t.expect === 'vpn');
      expect(vpn.every((t) => t.registered === (share === 1))).toBe(true);
      if (share === 0) expect(r.registrations.length).toBe(0);
    }
  });
});

describe('mix', () => {
  it('reproduces the perf recipe at vpn-share 0.24 (flow shares within 1.5 points)', () => {
    const counts = new Map(kindCounts(50000, 0.24).map(({ kind, count }) => [kind.key, count / 50000]));
    const recipe: Record<string, number> = {
      tls: 0.3, dns: 0.19, quic: 0.16, http: 0.12, wireguard: 0.06, 'openvpn-udp': 0.04, ike: 0.04, esp: 0.04,
      'tls-vpn-provider': 0.04, 'openvpn-tcp': 0.02,
    };
    for (const [k, share] of Object.entries(recipe)) expect(Math.abs(counts.get(k)! - share)).toBeLessThan(0.015);
  });

  it('counts are exact, sum to flows and track the shares (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100000 }), fc.double({ min: 0, max: 1, noNaN: true }), (flows, vpn) => {
        const c = kindCounts(flows, vpn);
        expect(c.reduce((s, x) => s + x.count, 0)).toBe(flows);
        expect(c.filter((x) => x.kind.expect === 'vpn').reduce((s, x) => s + x.count, 0)).toBe(Math.round(flows * vpn));
        const shares = kindShares(vpn);
        for (const { kind, count } of c) {
          expect(count).toBeGreaterThanOrEqual(0);
          expect(Math.abs(count - shares.find((s) => s.kind === kind)!.share * flows)).toBeLessThan(2);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('vpn-share 0 has no VPN flows; vpn-share 1 has only VPN flows', () => {
    const r0 = synthesize({ ...BASE, packets: 5000, flows: 150, vpnShare: 0 }, () => {});
    expect(r0.truth.every((t) => t.expect === 'ordinary')).toBe(true);
    const r1 = synthesize({ ...BASE, packets: 5000, flows: 150, vpnShare: 1 }, () => {});
    expect(r1.truth.every((t) => t.expect === 'vpn')).toBe(true);
  });
});

describe('validation', () => {
  it('rejects too few packets and out-of-range shares with TS_INVALID_ARG', () => {
    const min = minimumPackets(100, 0.24);
    const bad: SynthOptions[] = [
      { ...BASE, vpnShare: 0.24, flows: 100, packets: min - 1 },
      { ...BASE, vpnShare: 1.5 },
      { ...BASE, registeredShare: -0.1 },
      { ...BASE, flows: 0 },
      { ...BASE, ipv6Share: 2 },
      { ...BASE, meanSize: 10 },
    ];
    for (const o of bad) {
      let err: unknown;
      try { synthesize(o, () => {}); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(TunnelscopeError);
      expect((err as TunnelscopeError).code).toBe('TS_INVALID_ARG');
    }
    expect(synthesize({ ...BASE, vpnShare: 0.24, flows: 100, packets: min }, () => {}).packets).toBe(min);
  });

  it('any small valid configuration yields exactly the requested packets and flows (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 400 }), fc.nat(), (flows, vpn, reg, extra, seed) => {
          const packets = minimumPackets(flows, vpn) + extra;
          const { bytes, res } = gen({ packets, flows, vpnShare: vpn, registeredShare: reg, seed });
          const p = parsePcap(bytes);
          expect(p.records).toBe(packets);
          expect(res.truth.length).toBe(flows);
          expect(new Set(p.packets.map(packetFlowKey)).size).toBe(flows);
        }),
      { numRuns: 25 },
    );
  });
});
