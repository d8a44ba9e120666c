/**
 * OpenVPN 2.x as Debian ships it (scripts/record/openvpn.sh): over UDP and TCP, plain and with each control-channel
 * wrapper, the tunnel labelled OpenVPN from its own handshake, registered when its server is registered; and the
 * UDP session seen from its data channel alone.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { classifyRecording, describeRecords, expectOneTunnel, record, type Recording } from '../helpers/real-recording.js';

const VARIANTS = ['tcp', 'tcp-tls-crypt', 'udp', 'udp-tls-auth', 'udp-tls-crypt', 'udp-tls-crypt-v2'];
let rec: Recording;
beforeAll(() => {
  rec = record('openvpn');
}, 180_000);

describe('real OpenVPN (Debian openvpn, --dev null on 127.0.0.1)', () => {
  it('records every variant (or says why it cannot here)', (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    expect([...rec.pcaps.keys()].sort()).toEqual(VARIANTS);
  });

  it('udp seen mid-stream (only its data channel, as after a capture or a gateway restart): still OpenVPN', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const mid = join(rec.dir, 'udp-data-only.pcap');
    // P_DATA_V2 datagrams only: opcode 9, any key id (first payload byte 0x48-0x4f).
    const cut = spawnSync('tcpdump', ['-r', rec.pcaps.get('udp')!, '-w', mid, 'udp[8] >= 0x48 and udp[8] <= 0x4f'], { encoding: 'utf8' });
    expect(cut.status, cut.stderr).toBe(0);
    const flows = await classifyRecording(mid);
    const seen = describeRecords(flows);
    expect(flows.map((f) => [f.label, f.protocol]), seen).toEqual([['unregistered_vpn', 'openvpn']]);
    expect(flows[0]!.srcPackets, seen).toBeGreaterThanOrEqual(8);
    expect(flows[0]!.evidence.some((e) => e.rule === 'ovpn.data' && e.strength === 'strong'), seen).toBe(true);
  });

  it.for(VARIANTS)('%s: one flow, OpenVPN, unregistered; registered with its server', async (variant, ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const transport = variant.startsWith('tcp') ? 'tcp' : 'udp';
    await expectOneTunnel(rec.pcaps.get(variant)!, { transport, protocol: 'openvpn', rulePrefix: 'ovpn.', server: '127.0.0.1/32' });
  });
});
