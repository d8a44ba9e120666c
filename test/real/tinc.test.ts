/**
 * tinc 1.0 as Debian's tincd runs it (scripts/record/tinc.sh): the meta connection over TCP labelled from its
 * plaintext ID and METAKEY lines in both directions, and the UDP packets between the two nodes' ports (fully
 * encrypted in the legacy protocol) tied to it by the companion relation; registered when a node is registered.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { classifyRecording, describeRecords, record, type Recording } from '../helpers/real-recording.js';

let rec: Recording;
beforeAll(() => {
  rec = record('tinc');
}, 180_000);

const META_RULES = ['tinc.id', 'tinc.id-both', 'tinc.metakey'];

describe('real tinc 1.0 (two tincd on loopback, DeviceType = dummy)', () => {
  it('records every variant (or says why it cannot here)', (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    expect([...rec.pcaps.keys()].sort()).toEqual(['aes', 'default', 'tcponly']);
  });

  it.for(['default', 'aes'])('%s: meta connection and UDP packets both tinc; registered with the accepting node', async (variant, ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const pcap = rec.pcaps.get(variant)!;
    const flows = await classifyRecording(pcap);
    const seen = describeRecords(flows);
    expect(flows.map((f) => [f.transport, f.label, f.protocol]).sort(), seen).toEqual([
      ['tcp', 'unregistered_vpn', 'tinc'],
      ['udp', 'unregistered_vpn', 'tinc'],
    ]);
    const tcp = flows.find((f) => f.transport === 'tcp')!, udp = flows.find((f) => f.transport === 'udp')!;
    expect(tcp.evidence.map((e) => e.rule), seen).toEqual(META_RULES);
    expect(udp.evidence.map((e) => e.rule), seen).toEqual(['tinc.companion']);
    // The UDP flow runs between the two nodes' ports: the accepting node's is the meta connection's server port.
    expect(udp.dst, seen).toBe(tcp.dst);
    const reg = await classifyRecording(pcap, ['127.0.0.2/32,Example Mesh']);
    expect(reg.map((r) => [r.transport, r.label, r.protocol, r.registrant]).sort(), describeRecords(reg)).toEqual([
      ['tcp', 'registered_vpn', 'tinc', 'Example Mesh'],
      ['udp', 'registered_vpn', 'tinc', 'Example Mesh'],
    ]);
  });

  it('tcponly: one meta connection carrying everything, tinc; registered with the accepting node', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const pcap = rec.pcaps.get('tcponly')!;
    const flows = await classifyRecording(pcap);
    expect(flows.map((f) => [f.transport, f.label, f.protocol, f.evidence.map((e) => e.rule)]), describeRecords(flows)).toEqual([
      ['tcp', 'unregistered_vpn', 'tinc', META_RULES],
    ]);
    const reg = await classifyRecording(pcap, ['127.0.0.2/32,Example Mesh']);
    expect(reg.map((r) => [r.label, r.protocol, r.registrant]), describeRecords(reg)).toEqual([['registered_vpn', 'tinc', 'Example Mesh']]);
  });
});
