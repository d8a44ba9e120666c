/**
 * WireGuard as wireguard-go and wg(8) make it (scripts/record/wireguard.sh): handshake, data and keepalives over
 * IPv4 and IPv6 loopback, labelled WireGuard, registered when the peer's address is registered; and each direction
 * alone (a gateway on an asymmetric route sees one) still labelled from what that direction shows.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { classifyCut, describeRecords, expectOneTunnel, useRecording } from '../helpers/real-recording.js';

const rec = useRecording('wireguard');

describe('real WireGuard (wireguard-go, in a network namespace of the test)', () => {
  it('records both variants (or says why it cannot here)', (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    expect([...rec.pcaps.keys()].sort()).toEqual(['ipv4', 'ipv6']);
  });

  it.for([['ipv4', '127.0.0.1/32'], ['ipv6', '::1/128']])('%s: one flow, WireGuard, unregistered; registered with its peer', async ([variant, server], ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    await expectOneTunnel(rec.pcaps.get(variant!)!, { transport: 'udp', protocol: 'wireguard', rulePrefix: 'wg.handshake', server: server! });
  });

  it('the initiator\'s direction alone: initiation, then counters rising under one receiver index', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const pcap = rec.pcaps.get('ipv4')!;
    // The initiator is the side whose first datagram is the 148-byte initiation; keep only what it sent.
    const first = spawnSync('tcpdump', ['-r', pcap, '-n', '-c', '1'], { encoding: 'utf8' }).stdout;
    const port = /127\.0\.0\.1\.(\d+) >/.exec(first)?.[1];
    expect(port, first).toBeDefined();
    const flows = await classifyCut(rec, 'ipv4', `src port ${port}`);
    expect(flows.map((f) => [f.label, f.protocol, f.dstPackets]), describeRecords(flows)).toEqual([['unregistered_vpn', 'wireguard', 0]]);
    // One direction is medium evidence twice over (the lone initiation, the one-way data run): together they
    // decide, at the confidence of two medium items (the reference's strong data row needs both directions).
    expect(flows[0]!.evidence.map((e) => [e.rule, e.strength])).toEqual([['wg.init', 'medium'], ['wg.data-oneway', 'medium']]);
    expect(flows[0]!.confidence).toBe(0.85);
  });
});
