/**
 * Nebula as Debian ships it (scripts/record/nebula.sh): two nodes in two namespaces, handshake then data both ways,
 * labelled Nebula from the stage-1 handshake; registered with the peer's address; and the same session seen from its
 * data packets alone (the capture cut after the handshake).
 */
import { describe, expect, it } from 'vitest';
import { classifyCut, describeRecords, expectOneTunnel, useRecording } from '../helpers/real-recording.js';

const rec = useRecording('nebula');

describe('real Nebula (nebula 1.6, two namespaces)', () => {
  it('records its capture (or says why it cannot here)', (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    expect([...rec.pcaps.keys()]).toEqual(['ipv4']);
  });

  it('handshake and data: one flow, Nebula, unregistered; registered with its peer', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    await expectOneTunnel(rec.pcaps.get('ipv4')!, { transport: 'udp', protocol: 'nebula', rulePrefix: 'nebula.stage1', server: '10.231.0.1/32' });
  });

  it('its data packets alone (byte 0 0x11: version 1, message) are Nebula on the data rule', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const flows = await classifyCut(rec, 'ipv4', 'udp[8] = 0x11');
    const seen = describeRecords(flows);
    expect(flows.map((f) => [f.label, f.protocol]), seen).toEqual([['unregistered_vpn', 'nebula']]);
    expect(flows[0]!.evidence.map((e) => e.rule), seen).toEqual(['nebula.data']);
  });
});
