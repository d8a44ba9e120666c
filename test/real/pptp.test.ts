/**
 * PPTP as Debian's pptpd and pptp-linux make it (scripts/record/pptp.sh): the TCP 1723 control connection and the
 * call's enhanced GRE between two network namespaces, both labelled PPTP, nothing else VPN, registered when the
 * server is; the GRE alone (a capture that starts after the control exchange) still PPTP.
 */
import { describe, expect, it } from 'vitest';
import { expectOneTunnel, useRecording } from '../helpers/real-recording.js';
import { expectTunnelFlows } from '../helpers/real-tunnels.js';

const SERVER = '10.231.0.1/32';
const rec = useRecording('pptp');

describe('real PPTP (pptpd + pptp-linux, two network namespaces)', () => {
  it('records both variants (or says why it cannot here)', (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    expect([...rec.pcaps.keys()].sort()).toEqual(['call', 'gre-only']);
  });

  it('call: the control connection and the GRE, both PPTP, unregistered; registered with the server', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    await expectTunnelFlows(rec.pcaps.get('call')!, [
      { transport: 'tcp', port: 1723, protocol: 'pptp', rules: ['pptp.control'] },
      { transport: 'gre', protocol: 'pptp', rules: ['pptp.gre'] },
    ], SERVER);
  });

  it('gre-only: the enhanced GRE alone, PPTP', async (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    await expectOneTunnel(rec.pcaps.get('gre-only')!, { transport: 'gre', protocol: 'pptp', rulePrefix: 'pptp.gre', server: SERVER });
  });
});
