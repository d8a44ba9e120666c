/**
 * Capture time enters a session with every frame that carries one, whatever the frame holds. Found by the fuzz suite
 * (issue 18, fixtures/fuzz/captures/236abe72e4d5 and 2b6a0102e2e6): a mutated record that no longer decoded (LLC,
 * a cut Ethernet header) kept a time decades ahead; one session let it pass without moving its clock, while a pool
 * worker, which frames every record of the capture and cannot decode the ones another worker owns, moved its clock
 * and expired the open flows there — so the same capture gave one flow to a session and two to a pool. The clock
 * belongs to the capture, not to the frames that decode: a frame that does not decode moves it like one that does.
 */
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { buildFrame, TCP_ACK, TCP_SYN } from '../../src/trace/frame-builder.js';

const T0 = 1_700_000_000_000_000; // µs
const DAY = 86_400e6;

const tcp = (flags: number, fromClient: boolean): Uint8Array =>
  buildFrame(fromClient
    ? { src: '10.0.0.1', dst: '192.0.2.1', proto: 6, srcPort: 50000, dstPort: 80, tcpFlags: flags }
    : { src: '192.0.2.1', dst: '10.0.0.1', proto: 6, srcPort: 80, dstPort: 50000, tcpFlags: flags | TCP_ACK });

/** An ARP request: a frame every capture holds, and one no session decodes into a flow. */
const arp = (): Uint8Array => {
  const f = new Uint8Array(42);
  f.fill(0xff, 0, 6);
  f.set([2, 0, 0, 0, 0, 1], 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1], 12);
  return f;
};

/** The TCP flow's records after SYN at T0, `between` at T0 + 1 day, SYN-ACK and ACK at T0 + 1 ms (time going back). */
function run(between: Uint8Array | null): FlowRecord[] {
  const s = createClassifier().session();
  const recs: FlowRecord[] = [];
  s.on('flow', (r: FlowRecord) => recs.push(r));
  s.push(tcp(TCP_SYN, true), T0 * 1000);
  if (between) s.push(between, (T0 + DAY) * 1000);
  s.push(tcp(TCP_SYN, false), (T0 + 1000) * 1000);
  s.push(tcp(TCP_ACK, true), (T0 + 2000) * 1000);
  s.end();
  return recs.filter((r) => r.transport === 'tcp');
}

describe('every frame with a capture time moves the session clock', () => {
  it('without a jump the handshake is one flow', () => {
    expect(run(null).map((r) => r.packets)).toEqual([3]);
  });

  const udp = buildFrame({ src: '10.9.9.9', dst: '192.0.2.9', proto: 17, srcPort: 1, dstPort: 2, payload: new Uint8Array(8) });
  const cases: [string, Uint8Array][] = [
    ['an ARP frame', arp()],
    ['an Ethernet header cut short (malformed)', arp().subarray(0, 10)],
    ['an IPv4 frame whose header is cut (malformed)', udp.subarray(0, 20)],
    ['an empty frame', new Uint8Array(0)],
  ];
  for (const [name, frame] of cases) {
    it(`${name} a day ahead expires the open flow exactly as a decoded frame at that time does`, () => {
      const decoded = run(udp);
      expect(decoded.map((r) => r.packets)).toEqual([1, 2]); // the reference: an ordinary UDP frame a day ahead
      expect(run(frame)).toEqual(decoded);
    });
  }

  it('a frame with an impossible time is counted and moves nothing', () => {
    const s = createClassifier().session();
    const recs: FlowRecord[] = [];
    s.on('flow', (r: FlowRecord) => recs.push(r));
    s.push(tcp(TCP_SYN, true), T0 * 1000);
    s.push(arp(), Number.MAX_VALUE);
    s.push(tcp(TCP_SYN, false), (T0 + 1000) * 1000);
    s.end();
    expect(recs.map((r) => r.packets)).toEqual([2]);
    expect(s.stats.malformed['bad-timestamp']).toBe(1);
  });
});
