/**
 * Payload the capture cut (a snap length, a packet broker's slicing): a flow whose inspected packets lost bytes
 * to the capture is not judged "ordinary" with the confidence of a flow that was seen whole, and its record says
 * how many inspected packets were cut.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import type { VerdictEvent } from '../../src/classify/session.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { ext, helloBody, sniExt, tlsRecord } from '../detect/names/builders.js';
import { bytes, CLIENT, SERVER, type Pkt } from './flow-builders.js';

const LIST: [string, string][] = [['vpn.example', 'Example VPN']];

/** A ClientHello naming `name`, with a padding extension (RFC 7685) after the name, as browsers send. */
const hello = (name: string): Uint8Array => tlsRecord(helloBody({ exts: [sniExt(name), ext(21, new Array<number>(64).fill(0))] }));

/** A TLS connection to `name` (ClientHello, then records both ways), each frame cut to `snap` bytes. */
function run(name: string, snap = Infinity, serverBytes = 80): { records: FlowRecord[]; verdicts: VerdictEvent[] } {
  const c = { src: CLIENT, dst: SERVER, proto: 6, srcPort: 50000, dstPort: 443 };
  const s = { src: SERVER, dst: CLIENT, proto: 6, srcPort: 443, dstPort: 50000 };
  const pkts: Pkt[] = [{ ...c, t: 0, payload: hello(name) }];
  for (let i = 0; i < 10; i++) pkts.push({ ...(i % 2 ? c : s), t: 0.01 * (i + 1), payload: Uint8Array.from([0x17, 3, 3, 0, serverBytes, ...bytes(serverBytes, i)]) });
  const session = createClassifier({ vpnDomains: LIST }).session();
  const records: FlowRecord[] = [];
  const verdicts: VerdictEvent[] = [];
  session.on('flow', (r: FlowRecord) => records.push(r));
  session.on('verdict', (v: VerdictEvent) => verdicts.push(v));
  for (const p of pkts) {
    const frame = buildFrame(p);
    session.push(frame.subarray(0, Math.min(frame.length, snap)), BigInt(Math.round(p.t * 1e6)) * 1000n);
  }
  session.end();
  return { records, verdicts };
}

describe('payload cut by the capture', () => {
  it('a listed name seen whole decides; the same hello cut before its name is ordinary at 0.6, with the cut counted', () => {
    const whole = run('gw.vpn.example');
    expect(whole.records).toHaveLength(1);
    expect(whole.records[0]!.label).toBe('unregistered_vpn');
    expect(whole.records[0]!.payloadCut).toBeUndefined();

    // Ethernet 14 + IPv4 20 + TCP 20 + 42 bytes of the hello: the SNI is further on.
    const cut = run('gw.vpn.example', 96);
    expect(cut.records).toHaveLength(1);
    const r = cut.records[0]!;
    expect(r.label).toBe('ordinary');
    expect(r.confidence).toBe(0.6);
    // Every payload packet the detectors inspected lost bytes to the 96-byte snap length (the 85-byte records too).
    expect(r.payloadCut).toBe(r.decidedAtPacket);
    expect(r.payloadCut).toBeGreaterThan(0);
    // The verdict event says the same.
    expect(cut.verdicts.map((v) => [v.verdict.label, v.verdict.confidence, v.record.payloadCut])).toEqual([['ordinary', 0.6, r.payloadCut]]);
  });

  it('only inspected packets that lost bytes count; a flow seen whole keeps 0.9 and no field', () => {
    const whole = run('www.example.org');
    expect(whole.records[0]!.label).toBe('ordinary');
    expect(whole.records[0]!.confidence).toBe(0.9);
    expect('payloadCut' in whole.records[0]!).toBe(false);
    // A snap length above every frame cuts nothing.
    const roomy = run('www.example.org', 4000);
    expect(roomy.records[0]).toEqual(whole.records[0]);
    // Snap length 96 cuts the hello (its name is long enough) but not the 85-byte records after it (small frames).
    const some = run('www.example.org', 96, 20);
    expect(some.records[0]!.payloadCut).toBe(1);
    expect(some.records[0]!.confidence).toBe(0.6);
  });

  it('a VPN verdict stands on what was read; the record still counts the cut packets', () => {
    // Cut after the SNI: the name is read, the rest of the hello is not.
    const frame = buildFrame({ src: CLIENT, dst: SERVER, proto: 6, srcPort: 50000, dstPort: 443, payload: hello('gw.vpn.example') });
    const sniEnd = Buffer.from(frame).indexOf('gw.vpn.example') + 'gw.vpn.example'.length;
    expect(frame.length).toBeGreaterThan(sniEnd + 8);
    const r = run('gw.vpn.example', sniEnd + 8).records[0]!;
    expect(r.label).toBe('unregistered_vpn');
    expect(r.payloadCut).toBeGreaterThan(0);
  });
});

describe('payload cut: property against a count over the frames', () => {
  it('payloadCut is the number of inspected payload packets whose frame the snap length cut; ordinary ones are at 0.6 exactly when it is > 0', () => {
    // Header bytes before the payload: Ethernet 14 + IPv4 20 + TCP 20 or UDP 8.
    const HDR = { 6: 54, 17: 42 } as const;
    fc.assert(
      fc.property(
        fc.constantFrom(6 as const, 17 as const),
        fc.array(fc.record({ rev: fc.boolean(), len: fc.integer({ min: 1, max: 300 }), seed: fc.nat(255) }), { minLength: 1, maxLength: 14 }),
        fc.integer({ min: 30, max: 400 }),
        (proto, pkts, snap) => {
          const session = createClassifier({ vpnDomains: null }).session();
          const records: FlowRecord[] = [];
          session.on('flow', (r: FlowRecord) => records.push(r));
          // Payload packets in flow order, and whether the capture cut each (the flow table skips a frame cut
          // inside its TCP/UDP header: no ports).
          const cut: boolean[] = [];
          pkts.forEach((p, i) => {
            const fwd = { src: CLIENT, dst: SERVER, srcPort: 40000, dstPort: 40001 };
            const ends = p.rev ? { src: SERVER, dst: CLIENT, srcPort: 40001, dstPort: 40000 } : fwd;
            // Random bytes with a zero first byte: no in-scope protocol's first byte, no opening.
            const payload = bytes(p.len, p.seed);
            payload[0] = 0;
            const frame = buildFrame({ ...ends, proto, tcpFlags: 0x18, payload });
            if (snap < HDR[proto]) return;
            cut.push(snap < frame.length);
            // 20 ms apart: a frame that repeats the one before within 10 ms is a mirror-port copy, counted but not
            // inspected (flow table), which this count over the frames does not model.
            session.push(frame.subarray(0, Math.min(snap, frame.length)), BigInt(1_700_000_000_000_000 + i * 20_000) * 1000n);
          });
          session.end();
          if (cut.length === 0) return;
          expect(records).toHaveLength(1);
          const r = records[0]!;
          expect(r.label).toBe('ordinary');
          const want = cut.slice(0, r.decidedAtPacket).filter(Boolean).length;
          expect(r.payloadCut ?? 0).toBe(want);
          expect(r.confidence).toBe(want > 0 ? 0.6 : 0.9);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('payload cut: classifyFlow', () => {
  it('a packet given with fewer bytes than its length counts as cut; an ordinary verdict is then 0.6', () => {
    const c = createClassifier({ vpnDomains: null });
    const base = { transport: 17, src: '192.0.2.1', dst: '198.51.100.2', srcPort: 40000, dstPort: 40001 };
    const bytes8 = (seed: number) => bytes(80, seed).map((x, i) => (i === 0 ? 0 : x));
    const whole = c.classifyFlow({ ...base, packets: [{ dir: 0, bytes: bytes8(1) }, { dir: 1, bytes: bytes8(2) }] });
    expect([whole.label, whole.confidence, whole.payloadCut]).toEqual(['ordinary', 0.9, 0]);
    const cut = c.classifyFlow({ ...base, packets: [{ dir: 0, bytes: bytes8(1), len: 400 }, { dir: 1, bytes: bytes8(2) }] });
    expect([cut.label, cut.confidence, cut.payloadCut]).toEqual(['ordinary', 0.6, 1]);
  });
});
