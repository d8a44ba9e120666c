/**
 * Shared output for subcommands: data to stdout, batched into large writes,
 * with broken-pipe handling (`tunnelscope flows x.pcap | head` stops quietly, exit 0).
 * Diagnostics never go through here: they go to stderr directly.
 */

import { fstatSync, writeSync } from 'node:fs';
import { safeText } from '../text.js';
import { cannotWriteReason } from './args.js';

/** `table` when the stream is a terminal, else `ndjson` (house CLI convention). */
export function defaultFormat(stream: { isTTY?: boolean }): 'table' | 'ndjson' {
  return stream.isTTY === true ? 'table' : 'ndjson';
}

/** True for the error a write to a closed pipe produces. */
export function isBrokenPipe(err: unknown): boolean {
  return typeof err === 'object' && err !== null && ((err as { code?: unknown }).code === 'EPIPE' || (err as { code?: unknown }).code === 'ERR_STREAM_DESTROYED');
}

/**
 * The output could not be written for a reason other than its reader going away: a full disk, a quota, an I/O
 * error. Not a fault of tunnelscope nor of its input: the command says so in one line and exits 2.
 */
export class OutputWriteError extends Error {
  constructor(override readonly cause: unknown) {
    super(`cannot write output: ${cannotWriteReason(cause) ?? safeText(cause instanceof Error ? cause.message : String(cause), 256)}`);
    this.name = 'OutputWriteError';
  }
}

/** Output is encoded straight into one buffer of this size and handed on when it is full. */
const BATCH_BYTES = 256 * 1024;

/**
 * The stream's file descriptor when it is a regular file or a non-terminal character device (`> out.ndjson`,
 * `> /dev/null`), else -1. Writes there are synchronous anyway, and fs.writeSync skips the Writable machinery.
 * Pipes and terminals keep the stream (a pipe's fd may be non-blocking, and the stream handles that).
 */
function directFd(stream: NodeJS.WritableStream): number {
  const fd = (stream as { fd?: unknown }).fd;
  if (typeof fd !== 'number' || (stream as { isTTY?: boolean }).isTTY === true) return -1;
  try {
    const st = fstatSync(fd);
    return st.isFile() || st.isCharacterDevice() ? fd : -1;
  } catch {
    return -1;
  }
}

/**
 * True when output goes to a regular file or a non-terminal device (`> out.ndjson`, `> /dev/null`): nobody reads
 * it as it comes, so it is written in big batches with no time-based flush.
 */
export function isBatchedOutput(stream: NodeJS.WritableStream): boolean {
  return directFd(stream) >= 0;
}

/**
 * Bytes the output stream may hold that its reader has not taken before the input waits (see
 * {@link OutputSink.backlog}): a few seconds of lines at a busy gateway, far more than a reader that keeps up leaves.
 */
export const OUTPUT_BACKLOG_BYTES = 4 << 20;

/**
 * A text sink over a writable stream. Text is UTF-8-encoded straight into one batch buffer (joining many strings
 * first cost ~5x more once any of them holds a non-Latin-1 character, as evidence reasons do: the joined string
 * becomes two-byte); a full batch goes to the file descriptor directly where that is safe, else to the stream.
 * After the reader goes away (EPIPE) `closed` is true and further writes are dropped, so producers can stop early.
 * A write that fails otherwise (ENOSPC on a full disk) closes it too, with `error` set: a live run must not go on
 * classifying for an output that takes nothing, and the failure is reported when the run ends.
 */
export class OutputSink {
  closed = false;
  /** A write error other than a broken pipe (thrown by `end()` as an {@link OutputWriteError}). */
  error: OutputWriteError | null = null;
  private readonly batch = Buffer.allocUnsafe(BATCH_BYTES);
  private used = 0;
  /**
   * Called once when the sink closes. The failed write may be the last of a burst (a live input then waits for
   * packets that may never come), so a run stops here rather than at its next record.
   */
  onClosed: (() => void) | null = null;
  private readonly onError = (err: unknown): void => {
    if (!isBrokenPipe(err) && this.error === null) this.error = new OutputWriteError(err);
    if (this.closed) return;
    this.closed = true;
    this.onClosed?.();
  };
  private readonly fd: number;

  constructor(readonly stream: NodeJS.WritableStream) {
    stream.on('error', this.onError);
    this.fd = directFd(stream);
  }

  write(text: string): void {
    if (this.closed) return;
    // 3 bytes per UTF-16 unit bounds the UTF-8 length (a surrogate pair is 2 units, 4 bytes).
    if (this.used + text.length * 3 > BATCH_BYTES) {
      this.flush();
      if (text.length * 3 > BATCH_BYTES) {
        this.emit(Buffer.from(text, 'utf8'));
        return;
      }
    }
    this.used += this.batch.write(text, this.used, 'utf8');
  }

  /** `text` and a newline. */
  writeLine(text: string): void {
    this.write(text);
    if (this.closed) return;
    if (this.used === BATCH_BYTES) this.flush();
    this.batch[this.used++] = 0x0a;
  }

  /** Hand the batched bytes on now. */
  flush(): void {
    if (this.used === 0 || this.closed) {
      this.used = 0;
      return;
    }
    // The stream may keep what it is given; the batch buffer is reused, so it gets a copy.
    const out = this.fd >= 0 ? this.batch.subarray(0, this.used) : Buffer.from(this.batch.subarray(0, this.used));
    this.used = 0;
    this.emit(out);
  }

  private emit(b: Buffer): void {
    try {
      if (this.fd >= 0) {
        for (let off = 0; off < b.length; ) off += writeSync(this.fd, b, off);
      } else this.stream.write(b);
    } catch (err) {
      this.onError(err);
    }
  }

  /**
   * A promise while the stream holds more than {@link OUTPUT_BACKLOG_BYTES} its reader has not taken, resolved when
   * it drains, closes or fails; else null. An input loop waits on it between chunks: a reader that stopped reading
   * must not make the run queue every line it produces in memory.
   */
  backlog(): Promise<void> | null {
    if (this.closed || this.fd >= 0) return null;
    const s = this.stream as NodeJS.WritableStream & { writableLength?: number };
    if ((s.writableLength ?? 0) <= OUTPUT_BACKLOG_BYTES) return null;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        s.removeListener('drain', done);
        s.removeListener('close', done);
        s.removeListener('error', done);
        resolve();
      };
      s.on('drain', done);
      s.on('close', done);
      s.on('error', done);
    });
  }

  /** Flush and wait until the stream has taken everything (or broke). Throws {@link OutputWriteError} for a non-EPIPE write error. */
  async end(): Promise<void> {
    this.flush();
    if (!this.closed && this.fd < 0) {
      await new Promise<void>((resolve) => {
        const s = this.stream as NodeJS.WritableStream & { writableNeedDrain?: boolean };
        if (s.writableNeedDrain !== true) {
          // A zero-length write's callback runs after everything queued before it.
          s.write('', () => resolve());
        } else s.once('drain', () => resolve());
      });
    }
    this.stream.removeListener('error', this.onError);
    // Keep swallowing late EPIPEs once we are done.
    this.stream.on('error', () => {});
    if (this.error !== null) throw this.error;
  }
}

/** One JSON object per line. */
export class NdjsonWriter {
  constructor(private readonly sink: OutputSink) {}
  write(record: object): void {
    this.sink.writeLine(JSON.stringify(record));
  }
}

export { isoMicros } from '../trace/flow-format.js';
