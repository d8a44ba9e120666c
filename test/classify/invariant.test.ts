/**
 * The registration invariant, property-tested: for random flows, registrations and list updates,
 * - a flow the detectors call VPN whose endpoint lies in a registered prefix is never `unregistered_vpn`
 *   (it is `registered_vpn`, with the most specific prefix's registrant);
 * - a flow the detectors call ordinary is never labelled VPN because of registration.
 * Detection is replaced by a stub detector so "the detectors call it VPN" is known exactly.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createClassifier } from '../../src/classify/classifier.js';
import type { Detector } from '../../src/detect/types.js';
import { IPPROTO_UDP } from '../../src/detect/types.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import type { Verdict } from '../../src/classify/types.js';
import { naiveLpm, arbPrefixSet, arbAddressIn } from './invariant-helpers.js';

const MAGIC = 0xaa;
/** Strong evidence exactly when the first payload byte is MAGIC. */
const stub: Detector = {
  id: 'stub',
  transports: [IPPROTO_UDP],
  maxPackets: 1,
  rules: { 'stub.magic': 'first byte 0xaa' },
  detect(f) {
    return f.avail(0) > 0 && f.buf(0)[f.start(0)] === MAGIC
      ? [{ source: 'stub', protocol: 'stubvpn', strength: 'strong', rule: 'stub.magic', reason: 'first byte 0xaa', packet: 0 }]
      : null;
  },
};

function expectInvariant(v: Verdict, isVpn: boolean, entries: Array<[string, string]>, src: string, dst: string): void {
  if (!isVpn) {
    expect(v.label).toBe('ordinary');
    expect(v.registrant).toBeNull();
    return;
  }
  const s = naiveLpm(entries, src);
  const d = naiveLpm(entries, dst);
  if (!s && !d) {
    expect(v.label).toBe('unregistered_vpn');
    return;
  }
  expect(v.label).toBe('registered_vpn');
  const best = s && d ? (d.len > s.len ? d : s) : (s ?? d)!;
  expect(v.registrant).toBe(best.value);
  expect(v.registeredSide).toBe(best === s ? 'src' : 'dst');
  expect(v.evidence.some((e) => e.rule === 'registered.prefix' && e.reason.includes(best.prefix))).toBe(true);
}

describe('registration invariant', () => {
  it('property: registered VPN flows are never unregistered; ordinary flows never become VPN by registration', () => {
    fc.assert(
      fc.property(
        arbPrefixSet(),
        fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 20 }),
        arbPrefixSet(),
        (entries, flows, entries2) => {
          const c = createClassifier({ detectors: [stub], registered: entries });
          let current = entries;
          for (const [isVpn, a, b, op] of flows) {
            if (op === 0) {
              // swap lists between flows: the next verdict must use the new version only
              current = current === entries ? entries2 : entries;
              c.update({ registered: current });
            }
            const src = arbAddressIn(current, a, op === 1 ? 6 : 4);
            const dst = arbAddressIn(current, b, op === 1 ? 6 : 4);
            const v = c.classifyFlow({
              transport: IPPROTO_UDP,
              src,
              dst,
              srcPort: 1000,
              dstPort: 2000,
              packets: [{ dir: 0, bytes: Uint8Array.of(isVpn ? MAGIC : 0x00, 1, 2, 3) }],
            });
            expect(v.listVersion).toBe(c.listVersion);
            expectInvariant(v, isVpn, current, src, dst);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('sessions: list updates interleaved with traffic; every verdict matches the list version it names', () => {
    fc.assert(
      fc.property(arbPrefixSet(), arbPrefixSet(), fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.nat(), fc.boolean()), { minLength: 1, maxLength: 30 }), (e1, e2, flows) => {
        const c = createClassifier({ detectors: [stub], registered: e1 });
        const versions = new Map<number, Array<[string, string]>>([[c.listVersion, e1]]);
        const s = c.session();
        const got: Array<{ v: Verdict; isVpn: boolean; src: string; dst: string }> = [];
        const pending = new Map<string, { isVpn: boolean; src: string; dst: string }>();
        s.on('verdict', (ev: { flow: { src: string; dst: string }; verdict: Verdict }) => {
          const key = `${ev.flow.src}|${ev.flow.dst}`;
          const p = pending.get(key)!;
          got.push({ v: ev.verdict, ...p });
        });
        let t = 1_700_000_000_000_000;
        let port = 1024;
        let cur = e1;
        for (const [isVpn, a, b, swap] of flows) {
          if (swap) {
            cur = cur === e1 ? e2 : e1;
            versions.set(c.update({ registered: cur }), cur);
          }
          const src = arbAddressIn(cur, a, 4);
          const dst = arbAddressIn(cur, b, 4);
          if (src === dst) continue;
          port++;
          pending.set(`${src}:${port}|${dst}:53`, { isVpn, src, dst });
          s.push(buildFrame({ src, dst, proto: IPPROTO_UDP, srcPort: port, dstPort: 53, payload: Uint8Array.of(isVpn ? MAGIC : 1, 0, 0, 0) }), BigInt(t) * 1000n);
          t += 1000;
        }
        s.end();
        expect(got.length).toBe(pending.size);
        for (const g of got) {
          const list = versions.get(g.v.listVersion)!;
          expect(list).toBeDefined();
          expectInvariant(g.v, g.isVpn, list, g.src, g.dst);
        }
      }),
      { numRuns: 100 },
    );
  });
});
