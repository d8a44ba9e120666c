/**
 * Contracts of the trace layer: the reusable packet view the decoder fills, and the flow handle the flow table
 * hands to its listener. Both are flyweights: re-aimed at each packet/flow, valid only during the callback.
 */
import type { FlowView } from '../flow/view.js';

/** pcap LINKTYPE_* values the decoder understands. */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101; // also DLT 12 / 14 on some systems
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;
export const LINKTYPE_NFLOG = 239;
export const LINKTYPE_PFLOG = 117;

/** Tunnel a flow was found inside (0 = none). */
export type EncapName = 'ipip' | 'gre' | 'gtp' | 'vxlan' | 'capwap' | 'pptp' | 'geneve';
export const ENCAP_NONE = 0;
export const ENCAP_NAMES: readonly (EncapName | null)[] = [null, 'ipip', 'gre', 'gtp', 'vxlan', 'capwap', 'pptp', 'geneve'];

/** One captured frame as read from a capture (the reader reuses the object). */
/**
 * -0, a heap number equal to 0: the first value of a reused packet object's fields that may later hold numbers
 * beyond a small integer (microsecond times, 32-bit addresses, SPIs, lengths from a record header). V8 then gives
 * the field a double representation from the start; started as 0, the first big value mid-run changes the
 * object's shape and throws away every optimised function that saw it (see newPacketView).
 */
export const DOUBLE = -0;

export interface RawPacket {
  /** Underlying bytes; the frame is data[offset, offset+capLen). Valid only during the callback. */
  data: Uint8Array;
  offset: number;
  capLen: number;
  /** Original length on the wire. */
  wireLen: number;
  /** Timestamp, integer microseconds since the epoch (nanosecond captures are rounded down). */
  tsUs: number;
  linkType: number;
}

/**
 * A decoded packet: offsets into `data`, no copies. Fields of layers that are absent are 0 / -1.
 * For tunnelled packets the fields describe the innermost decoded IP packet and `encap` names the tunnel.
 */
export interface PacketView {
  data: Uint8Array;
  tsUs: number;
  wireLen: number;
  /** Innermost 802.1Q/802.1ad VLAN id (as the corpus truth records it; `Decoder({ vlan: "outer" })` for the outer), or -1. */
  vlan: number;
  /** ENCAP_* index of the innermost tunnel opened, 0 when none. */
  encap: number;
  ipVersion: 4 | 6;
  /** Offset of the (innermost) IP header. */
  l3Off: number;
  /** Offsets of source and destination address (4 or 16 bytes) in `addrData`, or in `data` when that is null. */
  srcOff: number;
  dstOff: number;
  /**
   * Where the addresses are when not in `data`: null for a decoded packet; a packet built from a socket's numbers
   * (tunnelscope/node) carries its IPv6 addresses here and the datagram alone in `data`.
   */
  addrData: Uint8Array | null;
  /** IPv4 addresses as uint32 (0 for IPv6). */
  src4: number;
  dst4: number;
  /** IP protocol number of the transport after extension headers. */
  proto: number;
  srcPort: number;
  dstPort: number;
  /** ESP SPI (0 otherwise); used in flow keys for ESP. */
  spi: number;
  /** TCP flags byte (0 for non-TCP). */
  tcpFlags: number;
  /** Payload offset (L4 payload for TCP/UDP, IP payload for others) and bytes available in the capture. */
  payloadOff: number;
  payloadLen: number;
  /** Payload length according to the IP header (can exceed payloadLen when snaplen cut it). */
  payloadWireLen: number;
  /** Fragment handling: a non-first fragment carries no ports; it is attributed to its flow by (src,dst,proto,id). */
  isFragment: boolean;
  fragOffset: number;
  fragId: number;
  moreFragments: boolean;
  /**
   * Fragments only (0 otherwise): offset in `data` of the fragment's data — the first byte after the IPv4 header
   * or after the IPv6 Fragment header (for a first fragment that is where its transport header starts) — and its
   * length according to the IP header (the captured part may be shorter).
   */
  fragDataOff: number;
  fragDataLen: number;
}

/** Why a flow ended: idle timeout, eviction at the cap, TCP FIN/RST, end of input (`eof`), or the run was stopped (`stop`: a signal). */
export type EndReason = 'idle' | 'evicted' | 'fin' | 'rst' | 'eof' | 'stop';

/** A tracked flow as the flow table's listener sees it. */
export interface FlowHandle {
  /** Slot index, stable for the flow's life; reused after it ends. Use it to index per-flow side arrays. */
  readonly id: number;
  readonly transport: number;
  readonly ipVersion: 4 | 6;
  readonly vlan: number;
  readonly encap: number;
  /** Initiator and responder ports (0 for portless). */
  readonly srcPort: number;
  readonly dstPort: number;
  /** IPv4 initiator/responder as uint32 (0 for IPv6). */
  readonly src4: number;
  readonly dst4: number;
  /** IPv6 addresses: 16 bytes at `addrBytes()` offsets `src6Off()` / `dst6Off()`. */
  addrBytes(): Uint8Array;
  src6Off(): number;
  dst6Off(): number;
  readonly packetsFwd: number;
  readonly packetsRev: number;
  readonly bytesFwd: number;
  readonly bytesRev: number;
  readonly firstSeenUs: number;
  readonly lastSeenUs: number;
  /** OR of TCP flags seen in either direction. */
  readonly tcpFlags: number;
  /**
   * TCP: the connection is closed (a RST, or FIN from both sides and the final ACK). It stays in the table for the
   * linger time, absorbing trailing packets, and ends with reason `fin`/`rst`.
   */
  readonly closed: boolean;
  /** Payload packets and their first bytes, for detectors. */
  readonly view: FlowView;
  /** Stop recording payload snippets for this flow and release their storage (detection is final). */
  stopCapture(): void;
  /**
   * Make sure the flow can record its next payload packet (up to the table's `maxPayloadPackets`), taking a
   * long-tier slot now if it needs one. False when it cannot: recording ended, the limit is reached, or the long
   * tier is full (`stats.captureShort`; the flow keeps what it has). Lets a consumer know at once whether the packets
   * it has are all it will get.
   */
  extendCapture(): boolean;
  /**
   * A capture cap stopped this flow's recording while detection still wanted packets: the snippet pool was full
   * when it started or outgrew its first slot (`maxCapturingFlows`, `stats.captureSkipped`), or the long tier was
   * full at its 8th packet (`maxLongCapturingFlows`, `stats.captureShort`). Its detectors saw fewer packets than
   * their budget, so a verdict on it says so.
   */
  readonly captureCapped: boolean;
  /** Formatted endpoints `ip:port`, `[ipv6]:port` or bare IP (allocates: call at flow end). */
  srcText(): string;
  dstText(): string;
}
