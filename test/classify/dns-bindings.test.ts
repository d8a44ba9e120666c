/**
 * DNS answer binding (reference part 3, "VPN-provider names"): a flow from a client to an address a DNS answer
 * bound to a listed name inherits the name — medium within the answer's TTL (capped at 1 h), weak after — and that
 * item corroborates structure but never makes a tunnel alone.
 */
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { buildFrame, TCP_ACK, TCP_SYN } from '../../src/trace/frame-builder.js';
import { dnsResponse, type DnsRec } from '../detect/names/builders.js';
import { randomBytes, rng, wgInit } from '../detect/udp-vpn-builders.js';
import { bytes, CLIENT, OTHER, SERVER, type Pkt } from './flow-builders.js';

const RESOLVER = '192.0.2.53';
const LIST: [string, string][] = [['nordvpn.com', 'NordVPN']];

function ipBytes(ip: string): Uint8Array {
  return Uint8Array.from(ip.split('.').map(Number));
}

/** The resolver's answer to CLIENT for `qname` (records: A of `addr` for the last name of `cnames`). */
function answer(t: number, qname: string, addr: string, ttl: number, cnames: string[] = [], client = CLIENT): Pkt {
  const recs: DnsRec[] = [];
  let owner = qname;
  for (const c of cnames) {
    recs.push({ owner, type: 5, ttl, data: c });
    owner = c;
  }
  recs.push({ owner, type: 1, ttl, data: ipBytes(addr) });
  return { t, src: RESOLVER, dst: client, proto: 17, srcPort: 53, dstPort: 41000, payload: dnsResponse(qname, recs) };
}
function query(t: number, client = CLIENT): Pkt {
  return { t, src: client, dst: RESOLVER, proto: 17, srcPort: 41000, dstPort: 53, payload: Uint8Array.of(0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0, 0, 1, 0, 1) };
}

/** A lone WireGuard initiation: one medium structural item (wg.init), not a tunnel by itself. */
function loneInit(t: number, server = SERVER, client = CLIENT): Pkt {
  return { t, src: client, dst: server, proto: 17, srcPort: 40001, dstPort: 51820, payload: wgInit(0x01020304, rng(7)) };
}

/** A TCP flow with random payload (nothing structural). */
function plainTcp(t: number, server = SERVER): Pkt[] {
  const c = { src: CLIENT, dst: server, proto: 6, srcPort: 45000, dstPort: 8443 };
  const s = { src: server, dst: CLIENT, proto: 6, srcPort: 8443, dstPort: 45000 };
  return [
    { ...c, t, tcpFlags: TCP_SYN },
    { ...s, t: t + 0.01, tcpFlags: TCP_SYN | TCP_ACK },
    { ...c, t: t + 0.02, payload: randomBytes(300, rng(3)) },
    { ...s, t: t + 0.03, payload: bytes(500, 9) },
  ];
}

function run(pkts: Pkt[], vpnDomains: [string, string][] | null = LIST, between?: (c: ReturnType<typeof createClassifier>) => void, splitAt = Infinity): FlowRecord[] {
  const c = createClassifier({ vpnDomains }); // null: no domain list at all (the default is the bundled one)
  const s = c.session();
  const out: FlowRecord[] = [];
  s.on('flow', (r: FlowRecord) => out.push(r));
  let switched = false;
  for (const p of [...pkts].sort((a, b) => a.t - b.t)) {
    if (!switched && p.t >= splitAt) {
      between?.(c);
      switched = true;
    }
    s.push(buildFrame(p), BigInt(Math.round(p.t * 1e6)) * 1000n);
  }
  s.end();
  return out;
}

const flowTo = (recs: FlowRecord[], dst: string, src = CLIENT): FlowRecord => recs.find((r) => r.dst.startsWith(dst + ':') && r.src.startsWith(src + ':'))!;
const bindingItem = (r: FlowRecord) => r.evidence.find((e) => e.rule === 'dns-binding.list');

describe('DNS answer binding', () => {
  it('without an answer, a lone WireGuard initiation stays ordinary (one medium item)', () => {
    const r = flowTo(run([loneInit(1)]), SERVER);
    expect(r.label).toBe('ordinary');
    expect(r.evidence.some((e) => e.rule === 'wg.init' && e.strength === 'medium')).toBe(true);
  });

  it('an answer binding the server to a listed name corroborates it: unregistered_vpn, wireguard, medium binding item citing the answer', () => {
    const r = flowTo(run([query(0), answer(0.01, 'de-fra.nordvpn.com', SERVER, 300), loneInit(1)]), SERVER);
    expect(r.label).toBe('unregistered_vpn');
    expect(r.protocol).toBe('wireguard');
    expect(r.confidence).toBe(0.9);
    const b = bindingItem(r)!;
    expect(b.strength).toBe('medium');
    expect(b.reason).toContain(`dst ${SERVER} was returned for de-fra.nordvpn.com`);
    expect(b.reason).toContain(`from ${RESOLVER}:53 to ${CLIENT}:41000`);
    expect(b.reason).toContain("list entry 'nordvpn.com' (NordVPN)");
    expect(b.reason).toContain('TTL 300 s');
  });

  it('follows the CNAME chain to the listed name', () => {
    const r = flowTo(run([answer(0, 'vpn.corp.example', SERVER, 60, ['edge7.nordvpn.com']), loneInit(1)]), SERVER);
    expect(r.label).toBe('unregistered_vpn');
    expect(bindingItem(r)!.reason).toContain('CNAME chain vpn.corp.example → edge7.nordvpn.com');
  });

  it('alone it is not a tunnel: a plain TCP flow to the bound address stays ordinary, with the medium item', () => {
    const r = flowTo(run([answer(0, 'nordvpn.com', SERVER, 300), ...plainTcp(1)]), SERVER);
    expect(r.label).toBe('ordinary');
    expect(bindingItem(r)!.strength).toBe('medium');
  });

  it('after the TTL the item is weak and corroborates nothing; the TTL is capped at one hour', () => {
    const late = flowTo(run([answer(0, 'nordvpn.com', SERVER, 300), loneInit(301)]), SERVER);
    expect(late.label).toBe('ordinary');
    expect(bindingItem(late)!.strength).toBe('weak');
    const capped = flowTo(run([answer(0, 'nordvpn.com', SERVER, 86400), loneInit(3601)]), SERVER);
    expect(bindingItem(capped)!.strength).toBe('weak');
    const inside = flowTo(run([answer(0, 'nordvpn.com', SERVER, 86400), loneInit(3599)]), SERVER);
    expect(bindingItem(inside)!.strength).toBe('medium');
  });

  it('binds only for the client that asked, only the answered address, only listed names, only with a domain list', () => {
    const other = '192.0.2.77';
    const recs = run([answer(0, 'nordvpn.com', SERVER, 300), loneInit(1, SERVER, other), loneInit(1.5, OTHER)]);
    expect(bindingItem(flowTo(recs, SERVER, other))).toBeUndefined();
    expect(bindingItem(flowTo(recs, OTHER))).toBeUndefined();
    expect(bindingItem(flowTo(run([answer(0, 'example.org', SERVER, 300), loneInit(1)]), SERVER))).toBeUndefined();
    expect(bindingItem(flowTo(run([answer(0, 'nordvpn.com', SERVER, 300), loneInit(1)], null), SERVER))).toBeUndefined();
  });

  it('a flow that started before the answer is not bound by it', () => {
    const pk = [loneInit(0), { ...loneInit(2), payload: wgInit(0x0a0b0c0d, rng(8)) }, answer(1, 'nordvpn.com', SERVER, 300)];
    expect(bindingItem(flowTo(run(pk), SERVER))).toBeUndefined();
  });

  it('the verdict matches the binding against its own list version: a list update after the answer decides', () => {
    const pk = [answer(0, 'nordvpn.com', SERVER, 300), loneInit(5)];
    const dropped = flowTo(run(pk, LIST, (c) => c.update({ vpnDomains: [['example.net', 'X']] }), 2), SERVER);
    expect(bindingItem(dropped)).toBeUndefined();
    expect(dropped.label).toBe('ordinary');
    const kept = flowTo(run(pk, LIST, (c) => c.update({ vpnDomains: [['nordvpn.com', 'NordVPN (v2)']] }), 2), SERVER);
    expect(bindingItem(kept)!.reason).toContain('NordVPN (v2)');
    expect(kept.listVersion).toBe(2);
  });
});
