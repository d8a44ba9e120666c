/**
 * The IPFIX information elements tunnelscope exports (RFC 7011 encoding, IANA "IPFIX Information Elements"
 * numbers of RFC 7012 / RFC 5103 / RFC 6759) and its enterprise-specific elements.
 *
 * Enterprise elements are numbered under a private enterprise number (PEN). 32473 is IANA's documentation PEN
 * (RFC 5612): a placeholder until the project registers its own, so collectors should not rely on it
 * across deployments; `IpfixOptions.enterpriseNumber` sets another.
 */

/** IANA's PEN reserved for documentation (RFC 5612): tunnelscope's placeholder. */
export const DOCUMENTATION_PEN = 32473;
/** RFC 5103 reverse information elements: the forward element's number under this PEN. */
export const REVERSE_PEN = 29305;

/** IANA information element ids used in the templates. */
export const IE = {
  octetDeltaCount: 1,
  packetDeltaCount: 2,
  protocolIdentifier: 4,
  sourceTransportPort: 7,
  sourceIPv4Address: 8,
  destinationTransportPort: 11,
  destinationIPv4Address: 12,
  sourceIPv6Address: 27,
  destinationIPv6Address: 28,
  vlanId: 58,
  applicationName: 96,
  flowEndReason: 136,
  flowStartMilliseconds: 152,
  flowEndMilliseconds: 153,
} as const;

/** tunnelscope's enterprise-specific elements (under the configured PEN). */
export const TS_IE = {
  /** string: registered_vpn | unregistered_vpn | ordinary */
  label: 1,
  /** string: registrant id of the registered prefix ('' when none) */
  registrant: 2,
  /** float64: confidence 0..1 */
  confidence: 3,
  /** unsigned32: version of the list snapshot the verdict used */
  listVersion: 4,
  /** string: the deciding evidence rule id ('' when none) */
  rule: 5,
  /** unsigned16: inspected payload packets the capture cut short (FlowRecord.payloadCut; 0 when none) */
  payloadCut: 6,
  /** boolean (RFC 7011 §6.1.5: 1 true, 2 false): a flow-table cap cut the flow's inspection short (FlowRecord.captureCapped) */
  captureCapped: 7,
} as const;

/**
 * flowEndReason values (IANA registry): why tunnelscope ended the flow. Without a prototype, so an `end` such as
 * 'constructor' is unknown (0) rather than a function.
 */
export const FLOW_END_REASON: Readonly<Record<string, number>> = Object.freeze(Object.assign(Object.create(null) as Record<string, number>, {
  idle: 0x01, // idle timeout
  fin: 0x03, // end of flow detected
  rst: 0x03,
  eof: 0x04, // forced end (end of input)
  stop: 0x04, // forced end (the run was stopped)
  evicted: 0x05, // lack of resources (flow table full)
}));

/** Variable-length field marker in a template (RFC 7011 §7). */
export const VARLEN = 0xffff;

export interface FieldSpec {
  readonly id: number;
  readonly length: number;
  /** Enterprise number, or 0 for an IANA element. */
  readonly pen: number;
}
