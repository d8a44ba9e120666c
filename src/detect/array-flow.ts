/**
 * A FlowView over plain arrays of packets: for tests, the Node middleware adapter (which sees first bytes of a
 * socket, not a capture) and anywhere a flow is assembled outside the flow table.
 */
import type { FlowView } from './types.js';

export interface ArrayPacket {
  /** 0 = initiator to responder, 1 = reverse. */
  dir: number;
  /** Captured payload bytes (may be a prefix of the wire payload). */
  bytes: Uint8Array;
  /** Payload length on the wire; defaults to bytes.length. */
  len?: number;
}

export class ArrayFlowView implements FlowView {
  readonly transport: number;
  readonly ipVersion: 4 | 6;
  readonly srcPort: number;
  readonly dstPort: number;
  private readonly packets: ArrayPacket[];
  /** When set, only the first n packets are visible (simulates incremental arrival). */
  private visible: number;

  constructor(
    init: { transport: number; srcPort?: number; dstPort?: number; ipVersion?: 4 | 6 },
    packets: ArrayPacket[] = [],
  ) {
    this.transport = init.transport;
    this.srcPort = init.srcPort ?? 0;
    this.dstPort = init.dstPort ?? 0;
    this.ipVersion = init.ipVersion ?? 4;
    this.packets = packets;
    this.visible = packets.length;
  }

  get nPackets(): number {
    return this.visible;
  }
  /** Append a packet (it becomes the newest and visible). */
  push(p: ArrayPacket): this {
    this.packets.length = this.visible;
    this.packets.push(p);
    this.visible = this.packets.length;
    return this;
  }
  /** Show only the first n packets (for testing early decisions). */
  truncate(n: number): this {
    this.visible = Math.min(n, this.packets.length);
    return this;
  }
  dir(i: number): number {
    return this.packets[i]!.dir;
  }
  len(i: number): number {
    const p = this.packets[i]!;
    return p.len ?? p.bytes.length;
  }
  avail(i: number): number {
    return this.packets[i]!.bytes.length;
  }
  buf(i: number): Uint8Array {
    return this.packets[i]!.bytes;
  }
  start(i: number): number {
    return 0;
  }
}
