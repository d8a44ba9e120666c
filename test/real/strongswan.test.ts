/**
 * strongSwan as Debian ships it (scripts/record/strongswan.sh): IKEv2 and IKEv1 (main and aggressive mode, Mode
 * Config, fragmentation) between two network namespaces, with NAT-T's UDP 4500 and ESP-in-UDP; every flow of the
 * tunnel labelled IPsec from its own IKE or ESP structure, nothing else VPN, all registered when the responder is.
 */
import { describe, expect, it } from 'vitest';
import { classifyRecording, describeRecords, expectOneTunnel, useRecording } from '../helpers/real-recording.js';
import { expectTunnelFlows, type TunnelFlow } from '../helpers/real-tunnels.js';

const RESPONDER = '10.231.0.1/32';
const IKE_500: TunnelFlow = { transport: 'udp', ports: [500, 500], protocol: 'ipsec', rules: ['ike.message'] };
const NATT_V2: TunnelFlow = { transport: 'udp', ports: [4500, 4500], protocol: 'ipsec', rules: ['ike.message', 'ike.natt-float'] };
/**
 * IKEv1 after the switch to 4500: encrypted bodies (ike.header), the second of them on the same SPI pair (ike.v1-sa:
 * strong, so inspection may end before a reply echo is seen), the float from 500.
 */
const V1_4500: TunnelFlow = { transport: 'udp', ports: [4500, 4500], protocol: 'ipsec', rules: ['ike.header', 'ike.v1-sa', 'ike.natt-float'] };
const VARIANTS: Record<string, TunnelFlow[]> = {
  ikev2: [IKE_500],
  'ikev2-natt': [IKE_500, NATT_V2],
  // RFC 7383 fragments (SKF) on 4500.
  'ikev2-fragments': [IKE_500, NATT_V2],
  // Started on 4500: IKE_SA_INIT from the initiator's port 500 to 4500, then 4500 on both sides.
  'ikev2-4500': [{ transport: 'udp', ports: [500, 4500], protocol: 'ipsec', rules: ['ike.message'] }, NATT_V2],
  ikev1: [IKE_500, V1_4500],
  'ikev1-aggressive': [IKE_500, V1_4500],
  'ikev1-modecfg': [IKE_500, V1_4500],
  'ikev1-fragments': [IKE_500, V1_4500],
};

const rec = useRecording('strongswan');

describe('real strongSwan (charon + swanctl, two network namespaces)', () => {
  it('records every variant (plain ESP only where the kernel has ESP), or says why it cannot here', (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const want = [...Object.keys(VARIANTS), 'ikev2-natt-esp-only', 'ikev1-modecfg-transaction'];
    expect([...rec.pcaps.keys()].filter((v) => v !== 'esp').sort()).toEqual(want.sort());
  });

  it.for(Object.keys(VARIANTS))('%s: each flow IPsec from its own IKE structure, unregistered; registered with the responder', async (variant, ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    await expectTunnelFlows(rec.pcaps.get(variant)!, VARIANTS[variant]!, RESPONDER);
  });

  it('ESP-in-UDP alone (a capture that joins after the handshake): the SPI and +1 sequence run on 4500', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    await expectOneTunnel(rec.pcaps.get('ikev2-natt-esp-only')!, { transport: 'udp', protocol: 'ipsec', rulePrefix: 'natt.esp', server: RESPONDER });
  });

  it('the Mode Config Transaction exchange (type 6) alone: an encrypted IKEv1 request and the reply echoing its SPIs', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const want: TunnelFlow = { transport: 'udp', ports: [4500, 4500], protocol: 'ipsec', rules: ['ike.header', 'ike.reply'] };
    await expectTunnelFlows(rec.pcaps.get('ikev1-modecfg-transaction')!, [want], RESPONDER);
  });

  it('plain ESP (IP protocol 50) when the kernel could carry it', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const pcap = rec.pcaps.get('esp');
    if (!pcap) ctx.skip('this kernel has no ESP (CONFIG_INET_ESP), so strongSwan could not send IP protocol 50');
    // ESP flows are keyed by SPI: one per direction of the CHILD_SA.
    const flows = await classifyRecording(pcap!);
    const seen = describeRecords(flows);
    const esp = flows.filter((f) => f.transport === 'esp');
    expect(esp.length, seen).toBeGreaterThan(0);
    expect(flows.length, seen).toBe(esp.length + 1);
    for (const f of flows) expect([f.label, f.protocol], seen).toEqual(['unregistered_vpn', 'ipsec']);
    for (const f of esp) expect(f.evidence.some((e) => e.rule.startsWith('esp.')), seen).toBe(true);
  });
});
