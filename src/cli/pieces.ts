/**
 * `classify --one-trace` / `flows --one-trace`: the captures named are pieces of one recording, read as one trace
 * with the loop a fleet worker uses for a `fleet submit --one-trace` job (src/trace/pieces.ts); here a stop is the
 * run's StopFlag and what the loop has to say goes to stderr as `tunnelscope CMD: …`.
 */
import { orderPieces, readPieces, type Piece, type PiecesRead } from '../trace/pieces.js';
import type { RawPacket } from '../trace/types.js';
import { TURN_MS, type StopFlag } from './live.js';

export { orderPieces, type Piece, type PiecesRead };

/**
 * Read the pieces in order into one `onPacket`, giving the event loop turns and stopping at `stop` as one capture is
 * read. Each failed piece is reported on `stderr` as `tunnelscope CMD: …` and skipped.
 */
export function readPiecesUntil(
  pieces: readonly Piece[],
  onPacket: (p: RawPacket) => void,
  stop: StopFlag,
  afterChunk: (() => Promise<void>) | undefined,
  stderr: NodeJS.WritableStream,
  command: string,
): Promise<PiecesRead> {
  return readPieces(pieces, onPacket, (line) => stderr.write(`tunnelscope ${command}: ${line}\n`), {
    signal: stop.controller.signal,
    turnMs: TURN_MS,
    ...(afterChunk ? { afterChunk } : {}),
  });
}

/** The end-of-run line's account of the pieces. */
export function piecesNote(r: PiecesRead, total: number): string {
  return `${total} ${total === 1 ? 'piece' : 'pieces'} read as one trace${r.failed ? `, ${r.failed} failed` : ''}${r.notRead ? `, ${r.notRead} not read (stopped)` : ''}`;
}
