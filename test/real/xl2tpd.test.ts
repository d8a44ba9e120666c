/**
 * xl2tpd as Debian ships it (scripts/record/xl2tpd.sh): L2TPv2 over UDP 1701 between two network namespaces, the
 * control connection (also with tunnel authentication) and data messages with and without the length bit; labelled
 * L2TP from the control messages, and from the data messages alone when the capture starts after the control exchange.
 *
 * The acfc variants carry data frames as a pppd that negotiated ACFC (and PFC) sends them — no FF 03, protocol
 * 00 21 or 21 — written by the pppd stand-in (scripts/record/pppd-standin), not by a real pppd, which needs kernel
 * PPP this host lacks; xl2tpd's own userspace data path and the real tcpdump carry and record them. Their cuts to the
 * data messages without FF 03 (a capture that starts after LCP) are recognised from those frames alone.
 */
import { describe, expect, it } from 'vitest';
import { classifyRecording, describeRecords, expectOneTunnel, useRecording } from '../helpers/real-recording.js';

const LNS = '10.231.0.1/32';
const VARIANTS: [string, string][] = [
  ['length', 'l2tp.control'],
  ['nolength', 'l2tp.control'],
  ['challenge', 'l2tp.control'],
  ['data-only', 'l2tp.data'],
  ['nolength-data-only', 'l2tp.data'],
  ['acfc', 'l2tp.control'],
  ['acfc-pfc', 'l2tp.control'],
  ['acfc-data-only', 'l2tp.data'],
  ['acfc-pfc-data-only', 'l2tp.data'],
];

const rec = useRecording('xl2tpd');

describe('real xl2tpd (LAC and LNS in two network namespaces)', () => {
  it('records every variant (or says why it cannot here)', (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    expect([...rec.pcaps.keys()].sort()).toEqual(VARIANTS.map(([v]) => v).sort());
  });

  it.for(VARIANTS)('%s: one flow, L2TP (%s), unregistered; registered with the LNS', async ([variant, rule], ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    await expectOneTunnel(rec.pcaps.get(variant!)!, { transport: 'udp', protocol: 'l2tp', rulePrefix: rule!, server: LNS });
  });

  it.for([
    ['acfc-data-only', 'PPP IPv4 (ACFC): protocol 0021'],
    ['acfc-pfc-data-only', 'PPP IPv4 (ACFC+PFC): protocol 21'],
  ])('%s: the compressed frames alone make the run (no FF 03 in the capture)', async ([variant, text], ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const flows = await classifyRecording(rec.pcaps.get(variant!)!);
    const seen = describeRecords(flows);
    expect(flows, seen).toHaveLength(1);
    const ev = flows[0]!.evidence;
    // The verdict is final at the first run of three (either direction, whichever completes first).
    expect([...new Set(ev.map((e) => e.rule))].sort(), seen).toEqual(['l2tp.data', 'l2tp.data-session']);
    expect(ev.find((e) => e.rule === 'l2tp.data')!.reason).toContain(text);
    expect(ev.find((e) => e.rule === 'l2tp.data')!.reason).toContain('IPv4 total length 36 == the 36 bytes remaining');
  });
});
