/**
 * Detector exclusion (Detector.excludes) on real captures: the dev corpus classified with the built-in detectors
 * and with the same detectors stripped of `excludes` gives every flow the same label, protocol, registrant,
 * confidence and evidence, at the same or an earlier packet (earlier: ordinary flows, and flows a relation to
 * another flow labels when inspection ends — tinc's encrypted UDP tied to its meta connection). Then the gain:
 * random UDP is final at its 4th payload packet (the name packets) instead of the 24 of OpenVPN's budget.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { DETECTORS } from '../../src/detect/registry.js';
import type { Detector } from '../../src/detect/types.js';
import { IPPROTO_UDP } from '../../src/detect/types.js';
import { DetectorTable, FlowDetection, NAME_PACKETS, PENDING_AFTER } from '../../src/classify/engine.js';
import { loadDomainList } from '../../src/lists/domains.js';
import { defaultVpnDomainsPath } from '../../src/lists/default-domains.js';
import { readCaptureFile } from '../../src/trace/reader.js';
import { corpusAvailable, listCaptures, PCAP_DIR } from '../helpers/corpus.js';
import { ArrayFlowView } from '../../src/detect/array-flow.js';
import { randomBytes, rng } from '../detect/udp-vpn-builders.js';

const NO_EXCLUSION: readonly Detector[] = DETECTORS.map(({ excludes: _, ...d }) => d);

async function records(detectors: readonly Detector[]): Promise<Map<string, FlowRecord>> {
  const domains = await loadDomainList({ path: defaultVpnDomainsPath() }, { source: 'data/vpn-domains.txt' });
  const classifier = createClassifier({ vpnDomains: domains.entries, detectors });
  const out = new Map<string, FlowRecord>();
  for (const pcap of listCaptures()) {
    const s = classifier.session({ flow: { idleTimeoutSec: 1e6, tcpIdleTimeoutSec: 1e6 } });
    s.on('flow', (r: FlowRecord) => out.set(`${pcap}|${r.transport} ${r.src} ${r.dst} ${r.vlan ?? ''} ${r.encap ?? ''} ${r.firstSeen}`, r));
    try {
      await readCaptureFile(join(PCAP_DIR, pcap), (p) => s.pushRaw(p));
    } catch {
      // A truncated capture still yields its complete packets (the golden flow test covers reader errors).
    }
    s.end();
  }
  return out;
}

const verdictOf = (r: FlowRecord): string =>
  JSON.stringify([r.label, r.protocol, r.registrant, r.confidence, r.evidence.map((e) => [e.source, e.rule, e.strength, e.packet, e.reason])]);

describe.skipIf(!corpusAvailable())('detector exclusion on the dev corpus', () => {
  it('changes no verdict; a flow may be final earlier, never later', async () => {
    const [withEx, without] = await Promise.all([records(DETECTORS), records(NO_EXCLUSION)]);
    expect(withEx.size).toBe(without.size);
    expect(withEx.size).toBeGreaterThan(1_500);
    let earlier = 0;
    const diffs: string[] = [];
    for (const [k, a] of withEx) {
      const b = without.get(k);
      expect(b, k).toBeDefined();
      if (verdictOf(a) !== verdictOf(b!)) diffs.push(`${k}: ${verdictOf(a)} vs ${verdictOf(b!)}`);
      if (a.decidedAtPacket > b!.decidedAtPacket) {
        diffs.push(`${k}: ${a.label} decided at packet ${a.decidedAtPacket} vs ${b!.decidedAtPacket}`);
      }
      if (a.decidedAtPacket < b!.decidedAtPacket) earlier++;
    }
    expect(diffs).toEqual([]);
    // The corpus has UDP flows of games, RTP, STUN and the like: some must now end their inspection early.
    expect(earlier).toBeGreaterThan(10);
  }, 120_000);
});

describe('random UDP is final at its name packets', () => {
  it('with exclusion ≥ 90 % of random flows are final at packet 4 and all by 12; without, none before 8', () => {
    const table = new DetectorTable(DETECTORS);
    const plain = new DetectorTable(NO_EXCLUSION);
    const rnd = rng(12345);
    const finalAt = (t: DetectorTable, packets: Uint8Array[]): number => {
      const v = new ArrayFlowView({ transport: IPPROTO_UDP, srcPort: 40000, dstPort: 50000 });
      const det = new FlowDetection();
      for (let n = 0; n < packets.length; n++) {
        v.push({ dir: n % 3 === 2 ? 1 : 0, bytes: packets[n]! });
        if (det.inspect(v, t)) return n + 1;
      }
      return -1;
    };
    const flows = 1_000;
    let atNames = 0, byTwelve = 0, plainEarly = 0;
    for (let k = 0; k < flows; k++) {
      const packets: Uint8Array[] = [];
      for (let n = 0; n < 30; n++) {
        packets.push(randomBytes(64 + ((rnd() << 8) | rnd()) % 448, rnd));
      }
      const at = finalAt(table, packets);
      if (at === NAME_PACKETS) atNames++;
      if (at > 0 && at <= 12) byTwelve++;
      if (finalAt(plain, packets) < PENDING_AFTER) plainEarly++;
    }
    // Without exclusion a random flow runs to PENDING_AFTER packets (beyond it only with a medium item pending).
    expect(plain.packetBudget(IPPROTO_UDP, 0)).toBe(24);
    expect(plainEarly).toBe(0);
    // Survivors at packet 4 are mostly ZeroTier look-alikes (half of random headers pass its per-packet checks):
    // final when its 12-packet budget is spent.
    expect(atNames).toBeGreaterThanOrEqual(flows * 0.9);
    expect(byTwelve).toBe(flows);
  });
});
