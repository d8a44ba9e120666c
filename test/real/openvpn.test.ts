/**
 * OpenVPN 2.x as Debian ships it (scripts/record/openvpn.sh): over UDP and TCP, plain and with each control-channel
 * wrapper, the tunnel labelled OpenVPN from its own handshake, registered when its server is registered.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { expectOneTunnel, record, type Recording } from '../helpers/real-recording.js';

const VARIANTS = ['tcp', 'tcp-tls-crypt', 'udp', 'udp-tls-auth', 'udp-tls-crypt', 'udp-tls-crypt-v2'];
let rec: Recording;
beforeAll(() => {
  rec = record('openvpn');
}, 180_000);

describe('real OpenVPN (Debian openvpn, --dev null on 127.0.0.1)', () => {
  it('records every variant (or says why it cannot here)', (ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    expect([...rec.pcaps.keys()].sort()).toEqual(VARIANTS);
  });

  it.for(VARIANTS)('%s: one flow, OpenVPN, unregistered; registered with its server', async (variant, ctx) => {
    if (rec.skip) ctx.skip(rec.skip);
    const transport = variant.startsWith('tcp') ? 'tcp' : 'udp';
    await expectOneTunnel(rec.pcaps.get(variant)!, { transport, protocol: 'openvpn', rulePrefix: 'ovpn.', server: '127.0.0.1/32' });
  });
});
