/**
 * xl2tpd as Debian ships it (scripts/record/xl2tpd.sh): L2TPv2 over UDP 1701 between two network namespaces, the
 * control connection (also with tunnel authentication) and data messages with and without the length bit; labelled
 * L2TP from the control messages, and from the data messages alone when the capture starts after the control exchange.
 */
import { describe, expect, it } from 'vitest';
import { expectOneTunnel, useRecording } from '../helpers/real-recording.js';

const LNS = '10.231.0.1/32';
const VARIANTS: [string, string][] = [
  ['length', 'l2tp.control'],
  ['nolength', 'l2tp.control'],
  ['challenge', 'l2tp.control'],
  ['data-only', 'l2tp.data'],
  ['nolength-data-only', 'l2tp.data'],
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
});
