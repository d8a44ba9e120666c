/**
 * Microsoft SSTP as Debian's sstp-client makes it (scripts/record/sstp.sh), against SoftEther's SSTP server function,
 * recorded three ways. On the TLS hop (`tls`) a gateway sees a TLS ClientHello to 443 and nothing of SSTP: the flow is
 * ordinary, registered or not, and only the operator's endpoint list names the server (parts/3 §"SSL VPNs": never a
 * lone TLS flow from port or shape). Behind a TLS terminator (`clear`, the cleartext hop of a socat offloader) the
 * client's request line `SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/` is in clear: `sstp.http`,
 * strong (parts/3 §"SSTP packet layout"; MS-SSTP §4.1 provides for plain HTTP behind a TLS-terminating edge device).
 * Debian's SoftEther 5.01.9674 never answers that request (its SSTP hand-over returns false: see the recorder), so
 * `clear` holds the request alone; `clear-standin` puts scripts/record/sstp-server-standin.mjs at the end of the same
 * hop, and the real client goes on to its CALL_CONNECT_REQUEST, echo response and data packets. `sstp.http` decides
 * the flow at its first packet (strong evidence is final), so `sstp.control` shows on a capture that starts after the
 * HTTP set-up: medium items, the label left ordinary (the detector makes a control packet strong only after the
 * request line of the same flow).
 */
import { describe, expect, it } from 'vitest';
import { classifyCut, classifyRecording, describeRecords, expectOneTunnel, useRecording } from '../helpers/real-recording.js';

const SERVER = '10.231.0.1/32'; // scripts/record/netns-pair.sh's server address
const rec = useRecording('sstp');

describe('real SSTP (sstpc against SoftEther, and behind a TLS terminator)', () => {
  it('records every variant (or says why it cannot here)', (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    expect([...rec.pcaps.keys()].sort()).toEqual(['clear', 'clear-standin', 'tls']);
  });

  it.for(['clear', 'clear-standin'])('%s: the cleartext hop is one TCP flow, SSTP by its request line (sstp.http, strong); registered with the server', async (variant, ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const pcap = rec.pcaps.get(variant)!;
    await expectOneTunnel(pcap, { transport: 'tcp', protocol: 'sstp', rulePrefix: 'sstp.http', server: SERVER });
    const [f] = await classifyRecording(pcap);
    const seen = describeRecords([f!]);
    expect(f!.evidence.map((e) => [e.rule, e.strength, e.packet]), seen).toEqual([['sstp.http', 'strong', 0]]);
    // sstpc's request carries the two headers MS-SSTP asks for; the hop's port is the terminator's choice, not 443.
    expect(f!.evidence[0]!.reason, seen).toContain('Content-Length 2^64-1, SSTPCORRELATIONID header');
    expect(f!.dst, seen).toMatch(/^10\.231\.0\.1:\d+$/);
    expect(f!.dst.endsWith(':443'), seen).toBe(false);
  });

  it('clear-standin from its first SSTP packet on (no HTTP seen): the real CALL_CONNECT_REQUEST and echo response are sstp.control, medium, and decide nothing', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    // SSTP control packets only (version 1.0, C bit): CALL_CONNECT_REQUEST, the stand-in's ACK, its echo request, the
    // client's echo response.
    const flows = await classifyCut(rec, 'clear-standin', 'tcp[((tcp[12:1] & 0xf0) >> 2):2] = 0x1001');
    const seen = describeRecords(flows);
    expect(flows.map((f) => [f.transport, f.label, f.protocol]), seen).toEqual([['tcp', 'ordinary', null]]);
    const ev = flows[0]!.evidence;
    expect(new Set(ev.map((e) => `${e.rule}:${e.strength}`)), seen).toEqual(new Set(['sstp.control:medium']));
    // The client's own packets: message type 1 (14 bytes, the encapsulated-protocol attribute: PPP) and 9.
    expect(ev.find((e) => e.packet === 0)?.reason, seen).toContain('length 14 = segment length, message type 1');
    expect(ev.some((e) => e.reason.includes('length 8 = segment length, message type 9')), seen).toBe(true);
  });

  it('tls: the TLS hop is ordinary without evidence, registered or not; the endpoint list names the server', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const pcap = rec.pcaps.get('tls')!;
    for (const registered of [undefined, [`${SERVER},Recording Org`]]) {
      const flows = await classifyRecording(pcap, registered);
      const seen = describeRecords(flows);
      expect(flows.map((f) => [f.transport, f.dst.endsWith(':443'), f.label, f.protocol, f.evidence.length]), seen).toEqual([
        ['tcp', true, 'ordinary', null, 0],
      ]);
    }
    const listed = await classifyRecording(pcap, undefined, [`${SERVER},SSTP gateway`]);
    expect(listed.map((f) => `${f.label} ${f.evidence.map((e) => e.rule).join(',')}`), describeRecords(listed)).toEqual([
      'unregistered_vpn endpoint.list',
    ]);
    const both = await classifyRecording(pcap, [`${SERVER},Recording Org`], [`${SERVER},SSTP gateway`]);
    expect(both.map((f) => `${f.label} ${f.registrant}`), describeRecords(both)).toEqual(['registered_vpn Recording Org']);
  });
});
