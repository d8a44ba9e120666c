/**
 * The read-only view of a flow's payload packets that the flow table fills and detectors read. It lives below
 * both trace/ (which implements it) and detect/ (which consumes it), so neither layer imports the other.
 */

/** Direction of a packet relative to the flow's initiator. */
export const DIR_FWD = 0; // initiator -> responder
export const DIR_REV = 1; // responder -> initiator

/**
 * What a detector sees of a flow. Index `i` runs over the payload-bearing packets recorded so far, in arrival
 * order, both directions. For TCP/UDP the payload is the L4 payload; for portless transports (ESP, AH, GRE,
 * ICMP…) it is the IP payload starting at that protocol's header.
 */
export interface FlowView {
  /** IP protocol number of the flow (6 TCP, 17 UDP, 50 ESP, 51 AH, 47 GRE…). */
  readonly transport: number;
  readonly ipVersion: 4 | 6;
  /** Initiator's port (0 for portless transports). */
  readonly srcPort: number;
  /** Responder's port (0 for portless transports). */
  readonly dstPort: number;
  /** Payload-bearing packets recorded so far. */
  readonly nPackets: number;
  /** 0 = initiator to responder, 1 = reverse. */
  dir(i: number): number;
  /** Payload length of packet i as it was on the wire (may exceed `avail(i)`). */
  len(i: number): number;
  /** How many payload bytes of packet i are available through `buf(i)` from `start(i)`. */
  avail(i: number): number;
  /** Buffer holding packet i's available payload bytes; valid only during the `detect` call. */
  buf(i: number): Uint8Array;
  /** Offset of packet i's first payload byte in `buf(i)`. */
  start(i: number): number;
}

