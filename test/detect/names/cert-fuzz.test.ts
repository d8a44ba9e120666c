/**
 * Fuzz the certificate parser and the per-flow certificate stream: random bytes and a real TLS 1.2 server flight
 * mutated (bit flips, length fields set to 0 or huge, truncation), whole and cut into random segments, through the
 * parser, the engine and a session. Never throws, stays bounded (≤ 8 SAN names of host-name characters, every
 * buffer given back, one outcome per flow at most), and the stats add up.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CERT_MAX_SAN, leafNames, parseServerCertificate, type CertNames } from '../../../src/detect/names/cert.js';
import { CertStreams } from '../../../src/detect/names/cert-stream.js';
import { ArrayFlowView } from '../../../src/detect/array-flow.js';
import { IPPROTO_TCP } from '../../../src/detect/types.js';
import { DetectorTable, FlowDetection } from '../../../src/classify/engine.js';
import { DETECTORS } from '../../../src/detect/registry.js';
import { createClassifier } from '../../../src/classify/classifier.js';
import { buildFrame } from '../../../src/trace/frame-builder.js';
import { TEXT_MAX } from '../../../src/text.js';
import { helloBody, sniExt, tlsRecord } from './builders.js';
import { certDer, indexOfBytes, SAN_ONLY_DER, segmentsAt, serverFlight, VPN_SAN_DER } from './cert-builders.js';
import { tcpConnection } from '../../classify/flow-builders.js';

const HELLO = tlsRecord(helloBody({ exts: [sniExt('a.example')] }));
const TABLE = new DetectorTable(DETECTORS);
const FLIGHTS = [
  serverFlight([VPN_SAN_DER, SAN_ONLY_DER]),
  serverFlight([VPN_SAN_DER], 200),
  serverFlight([certDer({ cn: 'x.example', san: Array.from({ length: 12 }, (_, k) => ({ tag: 'dns' as const, bytes: [...Buffer.from(`h${k}.example.net`)] })) })]),
];
// Length fields worth setting to 0 / huge: record length, handshake lengths, certificate list and leaf lengths, DER.
const LENGTH_SPOTS = FLIGHTS.map((f) => [3, 4, 6, 7, 8, 5 + 4 + 83 + 1, 5 + 4 + 83 + 4, 5 + 4 + 83 + 7, 5 + 4 + 83 + 11, indexOfBytes(f, 'example') - 1].filter((x) => x > 0 && x < f.length));

const mutated = fc
  .tuple(
    fc.integer({ min: 0, max: FLIGHTS.length - 1 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom(0, 0xff)), { maxLength: 2 }),
    fc.option(fc.nat(), { nil: undefined }),
  )
  .map(([k, flips, lens, cut]) => {
    const b = FLIGHTS[k]!.slice();
    for (const [pos, v] of flips) b[pos % b.length] = v;
    const spots = LENGTH_SPOTS[k]!;
    for (const [pos, v] of lens) b[spots[pos % spots.length]!] = v;
    return cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
  });
const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 400 }), mutated);

function bounded(r: CertNames | null): void {
  if (r === null) return;
  expect(r.san.length).toBeLessThanOrEqual(CERT_MAX_SAN);
  for (const n of r.san) {
    expect(n.length).toBeLessThanOrEqual(253);
    expect(n).toMatch(/^(\*\.)?[a-z0-9.-]+$/);
  }
  for (const t of [r.cn, r.o, r.ou]) if (t !== null) expect(t.length).toBeLessThanOrEqual(TEXT_MAX);
}

describe('certificate fuzz', () => {
  it('the parser never throws and its output is bounded', () => {
    fc.assert(
      fc.property(anyBytes, fc.nat(8), (b, lead) => {
        bounded(parseServerCertificate(b, 0, b.length));
        bounded(leafNames(b, 0, b.length));
        bounded(leafNames(b, Math.min(lead, b.length), b.length));
      }),
      { numRuns: 2000 },
    );
  });

  it('cut into random segments through the engine: never throws, gives every buffer back, one outcome per flow', () => {
    const pool = new CertStreams(2);
    let flows = 0;
    fc.assert(
      fc.property(anyBytes, fc.uniqueArray(fc.nat(), { maxLength: 7 }), fc.boolean(), (b, cuts, clientMidway) => {
        const v = new ArrayFlowView({ transport: IPPROTO_TCP, srcPort: 50000, dstPort: 443 });
        const det = new FlowDetection();
        const segs = segmentsAt(b, cuts.map((c) => c % Math.max(1, b.length)));
        const pkts = [{ dir: 0, bytes: HELLO }, ...segs.map((s) => ({ dir: 1, bytes: s }))];
        if (clientMidway && pkts.length > 2) pkts.splice(2, 0, { dir: 0, bytes: Uint8Array.of(0x16, 3, 3, 0, 1, 0x10) });
        const before = { ...pool.stats };
        for (const p of pkts) {
          if (p.bytes.length === 0) continue;
          v.push(p);
          if (det.inspect(v, TABLE, 255, pool)) break;
          expect(pool.size).toBeLessThanOrEqual(1);
        }
        for (const n of det.names) if (n.kind === 'cert') bounded(n.cert!);
        det.reset();
        flows++;
        expect(pool.size).toBe(0);
        const d = (k: keyof typeof before): number => pool.stats[k] - before[k];
        expect(d('started')).toBeLessThanOrEqual(1);
        expect(d('completed') + d('tooLong') + d('noSlot') + d('abandoned')).toBeLessThanOrEqual(1);
        expect(d('started')).toBeLessThanOrEqual(d('completed') + d('tooLong') + d('abandoned'));
      }),
      { numRuns: 1500 },
    );
    expect(flows).toBe(1500);
    expect(pool.stats.started).toBeGreaterThan(50); // the mutations reach the stream, not only the framing checks
    expect(pool.stats.completed).toBeGreaterThan(10);
    expect(pool.memoryBytes()).toBeLessThanOrEqual(2 * 8192);
  });

  it('through a session with other traffic: never throws, every stream ends by the end of input', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(anyBytes, fc.uniqueArray(fc.nat(), { maxLength: 5 })), { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 3 }), (flows, maxStreams) => {
        const s = createClassifier({ vpnDomains: [['example.net', 'X']] }).session({ flow: { maxFlows: 4 }, maxCertStreams: maxStreams });
        let port = 50000;
        for (const [b, cuts] of flows) {
          const segs = segmentsAt(b, cuts.map((c) => c % Math.max(1, b.length))).filter((x) => x.length > 0);
          const pk = tcpConnection(port++, 443, [{ dir: 0, payload: HELLO }, ...segs.map((p) => ({ dir: 1 as const, payload: p }))]);
          for (const p of pk) s.push(buildFrame(p), BigInt(Math.round(p.t * 1e6)) * 1000n);
        }
        s.end();
        const c = s.stats.certificates;
        expect(c.started).toBeLessThanOrEqual(c.completed + c.tooLong + c.abandoned);
        expect(c.completed + c.tooLong + c.noSlot + c.abandoned).toBeLessThanOrEqual(flows.length);
      }),
      { numRuns: 200 },
    );
  });
});
