/** Public types of the classifier. */
import type { Evidence } from '../detect/types.js';

export type Label = 'registered_vpn' | 'unregistered_vpn' | 'ordinary';

export interface Verdict {
  label: Label;
  /** Protocol of the deciding evidence (`wireguard`, `openvpn`, `ipsec`, `vpn-provider`…) or null when ordinary. */
  protocol: string | null;
  /** 0..1; see the combination table in the README. */
  confidence: number;
  /** Registrant id of the most specific registered prefix covering an endpoint (registered_vpn only). */
  registrant: string | null;
  /** Which endpoint lies in the registered prefix (registered_vpn only). */
  registeredSide: 'src' | 'dst' | null;
  /** Every item the verdict used, detectors first, then lists and registration. */
  evidence: Evidence[];
  /** Version of the list snapshot the verdict was computed against. */
  listVersion: number;
  /** Payload packets seen when the verdict became final (0 when decided from addresses alone). */
  decidedAtPacket: number;
  /**
   * Inspected payload packets whose captured bytes ended before their length on the wire (a snap length, a
   * packet broker's slicing): rules that read past the cut could not run, so an `ordinary` verdict on such a flow
   * has confidence 0.6. Absent or 0: every inspected packet was seen whole.
   */
  payloadCut?: number;
  /**
   * A memory cap of the flow table (`maxCapturingFlows`, `maxLongCapturingFlows`) stopped recording the flow's
   * payload while its detectors still wanted packets: an `ordinary` verdict on it has confidence 0.6, as for a cut
   * payload. Absent or false: the detectors saw every packet they asked for.
   */
  captureCapped?: boolean;
}
