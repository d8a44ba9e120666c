/**
 * Shared output for subcommands: data to stdout as ndjson or a fixed-width table, batched into large writes,
 * with broken-pipe handling (`tunnelscope flows x.pcap | head` stops quietly, exit 0).
 * Diagnostics never go through here: they go to stderr directly.
 */

export type OutputFormat = 'ndjson' | 'table' | 'json';

/** `table` when the stream is a terminal, else `ndjson` (house CLI convention). */
export function defaultFormat(stream: { isTTY?: boolean }): 'table' | 'ndjson' {
  return stream.isTTY === true ? 'table' : 'ndjson';
}

/** True for the error a write to a closed pipe produces. */
export function isBrokenPipe(err: unknown): boolean {
  return typeof err === 'object' && err !== null && ((err as { code?: unknown }).code === 'EPIPE' || (err as { code?: unknown }).code === 'ERR_STREAM_DESTROYED');
}

const BATCH_CHARS = 64 * 1024;

/**
 * A text sink over a writable stream. Batches small writes; after the reader goes away (EPIPE) `closed` is
 * true and further writes are dropped, so producers can stop early.
 */
export class OutputSink {
  closed = false;
  /** A write error other than a broken pipe (reported by `end()`). */
  error: unknown = null;
  private buf: string[] = [];
  private bufChars = 0;
  private readonly onError = (err: unknown): void => {
    if (isBrokenPipe(err)) this.closed = true;
    else if (this.error === null) this.error = err;
  };

  constructor(readonly stream: NodeJS.WritableStream) {
    stream.on('error', this.onError);
  }

  write(text: string): void {
    if (this.closed) return;
    this.buf.push(text);
    this.bufChars += text.length;
    if (this.bufChars >= BATCH_CHARS) this.flush();
  }

  /** Hand the batched text to the stream now. */
  flush(): void {
    if (this.bufChars === 0 || this.closed) {
      this.buf = [];
      this.bufChars = 0;
      return;
    }
    const text = this.buf.join('');
    this.buf = [];
    this.bufChars = 0;
    try {
      this.stream.write(text);
    } catch (err) {
      this.onError(err);
    }
  }

  /** Flush and wait until the stream has taken everything (or broke). Throws a non-EPIPE write error. */
  async end(): Promise<void> {
    this.flush();
    if (!this.closed) {
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
    this.sink.write(JSON.stringify(record) + '\n');
  }
}

export interface TableColumn<R> {
  header: string;
  /** Minimum width; longer cells are not cut (the row just gets wider). */
  width: number;
  align?: 'left' | 'right';
  cell(r: R): string;
}

/** A streamed fixed-width table: header on the first row, one line per record. */
export class TableWriter<R> {
  private started = false;
  constructor(private readonly sink: OutputSink, private readonly columns: readonly TableColumn<R>[]) {}

  private line(cells: string[]): string {
    let out = '';
    for (let i = 0; i < cells.length; i++) {
      const c = this.columns[i]!, s = cells[i]!;
      const padded = c.align === 'right' ? s.padStart(c.width) : i === cells.length - 1 ? s : s.padEnd(c.width);
      out += (i === 0 ? '' : '  ') + padded;
    }
    return out + '\n';
  }

  write(r: R): void {
    if (!this.started) {
      this.started = true;
      this.sink.write(this.line(this.columns.map((c) => c.header)));
    }
    this.sink.write(this.line(this.columns.map((c) => c.cell(r))));
  }
}

export { isoMicros } from '../trace/flow-format.js';
