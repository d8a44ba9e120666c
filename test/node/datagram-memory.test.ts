/**
 * DatagramClassifier memory stays under its byte budget under floods of tuples built to cost the most: undecided
 * random payloads in the full snippet tier, decided WireGuard tuples, OpenVPN resets keeping evidence, DNS queries
 * carrying four maximal names. Twice as many tuples as the cap, so eviction runs too. Δ(heapUsed + arrayBuffers)
 * after full collections, with the classifier alive.
 */
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import { DatagramClassifier } from '../../src/node.js';
import { openvpnTcpReset, wgInit, wgResp, usedAfterGc } from './helpers.js';


/** Wire form of a name (synth's encodeName caches every name it sees: not for floods). */
function encodeName(name: string): number[] {
  return [...name.split('.').flatMap((l) => [l.length, ...Buffer.from(l, 'latin1')]), 0];
}
function dnsQuery(name: string, id: number): Uint8Array {
  return Uint8Array.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...encodeName(name), 0, 1, 0, 1]);
}
const long = (j: number, i: number) => `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(40)}${j}.y${i}.nordvpn.com`;

type Gen = (i: number) => Array<[Uint8Array, 0 | 1]>;
const KINDS: Record<string, Gen> = {
  'random, 5 datagrams (full snippet tier, undecided)': (i) => [0, 1, 2, 3, 4].map((j) => [Uint8Array.from({ length: 300 }, (_, k) => (i * 31 + j * 17 + k * 7) & 255), 0]),
  'WireGuard handshakes (decided)': (i) => [[wgInit(i), 0], [wgResp(i + 1, i), 1]],
  'OpenVPN resets (evidence kept, undecided)': (i) => {
    const r = openvpnTcpReset(i).subarray(2);
    return [[r, 0], [r, 0], [r, 0]];
  },
  'DNS queries, four maximal names each': (i) => [0, 1, 2, 3].map((j) => [dnsQuery(long(j, i), (i + j) & 0xffff), 0]),
};

describe('DatagramClassifier memory bound', () => {
  const maxBytes = 12 * 1024 * 1024;
  it.each(Object.entries(KINDS))('%s: stays under maxBytes with twice the tuple cap flooding in', (_name, gen) => {
    const c = createClassifier({ vpnDomains: [['nordvpn.com', 'NordVPN']], registered: [['10.0.0.0/8', 'lab']] });
    const before = usedAfterGc();
    const dc = new DatagramClassifier(c, { maxBytes, idleMs: 3_600_000 });
    let verdicts = 0;
    dc.on('verdict', () => verdicts++);
    const n = dc.maxTuples * 2;
    const srv = { address: '192.0.2.1', port: 53 };
    for (let i = 0; i < n; i++) {
      const cli = { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 1024 + (i % 60000) };
      for (const [b, d] of gen(i)) {
        if (d === 0) dc.inspect(b, cli, srv);
        else dc.inspect(b, srv, cli);
      }
    }
    const grown = usedAfterGc() - before;
    const st = dc.stats;
    expect(st.liveTuples).toBe(dc.maxTuples);
    expect(st.evicted).toBe(n - dc.maxTuples);
    expect(verdicts).toBeGreaterThanOrEqual(n - dc.maxTuples);
    expect(grown).toBeLessThan(maxBytes);
    console.log(`${_name}: ${dc.maxTuples} tuples live, ${(grown / 1048576).toFixed(1)} MiB of ${maxBytes / 1048576} MiB, ${Math.round(grown / dc.maxTuples)} B/tuple`);
    dc.close();
  });
});
