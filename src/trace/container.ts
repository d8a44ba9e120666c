/**
 * The contract between the streaming reader (reader.ts) and one capture container format (pcap.ts,
 * pcapng.ts). A container is a sequence of self-delimiting units (pcap: file header, then records; pcapng:
 * blocks). The reader finds unit boundaries across chunk edges with `headerLen`/`unitLen` and hands whole
 * units to `run`, so format code never sees a partial unit and never copies.
 */
import type { RawPacket } from './types.js';

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
  /** pcapng interface description blocks seen (pcap: 1). */
  interfaces: number;
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
