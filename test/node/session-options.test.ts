/**
 * The session options the socket adapters rely on (classify/session.ts, additive): `records: false` (verdict
 * events only, none kept), `maxDnsBindings`, `decoder`. Checked against a default session over the sample trace.
 */
import { describe, expect, it } from 'vitest';
import { join, resolve } from 'node:path';
import { createClassifier } from '../../src/classify/classifier.js';
import type { VerdictEvent } from '../../src/classify/session.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { readCaptureFileSync } from '../../src/trace/reader.js';
import { buildFrame } from '../../src/trace/frame-builder.js';

const SAMPLE = join(resolve(import.meta.dirname, '..', '..'), 'fixtures', 'sample.pcap');

function run(options: Parameters<ReturnType<typeof createClassifier>['session']>[0]) {
  const c = createClassifier({ vpnDomains: [['nordvpn.com', 'NordVPN']], registered: [['10.0.0.0/8', 'corp']] });
  const s = c.session(options);
  const verdicts: string[] = [];
  const records: FlowRecord[] = [];
  s.on('verdict', (e: VerdictEvent) => verdicts.push(`${e.flow.src} ${e.flow.dst} ${e.verdict.label} ${e.verdict.decidedAtPacket} ${e.verdict.evidence.map((x) => x.rule).join(',')}`));
  s.on('flow', (r: FlowRecord) => records.push(r));
  readCaptureFileSync(SAMPLE, (raw) => s.pushRaw(raw));
  s.end();
  return { verdicts, records, flows: s.stats.flows, internal: s as unknown as { verdicts: unknown[] } };
}

describe('session options for socket adapters', () => {
  it('records: false emits the same verdict events, one per flow, no flow records, and keeps no verdict', () => {
    const base = run({});
    const lean = run({ records: false });
    expect(lean.records).toEqual([]);
    expect(base.records.length).toBe(base.flows);
    expect(lean.verdicts).toEqual(base.verdicts);
    expect(lean.verdicts.length).toBe(lean.flows);
    expect(lean.internal.verdicts.every((v) => v === undefined)).toBe(true);
  });

  it('maxDnsBindings: 0 reads no DNS answers (no binding evidence); bad values are refused', () => {
    const name = [2, 117, 115, ...Buffer.from('\x07nordvpn\x03com', 'latin1'), 0]; // us.nordvpn.com
    const answer = Uint8Array.from([0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, ...name, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 198, 51, 100, 7]);
    const frames = [
      buildFrame({ src: '192.0.2.53', dst: '10.1.1.1', proto: 17, srcPort: 53, dstPort: 40000, payload: answer }),
      buildFrame({ src: '10.1.1.1', dst: '198.51.100.7', proto: 6, srcPort: 40001, dstPort: 443, tcpFlags: 0x02 }),
      buildFrame({ src: '10.1.1.1', dst: '198.51.100.7', proto: 6, srcPort: 40001, dstPort: 443, payload: Buffer.from('x'.repeat(40)) }),
    ];
    const rules = (max: number | undefined): string[] => {
      const c = createClassifier({ vpnDomains: [['nordvpn.com', 'NordVPN']] });
      const s = c.session(max === undefined ? {} : { maxDnsBindings: max });
      const out: string[] = [];
      s.on('flow', (r: FlowRecord) => out.push(...r.evidence.map((e) => e.rule)));
      frames.forEach((f, i) => s.push(f, 1.7e18 + i * 1e6));
      s.end();
      return out;
    };
    expect(rules(undefined)).toContain('dns-binding.list');
    expect(rules(0)).not.toContain('dns-binding.list');
    const c = createClassifier();
    expect(() => c.session({ maxDnsBindings: -1 })).toThrow(/maxDnsBindings/);
    expect(() => c.session({ maxDnsBindings: 1.5 })).toThrow(/maxDnsBindings/);
  });

  it('decoder options reach the decoder: with maxTunnelDepth 0 a VXLAN datagram is its outer flow', () => {
    const inner = buildFrame({ src: '203.0.113.1', dst: '203.0.113.2', proto: 17, srcPort: 1111, dstPort: 2222, payload: Buffer.from('hello') });
    const vx = buildFrame({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17, srcPort: 5555, dstPort: 4789, payload: Uint8Array.from([0x08, 0, 0, 0, 0, 0, 1, 0, ...inner]) });
    const flows = (depth: number | undefined): string[] => {
      const s = createClassifier().session(depth === undefined ? {} : { decoder: { maxTunnelDepth: depth } });
      const out: string[] = [];
      s.on('flow', (r: FlowRecord) => out.push(`${r.src} ${r.dst}`));
      s.push(vx, 1.7e18);
      s.end();
      return out;
    };
    expect(flows(undefined)).toEqual(['203.0.113.1:1111 203.0.113.2:2222']);
    expect(flows(0)).toEqual(['192.0.2.1:5555 192.0.2.2:4789']);
  });
});
