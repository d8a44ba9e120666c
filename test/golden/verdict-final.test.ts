/**
 * Verdict events on the dev corpus (../shared/corpus): every flow gets exactly one `verdict` event, before its
 * `flow` record, and the record's label, registrant and list version are the verdict's (the verdict is emitted
 * only once nothing can change them). Reports the median time to verdict (payload packets) for VPN flows and for
 * flows a name decides (SNI, Host, certificate name on the domain list); the target for the latter is ≤ 2.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import type { VerdictEvent } from '../../src/classify/session.js';
import type { Evidence } from '../../src/detect/types.js';
import { loadDomainList } from '../../src/lists/domains.js';
import { defaultVpnDomainsPath } from '../../src/lists/default-domains.js';
import { readCaptureFile } from '../../src/trace/reader.js';
import { corpusAvailable, listCaptures, loadTruth, PCAP_DIR } from '../helpers/corpus.js';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function hostOf(endpoint: string): string {
  if (endpoint.startsWith('[')) return endpoint.slice(1, endpoint.indexOf(']'));
  const i = endpoint.lastIndexOf(':');
  return i > 0 && endpoint.indexOf(':') === i ? endpoint.slice(0, i) : endpoint;
}

/** A non-weak name item (SNI/Host/certificate name on the list, a certificate naming a provider): decides alone. */
const decidingName = (e: Evidence): boolean => e.kind === 'name' && e.strength !== 'weak' && e.rule !== 'dns-binding.list';

describe.runIf(corpusAvailable())('verdict events on the dev corpus', () => {
  it('one verdict per flow, before its record, with the record’s label, registrant and list version; time to verdict', async () => {
    const domains = await loadDomainList({ path: defaultVpnDomainsPath() }, { source: 'data/vpn-domains.txt' });
    // Register half of the VPN clients, so registrant stability is checked too.
    const clients = [...new Set(loadTruth().filter((t) => t.expect === 'vpn').map((t) => hostOf(t.src)))].sort();
    const registered = clients.filter((_, i) => i % 2 === 0).map((c, i): [string, string] => [`${c}/${c.includes(':') ? 128 : 32}`, `org-${i}`]);
    const classifier = createClassifier({ vpnDomains: domains.entries, registered });
    const vpnAt: number[] = [];
    const nameAt: number[] = [];
    const mismatches: string[] = [];
    let flows = 0, vpn = 0;
    for (const pcap of listCaptures()) {
      const s = classifier.session({ flow: { idleTimeoutSec: 1e6, tcpIdleTimeoutSec: 1e6 } });
      const pending = new Map<string, VerdictEvent[]>();
      const key = (x: { transport: string; src: string; dst: string }): string => `${x.transport} ${x.src} ${x.dst}`;
      s.on('verdict', (v: VerdictEvent) => {
        const k = key(v.flow);
        const l = pending.get(k) ?? [];
        l.push(v);
        pending.set(k, l);
      });
      s.on('flow', (r: FlowRecord) => {
        flows++;
        const l = pending.get(key(r));
        const v = l?.shift();
        if (l && l.length === 0) pending.delete(key(r));
        if (!v) return void mismatches.push(`${pcap} ${key(r)}: record without a verdict event`);
        const a = { label: v.verdict.label, registrant: v.verdict.registrant, listVersion: v.verdict.listVersion };
        const b = { label: r.label, registrant: r.registrant, listVersion: r.listVersion };
        if (JSON.stringify(a) !== JSON.stringify(b)) mismatches.push(`${pcap} ${key(r)}: verdict ${JSON.stringify(a)} record ${JSON.stringify(b)}`);
        if (r.label === 'ordinary') return;
        vpn++;
        vpnAt.push(v.verdict.decidedAtPacket);
        if (r.evidence.some(decidingName)) nameAt.push(v.verdict.decidedAtPacket);
      });
      try {
        await readCaptureFile(join(PCAP_DIR, pcap), (p) => s.pushRaw(p));
      } catch {
        // A truncated capture still yields its complete packets.
      }
      s.end();
      for (const [k, l] of pending) mismatches.push(`${pcap} ${k}: ${l.length} verdict event(s) without a record`);
    }
    console.log(
      `corpus: ${flows} flows, ${vpn} VPN; time to verdict (payload packets): VPN flows median ${median(vpnAt)} ` +
        `(max ${Math.max(...vpnAt)}), name-decided flows (${nameAt.length}) median ${median(nameAt)} (max ${Math.max(...nameAt)})`,
    );
    expect(mismatches).toEqual([]);
    expect(vpn).toBeGreaterThanOrEqual(60);
    expect(nameAt.length).toBeGreaterThan(5);
    expect(median(nameAt)).toBeLessThanOrEqual(2);
  });
});
