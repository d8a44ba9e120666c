/**
 * The contract between the streaming reader (reader.ts) and one capture container format (pcap.ts,
 * pcapng.ts). A container is a sequence of self-delimiting units (pcap: file header, then records; pcapng:
 * blocks). The reader finds unit boundaries across chunk edges with `headerLen`/`unitLen` and hands whole
 * units to `run`, so format code never sees a partial unit and never copies.
 */
import { describeValue, InvalidArgumentError, numberOption } from '../errors.js';
import type { RawPacket } from './types.js';

/**
 * A frame handed to a session or pool by an embedder's code (`push`, `pushRaw`): its bytes must be a Uint8Array,
 * the frame [offset, offset+capLen) must lie inside them (no capLen: the whole buffer is the frame), and the link
 * type must be an integer (what the frame
 * *contains* is the stream's business: counted when malformed). Readers always meet this; the decoder bounds its
 * reads by the frame, not by the buffer.
 */
export function checkFrame(where: string, data: unknown, linkType: number, offset = 0, capLen?: number): void {
  if (!(data instanceof Uint8Array)) throw new InvalidArgumentError(`${where}: the frame must be a Uint8Array (or Buffer), got ${describeValue(data)}`);
  if (capLen !== undefined && !(Number.isInteger(offset) && Number.isInteger(capLen) && offset >= 0 && capLen >= 0 && offset + capLen <= data.length)) {
    throw new InvalidArgumentError(`${where}: the frame [offset ${describeValue(offset)}, capLen ${describeValue(capLen)}] must lie inside its ${data.length} bytes`);
  }
  numberOption(`${where}: linkType`, linkType, undefined, 0, 0xffffffff, true);
}

/** Counters of one read. Nothing the reader drops disappears without one of these moving. */
export interface ReaderStats {
  /** Packets delivered to the callback. */
  packets: number;
  /** Input bytes consumed (whole units only). */
  bytes: number;
  /** Packets whose captured length is below their original length (snaplen cut). */
  truncatedRecords: number;
  /** Known blocks that carry no packet (pcapng name resolution, statistics, secrets, custom) and packet
   * blocks that had to be skipped (unknown interface, captured length beyond the block). */
  skippedBlocks: number;
  /** pcapng blocks of a type this reader does not know (skipped by their length). */
  unknownBlocks: number;
  /**
   * Packet blocks among `skippedBlocks` (a per-packet problem, like `badTimestamps`): too short, naming an interface
   * no block described, a captured length beyond the block, or a simple packet block before any interface.
   */
  badPacketBlocks: number;
  /** pcapng interface description blocks seen (pcap: 1). */
  interfaces: number;
  /**
   * Packet records whose timestamp lies outside capture time ({@link isCaptureTime}: an impossible `if_tsresol`,
   * `if_tsoffset` or 64-bit timestamp) or is no time at all (a classic pcap record whose microseconds field is
   * 10^6 or more, nanoseconds 10^9 or more): counted here and not delivered; the packets around them are.
   */
  badTimestamps: number;
}

/**
 * Last microsecond of capture time: 2^53 - 1 µs after the epoch (2255-06-05T23:47:34.740991Z). Up to here
 * microseconds since the epoch are exact integers in a double, so flow durations and idle timeouts are exact;
 * a classic pcap (32-bit seconds) cannot go beyond 2106. pcapng's 64-bit timestamps scaled by `if_tsresol` and
 * shifted by `if_tsoffset` can: such a record is a per-packet problem (ReaderStats.badTimestamps), not a time.
 */
export const MAX_CAPTURE_US = Number.MAX_SAFE_INTEGER;

/**
 * Whether `us` is a capture time tunnelscope accepts: a number in [0, MAX_CAPTURE_US] (1970-01-01 up to 2255).
 * NaN, infinities, negative times and later times are not; sessions count frames with such a time as
 * `bad-timestamp` and readers count such records in `badTimestamps`, so no impossible time reaches a flow.
 */
export function isCaptureTime(us: number): boolean {
  // typeof first: a string such as '5' would pass the comparisons by coercion.
  return typeof us === 'number' && us >= 0 && us <= MAX_CAPTURE_US;
}

/** A unit larger than this is a corrupt length field, not a real record (pcapng tools cap blocks at 16 MiB). */
export const MAX_UNIT_BYTES = 16 * 1024 * 1024;

export interface ContainerParser {
  /** Bytes needed from the start of the next unit before `unitLen` can be called. */
  headerLen(): number;
  /**
   * Total length of the unit starting at `b[o]`; `b` holds at least `headerLen()` bytes from `o`.
   * `fileOff` is the input offset of `b[o]`, for errors.
   * @throws {TraceFormatError} impossible length
   */
  unitLen(b: Uint8Array, o: number, fileOff: number): number;
  /**
   * Parse every complete unit in `b[pos, end)`, calling `onPacket` for packet units, and return the position
   * just after the last complete unit (== `pos` when the first unit is incomplete).
   * @throws {TraceFormatError} malformed unit
   */
  run(b: Uint8Array, pos: number, end: number, fileOff: number, onPacket: (p: RawPacket) => void): number;
}

/**
 * Microseconds (floored) of a nanosecond time given as a number or bigint, as the push doors take it; NaN for
 * anything else, so the caller's isCaptureTime check refuses it. A negative bigint floors below 0 (-1 ns is -1 µs).
 */
export function usFromNs(t: number | bigint): number {
  if (typeof t === 'bigint') return t < 0n ? -1 : Number(t / 1000n);
  return typeof t === 'number' ? Math.floor(t / 1000) : NaN;
}

/**
 * Add the reader's per-record problems to a run's skipped-packet counts (session or pool `malformed`), by reason:
 * records are read before any decoder sees them, so only the reader knows of these.
 */
export function addReaderProblems(malformed: Record<string, number>, rs: Pick<ReaderStats, 'badTimestamps' | 'badPacketBlocks'>): void {
  if (rs.badTimestamps > 0) malformed['bad-timestamp'] = (malformed['bad-timestamp'] ?? 0) + rs.badTimestamps;
  if (rs.badPacketBlocks > 0) malformed['bad-packet-block'] = (malformed['bad-packet-block'] ?? 0) + rs.badPacketBlocks;
}
