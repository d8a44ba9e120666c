/**
 * SoftEther VPN as Debian ships it (scripts/record/softether.sh): the server speaking OpenVPN to Debian's openvpn
 * client (UDP 1194, TCP 443), raw L2TP to xl2tpd (UDP 1701), and its own protocol to its own vpnclient over TLS
 * (443, 5555). SoftEther's OpenVPN and L2TP listeners are those protocols, a second implementation of each, and are
 * labelled by their own detectors (parts/1 §"SoftEther VPN", §OpenVPN "False-positive traps"). The native session
 * runs inside TLS: with an address and no name in the ClientHello, nothing in clear says VPN — not the TLS flows,
 * not the UDP acceleration datagrams (encrypted, parts/1 §SoftEther 4), not the client's R-UDP attempts over ICMP
 * and DNS, which the reference does not describe. Registering the server does not change that; the operator's
 * endpoint list names such a gateway (parts/3 §"SSL VPNs", as for TLS-only AnyConnect). A server reached by a name
 * under softether.net (SoftEther's dynamic DNS) is named by its ClientHello: the provider list's medium evidence.
 * SoftEther's own cleartext, the NAT-traversal helper traffic on UDP 5004, is recorded with the helper's names
 * pointed at an address where nothing answers: the server's get_token Pack is SoftEther by the Pack walk.
 */
import { describe, expect, it } from 'vitest';
import { classifyCut, classifyRecording, describeRecords, expectOneTunnel, useRecording, type FlowRecord } from '../helpers/real-recording.js';

const SERVER = '10.231.0.1/32'; // scripts/record/netns-pair.sh's server address
const OPENVPN: [string, string][] = [
  ['openvpn-udp', 'udp'],
  ['openvpn-udp-gcm', 'udp'],
  ['openvpn-tcp', 'tcp'],
];
/** Native variant → server port, and whether UDP acceleration is allowed. */
const NATIVE: [string, number, boolean][] = [
  ['native-443', 443, true],
  ['native-5555-noudp', 5555, false],
];
const UDP_ACCEL_FIRST = 40000, UDP_ACCEL_LAST = 44999; // the server's UDP acceleration ports (Cedar/UdpAccel.h)

const rec = useRecording('softether');

/** The port of the server's end of a flow (`server` true) or of the other end. */
function portAt(f: FlowRecord, server: boolean): number {
  const side = f.src.startsWith('10.231.0.1:') === server ? f.src : f.dst;
  return Number(side.slice(side.lastIndexOf(':') + 1));
}
const serverPort = (f: FlowRecord): number => portAt(f, true);
const clientPort = (f: FlowRecord): number => portAt(f, false);

describe('real SoftEther VPN (vpnserver and its clients in two network namespaces)', () => {
  it('records every variant (or says why it cannot here)', (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    expect([...rec.pcaps.keys()].sort()).toEqual([
      'l2tp', 'native-443', 'native-5555-noudp', 'native-ddns-name', 'natt', 'openvpn-tcp', 'openvpn-udp', 'openvpn-udp-gcm',
    ]);
  });

  it.for(OPENVPN)('%s: SoftEther\'s OpenVPN listener, one flow, OpenVPN from its handshake; registered with the server', async ([variant, transport], ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const pcap = rec.pcaps.get(variant!)!;
    await expectOneTunnel(pcap, { transport: transport!, protocol: 'openvpn', rulePrefix: 'ovpn.', server: SERVER });
    // The server's reset acknowledges the client's session id: the strong echo, as with OpenVPN's own server.
    const [f] = await classifyRecording(pcap);
    expect(f!.evidence.map((e) => e.rule), describeRecords([f!])).toContain('ovpn.reset-echo');
  });

  it('OpenVPN seen mid-stream: SoftEther sends P_DATA_V1 only (no peer id), which alone stays weak and decides nothing', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const v1 = 'udp[8] >= 0x30 and udp[8] <= 0x37';
    // AES-256-GCM: the AEAD packet id at offset 1 rises, the one structure P_DATA_V1 shows (weak evidence).
    const gcm = await classifyCut(rec, 'openvpn-udp-gcm', v1);
    expect(gcm.map((f) => [f.label, [...new Set(f.evidence.map((e) => `${e.rule}:${e.strength}`))]]), describeRecords(gcm)).toEqual([['ordinary', ['ovpn.data:weak']]]);
    // AES-128-CBC with SHA1 (the server's OpenVpnMakeConfig sample): HMAC and IV follow the opcode, nothing counts.
    const cbc = await classifyCut(rec, 'openvpn-udp', v1);
    expect(cbc.map((f) => [f.label, f.evidence.length]), describeRecords(cbc)).toEqual([['ordinary', 0]]);
  });

  it('l2tp: SoftEther\'s raw L2TP LNS, one flow, L2TP from the control connection; registered with the server', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    await expectOneTunnel(rec.pcaps.get('l2tp')!, { transport: 'udp', protocol: 'l2tp', rulePrefix: 'l2tp.control', server: SERVER });
  });

  it('l2tp data messages alone (SoftEther\'s LCP answers among them): still L2TP', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const flows = await classifyCut(rec, 'l2tp', 'udp[8] & 0x80 == 0');
    const seen = describeRecords(flows);
    expect(flows.map((f) => [f.label, f.protocol]), seen).toEqual([['unregistered_vpn', 'l2tp']]);
    expect(flows[0]!.evidence.some((e) => e.rule.startsWith('l2tp.data')), seen).toBe(true);
  });

  it.for(NATIVE)('%s: the native session inside TLS is ordinary, registered or not; the endpoint list names it', async ([variant, port, udpAccel], ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const pcap = rec.pcaps.get(variant!)!;
    for (const registered of [undefined, [`${SERVER},Recording Org`]]) {
      const flows = await classifyRecording(pcap, registered);
      const seen = describeRecords(flows);
      expect(flows.filter((f) => f.label !== 'ordinary' || f.evidence.length > 0), seen).toEqual([]);
      // The session's TLS connections (vpnclient opens a second one), ordinary like any HTTPS.
      expect(flows.filter((f) => f.transport === 'tcp' && serverPort(f) === port).length, seen).toBeGreaterThanOrEqual(1);
      // UDP acceleration: encrypted datagrams to the server's acceleration range, with no rule of their own.
      // The server's NetBIOS queries to the client's port 137 leave from an ephemeral port, which can fall in the same
      // range: acceleration runs between two unprivileged ports.
      const accel = flows.filter((f) => f.transport === 'udp' && serverPort(f) >= UDP_ACCEL_FIRST && serverPort(f) <= UDP_ACCEL_LAST && clientPort(f) >= 1024);
      expect(accel.length > 0, seen).toBe(udpAccel);
    }
    const listed = await classifyRecording(pcap, undefined, [`${SERVER},SoftEther gateway`]);
    expect(new Set(listed.map((f) => `${f.label} ${f.evidence.map((e) => e.rule).join(',')}`)), describeRecords(listed)).toEqual(
      new Set(['unregistered_vpn endpoint.list']),
    );
    const both = await classifyRecording(pcap, [`${SERVER},Recording Org`], [`${SERVER},SoftEther gateway`]);
    expect(new Set(both.map((f) => `${f.label} ${f.registrant}`)), describeRecords(both)).toEqual(new Set(['registered_vpn Recording Org']));
  });

  it('native-ddns-name: the TLS connections carry the softether.net name (sni.list), the rest stays ordinary; registered with the server', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const pcap = rec.pcaps.get('native-ddns-name')!;
    const flows = await classifyRecording(pcap);
    const seen = describeRecords(flows);
    const tls = flows.filter((f) => f.transport === 'tcp' && serverPort(f) === 443);
    expect(tls.length, seen).toBeGreaterThanOrEqual(1);
    for (const f of tls) {
      expect([f.label, f.protocol, f.evidence.map((e) => e.rule)], seen).toEqual(['unregistered_vpn', 'vpn-provider', ['sni.list']]);
      expect(f.evidence[0]!.reason, seen).toContain('tunnelscope-test.softether.net');
    }
    // UDP acceleration, NetBIOS and the R-UDP attempts: nothing ties them to the named session by rule.
    expect(flows.filter((f) => !tls.includes(f)).map((f) => f.label), seen).toEqual(flows.filter((f) => !tls.includes(f)).map(() => 'ordinary'));
    const reg = await classifyRecording(pcap, [`${SERVER},Recording Org`]);
    const regTls = reg.filter((f) => f.transport === 'tcp' && serverPort(f) === 443);
    expect(new Set(regTls.map((f) => `${f.label} ${f.registrant}`)), describeRecords(reg)).toEqual(new Set(['registered_vpn Recording Org']));
  });

  it('natt: the server\'s NAT-traversal Pack to UDP 5004 is SoftEther (softether.pack); lone one-byte queries are nothing', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const pcap = rec.pcaps.get('natt')!;
    const flows = await classifyRecording(pcap);
    const seen = describeRecords(flows);
    const pack = flows.filter((f) => f.label !== 'ordinary');
    expect(pack.map((f) => [f.transport, f.label, f.protocol, f.evidence.map((e) => `${e.rule}:${e.strength}`)]), seen).toEqual([
      ['udp', 'unregistered_vpn', 'softether', ['softether.pack:strong']],
    ]);
    expect(pack[0]!.dst, seen).toMatch(/:5004$/);
    // The UDP acceleration sockets' queries (one byte each, never answered here) stay ordinary, without evidence.
    expect(flows.filter((f) => f.label === 'ordinary').every((f) => f.evidence.length === 0 && f.dst.endsWith(':5004')), seen).toBe(true);
    const reg = await classifyRecording(pcap, [`${SERVER},Recording Org`]);
    expect(reg.filter((f) => f.label !== 'ordinary').map((f) => [f.label, f.protocol, f.registrant]), describeRecords(reg)).toEqual([
      ['registered_vpn', 'softether', 'Recording Org'],
    ]);
  });
});
