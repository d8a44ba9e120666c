/**
 * The pieces of one recording (tcpdump -G/-C, a dumpcap ring buffer) read as one trace: `classify --one-trace` on
 * one machine (src/cli/pieces.ts) and a `fleet submit --one-trace` job on a worker (src/nats/jobs.ts) read them with
 * this one loop, so both give the same records. Read as separate captures, a connection that spans a rotation is
 * cut in two and its later part starts mid-stream, with no handshake to judge.
 *
 * Pieces go in the order of their first packet's time (tcpdump -C names them `f`, `f1`, … `f10`, which name order
 * mixes up). They are read one after the other, not merged: pieces of one recording follow each other in time, and
 * captures taken side by side (two interfaces) are what mergecap is for; a piece that starts more than
 * {@link OVERLAP_US} before the one before it ended is said to (the flow table's clock never goes back, so its
 * packets count at the later time). A piece that cannot be read or is corrupt is reported and the trace goes on.
 */
import { statSync } from 'node:fs';
import { cannotReadReason, TraceFormatError } from '../errors.js';
import { safeText } from '../text.js';
import { firstPacketTime, readCaptureFileUntil, type ReaderStats, type ReadUntilOptions } from './reader.js';
import type { RawPacket } from './types.js';

/** Timestamps of packets captured on several CPUs can step back a little across a rotation. */
export const OVERLAP_US = 1_000_000;

export interface Piece {
  path: string;
  /** Its first packet's time (µs), or null (no packet, or none readable). */
  firstUs: number | null;
}

/**
 * The pieces in the order given, each with its first packet's time (for the order and the overlap note). Only a
 * regular file is looked at before it is read: what a pipe (`<(zcat piece.gz)`) or a FIFO gives once is gone, and the
 * read then started mid-stream ('not a pcap or pcapng capture'), or waited for good on a writer that had finished.
 */
export function piecesAsGiven(paths: readonly string[]): Piece[] {
  return paths.map((path) => ({ path, firstUs: isRegularFile(path) ? firstPacketTime(path) : null }));
}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The pieces in the order of their first packets' times (the order given among equals; ones without a time last:
 * empty ones, and pipes, which cannot be looked at twice).
 * A file named twice (by itself and in its directory, through a link, a hard link) is one piece: read twice, its
 * packets would be in the trace twice, flows doubled and an overlap said of the piece with itself. Each one dropped
 * is said to `note`.
 */
export function orderPieces(paths: readonly string[], note?: (line: string) => void): Piece[] {
  const first = new Map<string, string>();
  const once: string[] = [];
  for (const path of paths) {
    const id = fileId(path);
    const prev = id === null ? undefined : first.get(id);
    if (prev !== undefined) {
      note?.(`--one-trace: ${safeText(path, 256)} is ${safeText(prev, 256)} again: read once`);
      continue;
    }
    if (id !== null) first.set(id, path);
    once.push(path);
  }
  // Array.prototype.sort is stable: equal times keep the order given (name order for a directory).
  return piecesAsGiven(once).sort((a, b) => (a.firstUs ?? Infinity) - (b.firstUs ?? Infinity) || 0);
}

/** The file behind `path` (device and inode, through links), or null when it cannot be stat'ed (its read reports it). */
function fileId(path: string): string | null {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

export interface PiecesRead {
  stats: ReaderStats;
  /** True when every piece was read to its end (no stop). */
  complete: boolean;
  /** Pieces read (to their end or to their damage), failed (cannot be opened or corrupt) and not read (a stop). */
  read: number;
  failed: number;
  notRead: number;
}

/**
 * Read the pieces in order into one `onPacket`, stopping between two chunks once `opts.signal` aborts. Each piece
 * that fails (cannot be opened, corrupt: the packets before the damage are delivered) and each overlap is said to
 * `note` as one line of text (paths escaped) and the next piece is read. Other errors are thrown.
 */
export async function readPieces(
  pieces: readonly Piece[],
  onPacket: (p: RawPacket) => void,
  note: (line: string) => void,
  opts: ReadUntilOptions = {},
): Promise<PiecesRead> {
  const stats: ReaderStats = { packets: 0, bytes: 0, truncatedRecords: 0, skippedBlocks: 0, unknownBlocks: 0, badPacketBlocks: 0, interfaces: 0, badTimestamps: 0 };
  let lastUs = -Infinity;
  let lastPath = '';
  let packets = 0;
  const seen = (p: RawPacket): void => {
    packets++;
    if (p.tsUs > lastUs) lastUs = p.tsUs;
    onPacket(p);
  };
  const out: PiecesRead = { stats, complete: true, read: 0, failed: 0, notRead: 0 };
  for (let k = 0; k < pieces.length; k++) {
    const piece = pieces[k]!;
    const before = packets;
    if (opts.signal?.aborted) {
      out.complete = false;
      out.notRead = pieces.length - k;
      break;
    }
    if (piece.firstUs !== null && lastPath !== '' && piece.firstUs < lastUs - OVERLAP_US) {
      note(
        `--one-trace: ${safeText(piece.path, 256)} starts ${iso(piece.firstUs)}, ${((lastUs - piece.firstUs) / 1e6).toFixed(3)} s ` +
          `before the end of ${safeText(lastPath, 256)} (${iso(lastUs)}); read after it (captures taken side by side: merge them first, mergecap -w)`,
      );
    }
    try {
      const r = await readCaptureFileUntil(piece.path, seen, opts);
      add(stats, r.stats);
      out.read++;
      if (!r.complete) {
        out.complete = false;
        out.notRead = pieces.length - k - 1;
        break;
      }
    } catch (e) {
      const why = e instanceof TraceFormatError ? null : cannotReadReason(e);
      if (!(e instanceof TraceFormatError) && why === null) throw e;
      out.failed++;
      note(why === null ? (e as Error).message : `cannot read ${safeText(piece.path, 256)}: ${why}`);
    }
    if (packets > before) lastPath = piece.path;
  }
  return out;
}

function add(into: ReaderStats, s: ReaderStats): void {
  for (const k of Object.keys(into) as (keyof ReaderStats)[]) into[k] += s[k];
}

function iso(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}
