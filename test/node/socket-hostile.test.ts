/**
 * classifySocket against a hostile peer over real sockets (fast-check): random segmentations of framed openings,
 * random bytes, resets at random points, half-closes. Properties: it never throws (nothing uncaught), always
 * resolves by its deadline, the application reads back exactly the bytes that were sent, and a framed opening
 * gets the same verdict however it was cut.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createClassifier } from '../../src/classify/classifier.js';
import type { SocketVerdict } from '../../src/node.js';
import { firstMessageEnd, MORE, newFramingState } from '../../src/node/first-message.js';
import { classifyingServer, cut, httpRequest, openvpnTcpReset, pptpSccrq, sendSegments, sleep, sstpRequest, tincId, tlsHello, tlsHelloTwoRecords } from './helpers.js';

const classifier = createClassifier({ vpnDomains: [['nordvpn.com', 'NordVPN']], registered: [['::1/128', 'lab6']] });
const TIMEOUT = 1500;
const OPTS = { firstBytesTimeoutMs: TIMEOUT, settleMs: 30 };

const uncaught: unknown[] = [];
const onUncaught = (e: unknown): void => void uncaught.push(e);
beforeAll(() => void process.on('uncaughtException', onUncaught));
afterAll(() => void process.off('uncaughtException', onUncaught));

const OPENINGS: Uint8Array[] = [
  tlsHello('us1.nordvpn.com'),
  tlsHelloTwoRecords('nl2.nordvpn.com', 5),
  tlsHello('example.org', 9),
  httpRequest('nordvpn.com'),
  httpRequest('example.org', 'a=1&b=2'),
  sstpRequest(),
  pptpSccrq(),
  openvpnTcpReset(),
  tincId(),
];

/** The fields a verdict is judged by (evidence reasons name packet indexes, which follow the message split). */
function gist(v: SocketVerdict): unknown {
  if (v.label === 'undecided') return { label: v.label, cause: v.cause };
  return { label: v.label, protocol: v.protocol, registrant: v.registrant, rules: v.evidence.map((e) => e.rule).sort() };
}

describe('classifySocket against a hostile peer', () => {
  for (const host of ['127.0.0.1', '::1']) {
    it(`${host}: any segmentation of a framed opening (pauses up to 3x settleMs) gives the whole-message verdict`, async () => {
      const srv = await classifyingServer(classifier, host, OPTS);
      const whole: unknown[] = [];
      try {
        for (const o of OPENINGS) {
          const s = await sendSegments(host, srv.port, [o], [], 'wait');
          whole.push(gist((await srv.accepted.at(-1)!).verdict));
          s.destroy();
        }
        expect(whole.filter((g) => (g as { label: string }).label.endsWith('_vpn')).length).toBeGreaterThanOrEqual(5);
        let n = OPENINGS.length;
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 0, max: OPENINGS.length - 1 }),
            fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 6 }),
            fc.array(fc.integer({ min: 0, max: 90 }), { maxLength: 7 }),
            fc.boolean(),
            async (k, at, pauses, endAfter) => {
              const bytes = OPENINGS[k]!;
              const parts = cut(bytes, at);
              const s = await sendSegments(host, srv.port, parts, pauses, endAfter ? 'end' : 'wait');
              const a = await srv.accepted[n++]!;
              expect(gist(a.verdict)).toEqual(whole[k]);
              if (endAfter) expect((await a.read).bytes.equals(Buffer.from(bytes))).toBe(true);
              s.destroy();
            },
          ),
          { numRuns: 25 },
        );
      } finally {
        await srv.close();
      }
      expect(uncaught).toEqual([]);
    }, 60_000);
  }

  it('random bytes, random cuts, resets and half-closes at random points: no throw, resolved by the deadline, bytes intact', async () => {
    const srv = await classifyingServer(classifier, '::', OPTS);
    let n = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ minLength: 0, maxLength: 3000 }),
            // A framed opening with random bytes spliced in or cut short: the framings' edge cases.
            fc.tuple(fc.constantFrom(...OPENINGS), fc.nat(), fc.uint8Array({ maxLength: 64 })).map(([o, p, junk]) => {
              const q = p % (o.length + 1);
              return Uint8Array.from([...o.subarray(0, q), ...junk]);
            }),
          ),
          fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 5 }),
          fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 6 }),
          fc.constantFrom('end', 'reset', 'wait', 'reset-mid'),
          fc.constantFrom('127.0.0.1', '::1'),
          async (bytes, at, pauses, how, host) => {
            const parts = cut(bytes, at);
            const mid = Math.floor(parts.length / 2);
            const sent = how === 'reset-mid' ? parts.slice(0, mid) : parts;
            const s = await sendSegments(host, srv.port, sent, pauses, how === 'reset-mid' ? 'reset' : (how as 'end' | 'reset' | 'wait'));
            const a = await srv.accepted[n++]!;
            expect(a.ms).toBeLessThan(TIMEOUT + 1500); // the deadline, plus a loaded machine's timer lag
            if (how === 'end') {
              const r = await a.read;
              expect(r.bytes.equals(Buffer.concat(sent))).toBe(true);
              // A stream that ends with no byte emits 'end' before the promise's handlers run (nothing to hold it).
              if (bytes.length > 0) expect(r.ended).toBe(true);
              // Ended: bytes no framing describes (or a whole message) are decided; a message its framing says is
              // not whole is undecided (incomplete), never a silent ordinary.
              const framed = firstMessageEnd(bytes, Math.min(bytes.length, 16384), 16384, newFramingState());
              if (bytes.length === 0) expect(a.verdict).toMatchObject({ label: 'undecided', cause: 'closed' });
              else if (framed === MORE && bytes.length < 16384) expect(a.verdict).toMatchObject({ label: 'undecided', cause: 'incomplete' });
              else expect(a.verdict.label).not.toBe('undecided');
            } else if (how === 'wait') {
              s.end();
              expect((await a.read).bytes.equals(Buffer.concat(sent))).toBe(true);
            }
            if (a.verdict.label === 'undecided') expect(['silent', 'incomplete', 'closed']).toContain(a.verdict.cause);
            if (bytes.length === 0 && how !== 'end') expect(a.verdict.label).toBe('undecided');
            s.destroy();
            await sleep(1);
          },
        ),
        { numRuns: 60 },
      );
    } finally {
      await srv.close();
    }
    expect(uncaught).toEqual([]);
  }, 120_000);
});
