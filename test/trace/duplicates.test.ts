/**
 * A capture from a mirror port that copies both ingress and egress holds every packet twice, microseconds apart.
 * The flow table counts the copy (packets, bytes) but does not record it for the detectors: the inspection budget
 * and the counter runs ("+1 per packet") see each packet once. A sender's own repeats, later than 10 ms, stay
 * packets of their own. test/golden/accuracy.test.ts runs the whole corpus doubled.
 */
import { describe, expect, it } from 'vitest';
import { FlowTable } from '../../src/trace/flow-table.js';
import { makeView } from './packet-view-helper.js';

function table(payloadBytes = 48) {
  const seen: number[] = []; // nPackets at each packet the table reported as recorded payload
  const ended: { packets: number; bytes: number }[] = []; // counters of each flow that ended
  const t = new FlowTable({ maxPayloadPackets: 8, payloadBytes }, {
    onPacket(f, _isNew, payload) {
      if (payload) seen.push(f.view.nPackets);
    },
    onEnd(f) {
      ended.push({ packets: f.packetsFwd + f.packetsRev, bytes: f.bytesFwd + f.bytesRev });
    },
  });
  const push = (tsUs: number, payload: Uint8Array, reverse = false) =>
    t.add(makeView({ tsUs, src: reverse ? '192.0.2.1' : '10.0.0.1', dst: reverse ? '10.0.0.1' : '192.0.2.1', proto: 17, srcPort: reverse ? 4500 : 40000, dstPort: reverse ? 40000 : 4500, payload }));
  return { t, seen, push, ended };
}
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
const T0 = 1_700_000_000_000_000;

describe('copies of a payload packet (a mirror port)', () => {
  it('a copy 3 µs later is counted but not recorded; the next distinct packet is recorded next', () => {
    const { t, seen, push, ended } = table();
    push(T0, bytes(100, 1));
    push(T0 + 3, bytes(100, 1));
    push(T0 + 50, bytes(100, 2));
    expect(seen).toEqual([1, 2]);
    expect(t.stats.duplicatesSkipped).toBe(1);
    t.flush();
    expect(ended).toEqual([{ packets: 3, bytes: 3 * (20 + 8 + 100) }]);
  });

  it('not a copy: later than 10 ms (a retry), the other direction, another length, bytes that differ past the first', () => {
    const { t, seen, push } = table();
    push(T0, bytes(100, 1));
    push(T0 + 10_001, bytes(100, 1)); // a sender's own repeat
    push(T0 + 10_002, bytes(100, 1), true); // the same bytes the other way
    const b = bytes(100, 1);
    b[47]! ^= 1;
    push(T0 + 10_003, b); // differs in the last kept byte
    push(T0 + 10_004, bytes(101, 1));
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(t.stats.duplicatesSkipped).toBe(0);
  });

  it('with fewer than 16 bytes kept, two packets of one length are never taken for copies', () => {
    const { t, seen, push } = table(8);
    push(T0, bytes(100, 1));
    push(T0 + 1, bytes(100, 1));
    expect(seen).toEqual([1, 2]);
    expect(t.stats.duplicatesSkipped).toBe(0);
    // A whole short payload under the 8 kept bytes is compared whole.
    push(T0 + 2, bytes(6, 9));
    push(T0 + 3, bytes(6, 9));
    expect(seen).toEqual([1, 2, 3]);
    expect(t.stats.duplicatesSkipped).toBe(1);
  });

  it('at most 15 copies per flow are skipped: a payload repeated without end still ends the inspection', () => {
    const { t, seen, push } = table();
    for (let k = 0; k < 30; k++) push(T0 + k, bytes(64, 7));
    expect(t.stats.duplicatesSkipped).toBe(15);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
