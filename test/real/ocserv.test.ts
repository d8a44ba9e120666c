/**
 * The AnyConnect protocol as Debian's ocserv and openconnect speak it (scripts/record/ocserv.sh): the CSTP
 * connection over TLS and its DTLS data channel in each DTLS mode ocserv offers, behind a firewall that drops DTLS,
 * and a session over TLS alone.
 * Without decryption the TLS flow shows only a ClientHello to an unlisted name; what makes it a VPN is the DTLS
 * companion the client opens to the same server and port (parts/3 §"SSL VPNs", evidence rules), and the
 * pre-standard `01 00` DTLS names the product itself. The TLS-only session carries nothing a passive gateway may
 * call a VPN (a lone TLS flow is never labelled from port, size or duration), and registering its server does not
 * change that: registration alone never makes ordinary traffic VPN.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { classifyRecording, describeRecords, record, type Recording } from '../helpers/real-recording.js';

const SERVER = '198.18.0.0/15'; // the recorder's veth pair is carved from this range (RFC 2544 benchmarking)
let rec: Recording;
beforeAll(() => {
  rec = record('ocserv');
}, 180_000);

/** Variant → protocol of both flows and the rules that must be among the UDP flow's evidence. */
const WITH_DTLS: [string, string, string[]][] = [
  ['default', 'ssl-vpn', ['sslvpn.companion-dtls']], // PSK-NEGOTIATE: standard DTLS 1.2, nothing product-specific in clear
  ['dtls12-resume', 'ssl-vpn', ['sslvpn.companion-dtls']], // Cisco's DTLS 1.2 mode: resumption of the CSTP-given session
  ['dtls-legacy', 'anyconnect', ['anyconnect.dtls-legacy', 'sslvpn.companion-dtls']], // pre-standard 01 00
  ['dtls-blocked', 'ssl-vpn', ['sslvpn.companion-dtls']], // a firewall drops the DTLS port: unanswered ClientHellos
];

describe('real AnyConnect protocol (ocserv in a namespace, openconnect --script-tun)', () => {
  it('records every variant (or says why it cannot here)', (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    expect([...rec.pcaps.keys()].sort()).toEqual(['default', 'dtls-blocked', 'dtls-legacy', 'dtls12-resume', 'no-dtls']);
  });

  it('dtls-blocked: the DTLS flow that gets no answer is one-way, yet its ClientHello ties it to the TLS flow', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const flows = await classifyRecording(rec.pcaps.get('dtls-blocked')!);
    const udp = flows.filter((f) => f.transport === 'udp');
    expect(udp.map((f) => [f.dstPackets, f.label]), describeRecords(flows)).toEqual([[0, 'unregistered_vpn']]);
  });

  it.for(WITH_DTLS)('%s: the TLS flow and its DTLS data channel, both VPN (%s); registered with their server', async ([variant, protocol, udpRules], ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const pcap = rec.pcaps.get(variant)!;
    const flows = await classifyRecording(pcap);
    const seen = describeRecords(flows);
    expect(flows.map((f) => [f.transport, f.label, f.protocol]).sort(), seen).toEqual([
      ['tcp', 'unregistered_vpn', protocol],
      ['udp', 'unregistered_vpn', protocol],
    ]);
    const tcp = flows.find((f) => f.transport === 'tcp')!, udp = flows.find((f) => f.transport === 'udp')!;
    expect(tcp.evidence.map((e) => e.rule), seen).toEqual(['sslvpn.companion-dtls']);
    expect(udp.evidence.map((e) => e.rule), seen).toEqual(udpRules);
    // The pair is the one the relation names: same server and port, the DTLS flow named in the TLS flow's reason.
    expect(udp.dst, seen).toBe(tcp.dst);
    expect(tcp.evidence[0]!.reason, seen).toContain(`${udp.src} → ${udp.dst}`);
    const reg = await classifyRecording(pcap, [`${SERVER},Example Corp`]);
    expect(reg.map((r) => [r.transport, r.label, r.protocol, r.registrant]).sort(), describeRecords(reg)).toEqual([
      ['tcp', 'registered_vpn', protocol, 'Example Corp'],
      ['udp', 'registered_vpn', protocol, 'Example Corp'],
    ]);
  });

  it('no-dtls: the TLS-only session stays ordinary, registered server or not (nothing in clear says VPN); the endpoint list names it', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const pcap = rec.pcaps.get('no-dtls')!;
    for (const registered of [undefined, [`${SERVER},Example Corp`]]) {
      const flows = await classifyRecording(pcap, registered);
      expect(flows.map((f) => [f.transport, f.label, f.protocol, f.evidence.length]), describeRecords(flows)).toEqual([['tcp', 'ordinary', null, 0]]);
    }
    // The operator's endpoint list is what names such a gateway: then VPN, and registered when its owner is.
    const listed = await classifyRecording(pcap, undefined, [`${SERVER},Example Corp gateway`]);
    expect(listed.map((f) => [f.label, f.evidence.map((e) => e.rule)]), describeRecords(listed)).toEqual([['unregistered_vpn', ['endpoint.list']]]);
    const both = await classifyRecording(pcap, [`${SERVER},Example Corp`], [`${SERVER},Example Corp gateway`]);
    expect(both.map((f) => [f.label, f.registrant]), describeRecords(both)).toEqual([['registered_vpn', 'Example Corp']]);
  });
});
