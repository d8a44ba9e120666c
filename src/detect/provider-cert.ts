/**
 * VPN-provider server certificates — reference part 3 §VPN-provider names ("certificate name (TLS ≤ 1.2) on the
 * list → medium"). Commercial VPN providers that run their own certificate authority put their organisation in
 * the subject of their VPN servers' certificates; the starter table documents `O=Private Internet Access` and
 * `O=Windscribe`. That is a name statement (medium, kind `name`): the flow talks to the provider's service.
 * (Certificate CNs that are host names are matched against the domain list by the classifier instead.)
 * Looks at: the server's first TLS records in the newest packet (TLS ≤ 1.2 Certificate message).
 */
import type { Detector, Evidence, FlowView } from './types.js';
import { IPPROTO_TCP } from './types.js';
import { parseServerCertificate } from './names/cert.js';

/** Subject organisation → provider, from the reference's starter table. Exact, case-sensitive match. */
export const PROVIDER_CERT_ORGS: ReadonlyMap<string, string> = new Map([
  ['Private Internet Access', 'Private Internet Access'],
  ['Windscribe', 'Windscribe'],
]);

export const providerCert: Detector = {
  id: 'provider-cert',
  transports: [IPPROTO_TCP],
  carriers: ['tls'],
  maxPackets: 4,
  rules: { 'cert.org': 'TLS ≤ 1.2 server certificate subject O= names a VPN provider (reference starter table)' },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0 || f.dir(i) !== 1) return null;
    const b = f.buf(i), s = f.start(i);
    if (f.avail(i) < 16 || b[s] !== 0x16) return null;
    const cert = parseServerCertificate(b, s, s + f.avail(i));
    const provider = cert?.o ? PROVIDER_CERT_ORGS.get(cert.o) : undefined;
    if (!cert || provider === undefined) return null;
    return [
      {
        source: 'provider-cert',
        protocol: 'vpn-provider',
        strength: 'medium',
        kind: 'name',
        rule: 'cert.org',
        reason: `packet ${i}: server certificate subject O=${cert.o}${cert.cn ? `, CN=${cert.cn}` : ''} (VPN provider ${provider})`,
        packet: i,
      },
    ];
  },
};
