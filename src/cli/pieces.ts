/**
 * `classify --one-trace`: the captures named are pieces of one recording (tcpdump -G/-C, a dumpcap ring buffer), read
 * as one trace. Read as separate captures, a connection that spans a rotation is cut in two and its later part starts
 * mid-stream, with no handshake to judge: a VPN connection's later pieces came out as ordinary flows.
 *
 * Pieces go in the order of their first packet's time (tcpdump -C names them `f`, `f1`, … `f10`, which name order
 * mixes up). They are read one after the other, not merged: pieces of one recording follow each other in time, and
 * captures taken side by side (two interfaces) are what mergecap is for; a piece that starts more than
 * {@link OVERLAP_US} before the one before it ended is said to (the flow table's clock never goes back, so its
 * packets count at the later time). A piece that cannot be read or is corrupt is reported and the trace goes on.
 */
import { TraceFormatError } from '../errors.js';
import { firstPacketTime, type ReaderStats } from '../trace/reader.js';
import type { RawPacket } from '../trace/types.js';
import { cannotReadReason } from './args.js';
import { safeText } from '../text.js';
import { readFileUntil, type StopFlag } from './live.js';

/** Timestamps of packets captured on several CPUs can step back a little across a rotation. */
const OVERLAP_US = 1_000_000;

export interface Piece {
  path: string;
  /** Its first packet's time (µs), or null (no packet, or none readable). */
  firstUs: number | null;
}

/** The pieces in the order of their first packets' times (name order among equals; ones without a time last). */
export function orderPieces(paths: readonly string[]): Piece[] {
  const pieces = paths.map((path) => ({ path, firstUs: firstPacketTime(path) }));
  // Array.prototype.sort is stable: equal times keep the order given (name order for a directory).
  return pieces.sort((a, b) => (a.firstUs ?? Infinity) - (b.firstUs ?? Infinity) || 0);
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
 * Read the pieces in order into one `onPacket`, giving the event loop turns and stopping at `stop` as one capture is
 * read. Each failed piece is reported on `stderr` as `tunnelscope CMD: …` and skipped.
 */
export async function readPiecesUntil(
  pieces: readonly Piece[],
  onPacket: (p: RawPacket) => void,
  stop: StopFlag,
  afterChunk: (() => Promise<void>) | undefined,
  stderr: NodeJS.WritableStream,
  command: string,
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
    if (stop.requested) {
      out.complete = false;
      out.notRead = pieces.length - k;
      break;
    }
    if (piece.firstUs !== null && lastPath !== '' && piece.firstUs < lastUs - OVERLAP_US) {
      stderr.write(
        `tunnelscope ${command}: --one-trace: ${safeText(piece.path, 256)} starts ${iso(piece.firstUs)}, ${((lastUs - piece.firstUs) / 1e6).toFixed(3)} s ` +
          `before the end of ${safeText(lastPath, 256)} (${iso(lastUs)}); read after it (captures taken side by side: merge them first, mergecap -w)\n`,
      );
    }
    try {
      const r = await readFileUntil(piece.path, seen, stop, afterChunk);
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
      stderr.write(`tunnelscope ${command}: ${why === null ? (e as Error).message : `cannot read ${safeText(piece.path, 256)}: ${why}`}\n`);
    }
    if (packets > before) lastPath = piece.path;
  }
  return out;
}

/** The end-of-run line's account of the pieces. */
export function piecesNote(r: PiecesRead, total: number): string {
  return `${total} ${total === 1 ? 'piece' : 'pieces'} read as one trace${r.failed ? `, ${r.failed} failed` : ''}${r.notRead ? `, ${r.notRead} not read (stopped)` : ''}`;
}

function add(into: ReaderStats, s: ReaderStats): void {
  for (const k of Object.keys(into) as (keyof ReaderStats)[]) into[k] += s[k];
}

function iso(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}
