/**
 * A flow matched through a range line (`FIRST-LAST`) names the range the operator wrote, not the prefix the
 * loader split it into (10.0.0.8/29 appears nowhere in the file, so an operator cannot grep for it). Found by
 * classifying a synth capture against a list of ranges: evidence said "registered prefix 172.28.3.192/28". The
 * pool's workers see the lists through packed maps: their verdicts must name the same text.
 */
import { describe, expect, it } from 'vitest';
import { parseCidrList } from '../../src/lists/cidr-list.js';
import { writtenEntryAt } from '../../src/lists/entry-names.js';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { fromWireCidr, sharedCidr, toWire } from '../../src/pool/protocol.js';
import { CLIENT, espFlowRecord, SERVER } from '../classify/flow-builders.js';

const run = espFlowRecord;

const reasons = (r: FlowRecord, rule: string): string[] => r.evidence.filter((e) => e.rule === rule).map((e) => e.reason);

// CLIENT 192.0.2.10 lies in 192.0.2.8/30, a piece of the range; SERVER 198.51.100.7 in 198.51.100.4/30.
const REG = '# ranges\n192.0.2.5 - 192.0.2.20, acme\n10.0.0.0/8,corp\n';
const EP = '198.51.100.3-198.51.100.9,provider-x\n';

describe('evidence of a hit through a range names the range as written', () => {
  it('registered and endpoint lists: the range line, blanks and all; a plain prefix line still names its prefix', () => {
    const names = { registered: 'reg.txt', vpnEndpoints: 'ep.txt' };
    const r = run({ registered: parseCidrList(REG).toMap(), vpnEndpoints: parseCidrList(EP).toMap(), names });
    expect(r.label).toBe('registered_vpn');
    expect(reasons(r, 'registered.prefix')).toEqual([`src ${CLIENT} is in registered range '192.0.2.5 - 192.0.2.20' (registrant acme) of reg.txt v1`]);
    expect(reasons(r, 'endpoint.list')).toEqual([`dst ${SERVER} is in VPN endpoint list range '198.51.100.3-198.51.100.9' (provider-x) of ep.txt v1`]);
    const plain = run({ registered: parseCidrList('192.0.2.0/24,acme\n').toMap(), names });
    expect(reasons(plain, 'registered.prefix')).toEqual([`src ${CLIENT} is in registered prefix 192.0.2.0/24 (registrant acme) of reg.txt v1`]);
  });

  it('every prefix of a range (IPv4 and IPv6) maps back to its line; a prefix line and a repeat keep their own', () => {
    const l = parseCidrList('10.0.0.1-10.0.0.6,a\n2001:db8::-2001:db8::1:0\n10.0.0.2/31,a\n192.0.2.0/24,b\n');
    const m = l.toMap();
    const named = new Map<string, string | null>();
    for (let i = 0; i < m.size; i++) named.set(m.prefixAt(i), writtenEntryAt(m, i));
    expect(Object.fromEntries(named)).toEqual({
      '10.0.0.1/32': '10.0.0.1-10.0.0.6',
      '10.0.0.2/31': '10.0.0.1-10.0.0.6', // the range came first: the repeat on line 3 is dropped
      '10.0.0.4/31': '10.0.0.1-10.0.0.6',
      '10.0.0.6/32': '10.0.0.1-10.0.0.6',
      '192.0.2.0/24': null,
      '2001:db8::/112': '2001:db8::-2001:db8::1:0',
      '2001:db8::1:0/128': '2001:db8::-2001:db8::1:0',
    });
    // Whatever blank a line put around the dash is printed escaped.
    const odd = parseCidrList('10.0.0.1\u2028-10.0.0.2\n').toMap();
    expect(writtenEntryAt(odd, 0)).toBe('10.0.0.1\\u2028-10.0.0.2');
  });

  it("the pool's shared view and a worker's view of the wire name the same range", () => {
    const reg = sharedCidr(parseCidrList(REG).toMap())!;
    const ep = sharedCidr(parseCidrList(EP).toMap())!;
    const names = { registered: 'reg.txt', vpnEndpoints: 'ep.txt' };
    const main = run({ registered: reg, vpnEndpoints: ep, names });
    const c = createClassifier({ registered: reg, vpnEndpoints: ep, names });
    const w = toWire(c.lists);
    const worker = run({ registered: fromWireCidr(w.registered, { snapshot: true })!, vpnEndpoints: fromWireCidr(w.vpnEndpoints, { snapshot: true })!, names });
    expect(reasons(main, 'registered.prefix')[0]).toContain("registered range '192.0.2.5 - 192.0.2.20'");
    expect(reasons(main, 'endpoint.list')[0]).toContain("list range '198.51.100.3-198.51.100.9'");
    expect(worker.evidence).toEqual(main.evidence);
  });
});
