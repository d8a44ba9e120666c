/**
 * OpenVPN 2.x as Debian ships it (scripts/record/openvpn.sh): over UDP (IPv4 and IPv6) and TCP, plain and with each
 * control-channel wrapper (tls-auth with a 20- and a 64-byte HMAC), the tunnel labelled OpenVPN from its own
 * handshake, registered when its server is registered; and the UDP session seen from its data channel alone.
 */
import { describe, expect, it } from 'vitest';
import { classifyCut, describeRecords, expectOneTunnel, useRecording } from '../helpers/real-recording.js';

const VARIANTS = ['tcp', 'tcp-tls-crypt', 'udp', 'udp-tls-auth', 'udp-tls-auth-sha512', 'udp-tls-crypt', 'udp-tls-crypt-v2', 'udp6'];
const rec = useRecording('openvpn');

describe('real OpenVPN (Debian openvpn, --dev null on 127.0.0.1)', () => {
  it('records every variant (or says why it cannot here)', (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    expect([...rec.pcaps.keys()].sort()).toEqual(VARIANTS);
  });

  it('udp seen mid-stream (only its data channel, as after a capture or a gateway restart): still OpenVPN', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    // P_DATA_V2 datagrams only: opcode 9, any key id (first payload byte 0x48-0x4f).
    const flows = await classifyCut(rec, 'udp', 'udp[8] >= 0x48 and udp[8] <= 0x4f');
    const seen = describeRecords(flows);
    expect(flows.map((f) => [f.label, f.protocol]), seen).toEqual([['unregistered_vpn', 'openvpn']]);
    expect(flows[0]!.srcPackets, seen).toBeGreaterThanOrEqual(8);
    expect(flows[0]!.evidence.some((e) => e.rule === 'ovpn.data' && e.strength === 'strong'), seen).toBe(true);
  });

  it.for(VARIANTS)('%s: one flow, OpenVPN, unregistered; registered with its server', async (variant, ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const transport = variant.startsWith('tcp') ? 'tcp' : 'udp';
    const server = variant === 'udp6' ? '::1/128' : '127.0.0.1/32';
    await expectOneTunnel(rec.pcaps.get(variant)!, { transport, protocol: 'openvpn', rulePrefix: 'ovpn.', server });
  });
});
