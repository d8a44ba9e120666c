/**
 * Fuzz a streaming session with random traffic between a few hosts, biased towards what the cross-flow rules
 * look at (TLS and DTLS hellos, ESP-shaped datagrams on 4501, STUN): it never throws, every flow is emitted
 * exactly once, and a companion item only ever ties flows of the same two hosts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { bytes, dtlsHello } from './flow-builders.js';
import { helloBody, sniExt, tlsRecord } from '../detect/names/builders.js';
import { segmentsAt, serverFlight, VPN_SAN_DER } from '../detect/names/cert-builders.js';

const HOSTS = ['192.0.2.1', '192.0.2.2', '198.51.100.1', '198.51.100.2'];
const PORTS = [443, 4501, 10443, 40000, 40001];
const HELLO = tlsRecord(helloBody({ exts: [sniExt('vpn.example.com')] }));
const DTLS = dtlsHello();
const STUN = Uint8Array.from([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, ...bytes(12, 3)]);
/** A TLS 1.2 server flight cut in three: certificate streams open, complete or break among the noise. */
const CERT_SEGMENTS = segmentsAt(serverFlight([VPN_SAN_DER]), [400, 800]);

const payload = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.constant(HELLO),
  fc.constant(DTLS),
  fc.constant(STUN),
  fc.constantFrom(...CERT_SEGMENTS),
  fc.integer({ min: 1, max: 6 }).map((seq) => Uint8Array.from([0x4a, 0x11, 0x22, 0x33, 0, 0, 0, seq, ...bytes(60, seq)])),
  fc.constant(Uint8Array.from([0x17, 0x03, 0x03, 0, 40, ...bytes(40, 9)])),
);
const packet = fc.record({
  a: fc.integer({ min: 0, max: 3 }),
  b: fc.integer({ min: 0, max: 3 }),
  proto: fc.constantFrom(6, 17),
  sp: fc.constantFrom(...PORTS),
  dp: fc.constantFrom(...PORTS),
  payload,
  dt: fc.integer({ min: 0, max: 4_000_000 }),
});

/** A TLS flow then a UDP flow between the same two hosts (the companion shape), as packets to mix with noise. */
const scenario = fc
  .record({ a: fc.integer({ min: 0, max: 3 }), b: fc.integer({ min: 0, max: 3 }), tlsPort: fc.constantFrom(...PORTS), udpPort: fc.constantFrom(...PORTS), esp: fc.boolean(), n: fc.integer({ min: 1, max: 10 }) })
  .map(({ a, b, tlsPort, udpPort, esp, n }) => {
    const pk = [{ a, b, proto: 6, sp: 50000, dp: tlsPort, payload: HELLO, dt: 1000 }];
    for (let i = 0; i < n; i++) {
      const p = esp ? Uint8Array.from([0x4a, 0x11, 0x22, 0x33, 0, 0, 0, i + 1, ...bytes(60, i)]) : i === 0 ? DTLS : bytes(80, i);
      pk.push({ a, b, proto: 17, sp: 40002, dp: udpPort, payload: p, dt: 100_000 });
    }
    return pk;
  });

describe('session fuzz (companion rules in the loop)', () => {
  it('never throws; each flow emitted once; companions tie only flows of the same hosts', () => {
    let companions = 0;
    fc.assert(
      fc.property(fc.array(scenario, { maxLength: 4 }), fc.array(packet, { maxLength: 120 }), fc.integer({ min: 0, max: 20 }), (scenes, noise, windowS) => {
        // Scenario packets first (in order), noise packets spread among them.
        const pkts: { a: number; b: number; proto: number; sp: number; dp: number; payload: Uint8Array; dt: number }[] = [];
        const flat = scenes.flat();
        for (let i = 0, j = 0; i < flat.length || j < noise.length; ) {
          if (j < noise.length && (i >= flat.length || (i + j) % 3 === 2)) pkts.push(noise[j++]!);
          else pkts.push(flat[i++]!);
        }
        const s = createClassifier({ companionWindowS: windowS }).session({ flow: { maxFlows: 16 } });
        const out: FlowRecord[] = [];
        s.on('flow', (r: FlowRecord) => out.push(r));
        let t = 1_700_000_000_000_000;
        for (const p of pkts) {
          if (p.a === p.b) continue;
          t += p.dt;
          s.push(buildFrame({ src: HOSTS[p.a]!, dst: HOSTS[p.b]!, proto: p.proto, srcPort: p.sp, dstPort: p.dp, payload: p.payload }), BigInt(t) * 1000n);
        }
        s.end();
        expect(s.stats.flows).toBe(out.length);
        for (const r of out) {
          for (const e of r.evidence) {
            if (e.source !== 'companion' || e.rule === 'tinc.companion') continue;
            companions++;
            const hosts = [r.src, r.dst].map((x) => x.slice(0, x.lastIndexOf(':')));
            // The item names the other flow as "ip:port → ip:port": both of its hosts are this flow's hosts.
            const named = [...e.reason.matchAll(/(\d+\.\d+\.\d+\.\d+):\d+ → (\d+\.\d+\.\d+\.\d+):\d+/g)].flatMap((m) => [m[1]!, m[2]!]);
            expect(named.length).toBeGreaterThan(0);
            for (const h of named) expect(hosts).toContain(h);
          }
        }
      }),
      { numRuns: 300 },
    );
    // The generator is biased so the rules do fire: a fuzz that never reaches them would prove nothing.
    expect(companions).toBeGreaterThan(20);
  });
});
