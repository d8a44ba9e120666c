/**
 * OpenVPN 2.x as Debian ships it (scripts/record/openvpn.sh): over UDP (IPv4 and IPv6) and TCP, plain and with each
 * control-channel wrapper (tls-auth with a 20- and a 64-byte HMAC), the tunnel labelled OpenVPN from its own
 * handshake, registered when its server is registered; the UDP session seen from its data channel alone; and TCP
 * sessions through an HTTP CONNECT proxy (tinyproxy) and a SOCKS5 proxy (microsocks), where the client's connection
 * to the proxy starts with the proxy's own handshake and the OpenVPN stream follows it.
 */
import { describe, expect, it } from 'vitest';
import { classifyCut, classifyRecording, describeRecords, expectOneTunnel, useRecording } from '../helpers/real-recording.js';

const VARIANTS = ['tcp', 'tcp-tls-crypt', 'udp', 'udp-tls-auth', 'udp-tls-auth-sha512', 'udp-tls-crypt', 'udp-tls-crypt-v2', 'udp6'];
const PROXIED = ['tcp-http-proxy', 'tcp-socks-proxy'];
const rec = useRecording('openvpn');

describe('real OpenVPN (Debian openvpn, --dev null on 127.0.0.1)', () => {
  it('records every variant (or says why it cannot here)', (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    expect([...rec.pcaps.keys()].sort()).toEqual([...VARIANTS, ...PROXIED].sort());
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

  it.for(PROXIED)('%s: both legs (client to proxy, proxy to server) OpenVPN on its handshake echo, after the proxy\'s', async (variant, ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const flows = await classifyRecording(rec.pcaps.get(variant)!);
    const seen = describeRecords(flows);
    expect(flows.map((f) => [f.transport, f.label, f.protocol]), seen).toEqual([['tcp', 'unregistered_vpn', 'openvpn'], ['tcp', 'unregistered_vpn', 'openvpn']]);
    for (const f of flows) expect(f.evidence.some((e) => e.rule === 'ovpn.reset-echo' && e.strength === 'strong'), seen).toBe(true);
    // On the client's leg the proxy's handshake comes first: the reset pair is found at a later payload packet.
    const legs = flows.map((f) => Number(/packet (\d+): client hard reset/.exec(f.evidence.find((e) => e.rule === 'ovpn.reset-echo')!.reason)?.[1]));
    expect(legs.sort((a, b) => a - b)[1], seen).toBeGreaterThan(0);
    const reg = await classifyRecording(rec.pcaps.get(variant)!, ['127.0.0.1/32,Recording Org']);
    expect(reg.map((r) => [r.label, r.registrant]), describeRecords(reg)).toEqual([['registered_vpn', 'Recording Org'], ['registered_vpn', 'Recording Org']]);
  });
});
