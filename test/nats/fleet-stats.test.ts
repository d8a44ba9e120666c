/** `fleet stats` counting and its table, without a server: the counts are a fold over records. */
import { describe, expect, it } from 'vitest';
import { statsText } from '../../src/cli/fleet-run.js';
import { asJobEvent } from '../../src/nats/jobs.js';
import { countRecord, newFleetStats, type FleetRecord } from '../../src/nats/reader.js';

const rec = (sensor: string, label: string, extra: Partial<FleetRecord> = {}): FleetRecord => ({
  transport: 'tcp', src: '192.0.2.1:40000', dst: '198.51.100.7:443', label, protocol: label === 'ordinary' ? null : 'openvpn',
  registrant: null, packets: 10, bytes: 1000, firstSeen: '2026-01-01T00:00:00Z', lastSeen: '2026-01-01T00:00:01Z',
  listVersion: 1, sensor, ...extra,
});

describe('fleet stats', () => {
  it('counts, per sensor, the flows judged on payload its capture cut short, and the table names that sensor', () => {
    const st = newFleetStats();
    for (const r of [
      rec('gw-1', 'ordinary'), rec('gw-1', 'unregistered_vpn'),
      rec('gw-2', 'ordinary', { payloadCut: 3 }), rec('gw-2', 'unregistered_vpn', { payloadCut: 1 }), rec('gw-2', 'ordinary', { payloadCut: 0 }),
    ]) countRecord(st, r);
    expect(st.payloadCutBySensor).toEqual({ 'gw-2': 2 });
    const text = statsText(st);
    const lines = text.split('\n');
    const at = (s: string) => lines.findIndex((l) => l.startsWith(`  ${s} `));
    const cutLine = lines.findIndex((l) => l.includes('payload cut by the capture'));
    expect(cutLine).toBeGreaterThan(at('gw-2'));
    expect(lines[cutLine]).toMatch(/payload cut by the capture +2 flows \(check this sensor's snap length\)$/);
    expect(lines.filter((l) => l.includes('payload cut'))).toHaveLength(1);
    // Sensors are sorted by flows (gw-2 has 3): the line belongs to gw-2's block, before gw-1's.
    expect(cutLine).toBeLessThan(at('gw-1'));
  });

  it('the counts line up in one column whatever the longest name (an unregistered vpn-provider line overran it)', () => {
    const st = newFleetStats();
    countRecord(st, rec('gw-1', 'unregistered_vpn', { protocol: 'vpn-provider' }));
    countRecord(st, rec('a-sensor-with-a-long-id-of-40-characters', 'ordinary'));
    const rows = statsText(st).split('\n').filter((l) => /\d flows/.test(l));
    expect(rows.length).toBeGreaterThan(5);
    expect(new Set(rows.map((l) => l.indexOf(' flows')))).toHaveProperty('size', 1);
  });
  it('sensor ids, registrants and protocols named like Object properties are counted as any other (no crash)', () => {
    const st = newFleetStats();
    for (const name of ['constructor', '__proto__', 'hasOwnProperty', 'toString']) {
      countRecord(st, rec(name, 'registered_vpn', { registrant: name, protocol: name }));
      countRecord(st, rec(name, 'unregistered_vpn', { protocol: name }));
    }
    expect(Object.keys(st.bySensor).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
    expect(Object.keys(st.byRegistrant).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
    expect(st.bySensor['constructor']!.byLabel['registered_vpn']!.flows).toBe(1);
    expect(statsText(st)).toContain('  __proto__ ');
    expect(JSON.parse(JSON.stringify(st)).byProtocol['__proto__'].flows).toBe(2);
  });

  it('job events from the subject are taken only with the fields and types of one', () => {
    const ok = { event: 'done', job: 'b-1', batch: 'b', file: 'x.pcap', attempt: 1, records: 3, sensor: 'w1' };
    expect(asJobEvent(ok)).toEqual(ok);
    const trace = { ...ok, pieces: 13, failedPieces: 1, notes: ['cannot read /x/cap3: no such file'] };
    expect(asJobEvent(trace)).toEqual(trace);
    for (const bad of [null, 5, 'x', {}, { ...ok, event: 'other' }, { ...ok, attempt: '1\u001b[2J' }, { ...ok, records: 1e400 }, { ...ok, job: null }, { ...ok, final: 'yes' }, { ...ok, pieces: '3' }, { ...ok, failedPieces: -0.5 }, { ...ok, notes: 'x' }, { ...ok, notes: [1] }, { ...ok, notes: Array(1000).fill('x') }]) {
      expect(asJobEvent(bad), JSON.stringify(bad)).toBeNull();
    }
  });
});
