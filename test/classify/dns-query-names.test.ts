/**
 * DNS query names as evidence (reference part 3: a lookup of a provider name is weak evidence). Each name is cited
 * once, from the packet that asked for it: the responder's answer repeats the question, and a second lookup of the
 * same name on the same 5-tuple adds nothing.
 */
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { dnsResponse } from '../detect/names/builders.js';
import { CLIENT, type Pkt } from './flow-builders.js';

const RESOLVER = '192.0.2.53';
const A = (ip: string): Uint8Array => Uint8Array.from(ip.split('.').map(Number));

function run(pkts: Pkt[]): FlowRecord[] {
  const s = createClassifier({ vpnDomains: [['nordvpn.com', 'NordVPN'], ['protonvpn.ch', 'Proton VPN']] }).session();
  const out: FlowRecord[] = [];
  s.on('flow', (r: FlowRecord) => out.push(r));
  for (const p of pkts) s.push(buildFrame(p), BigInt(Math.round(p.t * 1e6)) * 1000n);
  s.end();
  return out;
}
const q = (t: number, name: string, tcp = false): Pkt => ({ t, src: CLIENT, dst: RESOLVER, proto: tcp ? 6 : 17, srcPort: 41000, dstPort: 53, payload: dnsResponse(name, [], { qr: false, tcp }) });
const r = (t: number, name: string, tcp = false): Pkt => ({
  t,
  src: RESOLVER,
  dst: CLIENT,
  proto: tcp ? 6 : 17,
  srcPort: 53,
  dstPort: 41000,
  payload: dnsResponse(name, [{ owner: name, type: 1, ttl: 60, data: A('203.0.113.9') }], { tcp }),
});
const items = (rec: FlowRecord) => rec.evidence.filter((e) => e.rule === 'dns.list').map((e) => [e.packet, e.reason.split(' matched')[0]]);

describe('DNS query names', () => {
  it('a query and its answer: one weak item, citing the query (UDP and TCP)', () => {
    for (const tcp of [false, true]) {
      const [rec] = run([q(1, 'api.nordvpn.com', tcp), r(1.01, 'api.nordvpn.com', tcp)]);
      expect(items(rec!)).toEqual([[0, 'packet 0: DNS query name api.nordvpn.com']]);
      expect(rec!.label).toBe('ordinary'); // a lookup is not itself VPN traffic
    }
  });

  it('a second lookup of the same name on the same 5-tuple is not cited again; another listed name is', () => {
    // Names are read from the first packets only (NAME_PACKETS): the second lookup comes before its answer here.
    const [rec] = run([q(1, 'nordvpn.com'), r(1.01, 'nordvpn.com'), q(2, 'nordvpn.com'), q(3, 'protonvpn.ch')]);
    expect(items(rec!)).toEqual([
      [0, 'packet 0: DNS query name nordvpn.com'],
      [3, 'packet 3: DNS query name protonvpn.ch'],
    ]);
  });

  it('a capture that begins with the answer still names the lookup (the question it repeats)', () => {
    const [rec] = run([r(1, 'nordvpn.com')]);
    expect(items(rec!)).toEqual([[0, 'packet 0: DNS query name nordvpn.com']]);
  });
});
