/**
 * A flow-table memory cap that stops a flow's recording while its detectors still want packets (the snippet pool
 * full when the flow starts, `maxCapturingFlows`; the long tier full at its 8th packet, `maxLongCapturingFlows`)
 * must not pass silently: the flow's verdict and record say `captureCapped`, an ordinary verdict on it is not given
 * the confidence of a flow seen whole, and the records that say so are exactly the flows the table counted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import type { VerdictEvent } from '../../src/classify/session.js';
import type { FlowTableOptions } from '../../src/trace/flow-table.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { ovpnDataV2, randomBytes, rng, wgData, wgInit, wgResp } from '../detect/udp-vpn-builders.js';
import { CLIENT, SERVER, type Pkt } from './flow-builders.js';

type Kind = 'random' | 'wireguard' | 'openvpn-data';

/** `n` payload packets of one UDP flow on client port `port`, alternating directions from the client. */
function flow(kind: Kind, port: number, n: number, seed: number): Pkt[] {
  const r = rng(seed);
  const dport = kind === 'wireguard' ? 51820 : kind === 'openvpn-data' ? 1194 : 9000;
  const out: Pkt[] = [];
  for (let i = 0; i < n; i++) {
    const dir = i % 2;
    const payload =
      kind === 'random' ? randomBytes(60 + (i % 7) * 13, r)
      : kind === 'wireguard' ? (i === 0 ? wgInit(0x1000 + port, r) : i === 1 ? wgResp(0x2000 + port, 0x1000 + port, r) : wgData(dir ? 0x1000 + port : 0x2000 + port, i, 96, r))
      : ovpnDataV2(0x48, 0x00a1b2, (dir ? 70_000 : 50_000) + (i >> 1), 84 + ((i * 16) % 64), r);
    out.push(dir === 0
      ? { src: CLIENT, dst: SERVER, proto: 17, srcPort: port, dstPort: dport, t: 0, payload }
      : { src: SERVER, dst: CLIENT, proto: 17, srcPort: dport, dstPort: port, t: 0, payload });
  }
  return out;
}

/** Flows interleaved packet by packet (flow k's i-th packet at time i + k/100), classified in one session. */
function run(flows: Pkt[][], flowOpts: FlowTableOptions = {}): { records: FlowRecord[]; verdicts: VerdictEvent[]; skipped: number; short: number } {
  const s = createClassifier().session({ flow: flowOpts });
  const records: FlowRecord[] = [];
  const verdicts: VerdictEvent[] = [];
  s.on('flow', (x: FlowRecord) => records.push(x));
  s.on('verdict', (v: VerdictEvent) => verdicts.push(v));
  const longest = Math.max(...flows.map((f) => f.length));
  for (let i = 0; i < longest; i++) {
    flows.forEach((f, k) => {
      const p = f[i];
      if (p) s.push(buildFrame(p), BigInt(Math.round((1 + i + k / 100) * 1e6)) * 1000n);
    });
  }
  s.end();
  return { records, verdicts, skipped: s.flowStats.captureSkipped, short: s.flowStats.captureShort };
}

describe('inspection cut by a flow-table cap', () => {
  it('a flow that starts while the snippet pool is full is not inspected, and its record says so', () => {
    // The random flow holds the only snippet slot until its 4th packet; the WireGuard handshake starts beside it.
    const { records, verdicts, skipped } = run([flow('random', 40000, 6, 1), flow('wireguard', 40001, 6, 2)], { maxCapturingFlows: 1 });
    expect(skipped).toBe(1);
    const wg = records.find((x) => x.dst.endsWith(':51820'))!;
    expect([wg.label, wg.captureCapped, wg.decidedAtPacket]).toEqual(['ordinary', true, 0]);
    expect(wg.confidence).toBeLessThanOrEqual(0.6);
    // The verdict event carries the same flag (an embedder acting on verdicts alone sees it too).
    expect(verdicts.find((v) => v.flow.dst.endsWith(':51820'))!.verdict.captureCapped).toBe(true);
    const other = records.find((x) => x.dst.endsWith(':9000'))!;
    expect('captureCapped' in other).toBe(false);
    // Without the cap the same handshake is WireGuard and nothing is flagged.
    const free = run([flow('random', 40000, 6, 1), flow('wireguard', 40001, 6, 2)]);
    expect(free.records.find((x) => x.dst.endsWith(':51820'))!.protocol).toBe('wireguard');
    expect(free.records.some((x) => x.captureCapped)).toBe(false);
  });

  it('property: the flagged records are exactly the flows the table counted; ordinary ones among them at ≤ 0.6', () => {
    const kinds: Kind[] = ['random', 'wireguard', 'openvpn-data'];
    fc.assert(
      fc.property(
        fc.array(fc.record({ kind: fc.constantFrom(...kinds), n: fc.integer({ min: 1, max: 22 }), seed: fc.integer({ min: 1, max: 1e6 }) }), { minLength: 1, maxLength: 7 }),
        fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
        (specs, maxCapturingFlows, maxLongCapturingFlows) => {
          const opts: FlowTableOptions = {};
          if (maxCapturingFlows !== undefined) opts.maxCapturingFlows = maxCapturingFlows;
          if (maxLongCapturingFlows !== undefined) opts.maxLongCapturingFlows = maxLongCapturingFlows;
          const { records, verdicts, skipped, short } = run(specs.map((x, k) => flow(x.kind, 40000 + k, x.n, x.seed)), opts);
          expect(records).toHaveLength(specs.length);
          const flagged = records.filter((x) => x.captureCapped === true);
          expect(flagged.length).toBe(skipped + short);
          for (const x of flagged) if (x.label === 'ordinary') expect(x.confidence).toBeLessThanOrEqual(0.6);
          // A record's flag never contradicts its verdict event's.
          for (const v of verdicts) {
            const rec = records.find((x) => x.src === v.flow.src && x.dst === v.flow.dst)!;
            if (v.verdict.captureCapped) expect(rec.captureCapped).toBe(true);
          }
          // With no cap given, nothing is flagged (the defaults hold every flow here).
          if (maxCapturingFlows === undefined && maxLongCapturingFlows === undefined) expect(flagged).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });
});
