/**
 * Streaming capture reader: a push parser that accepts chunks of any size, detects classic pcap vs pcapng
 * from the first four bytes, and calls back once per packet record.
 * Owns: chunk-edge handling (a unit that straddles chunks is assembled in one reusable scratch buffer), input
 * offsets for errors, the file/stream/buffer doors.
 * Never: loads a whole file, copies a record that lies inside one chunk, or allocates per packet. Memory is
 * one read buffer plus a scratch buffer no larger than the biggest straddling unit (≤ 16 MiB, see
 * MAX_UNIT_BYTES). The scratch is wiped once its unit is delivered, the file readers' buffers when the file is done:
 * packet bytes are not kept past their delivery.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { describeValue, InvalidArgumentError, numberOption, TraceFormatError } from '../errors.js';
import { u32be } from './bytes.js';
import type { ContainerParser, ReaderStats } from './container.js';
import { isPcapMagic, PcapParser } from './pcap.js';
import { PcapngParser, PCAPNG_SHB_TYPE } from './pcapng.js';
import { DOUBLE, type RawPacket } from './types.js';

export type { ReaderStats } from './container.js';
export { MAX_UNIT_BYTES, MAX_CAPTURE_US, isCaptureTime } from './container.js';

const MAGIC_LEN = 4;
const SCRATCH_INITIAL = 64 * 1024;
/** Default read size of `readCaptureFile`. */
export const DEFAULT_CHUNK_SIZE = 1 << 20;
/**
 * Largest read size (256 MiB): the buffer is allocated whole, so a larger one is memory for nothing, and past what a
 * typed array holds it failed inside with a RangeError.
 */
export const MAX_CHUNK_SIZE = 1 << 28;

const EMPTY = new Uint8Array(0);

/**
 * Push parser over a pcap or pcapng byte stream.
 *
 * @example
 * const r = new CaptureReader('eth0.pcap');
 * for await (const chunk of stream) r.push(chunk, (p) => decoder.decode(p, view) && table.add(view));
 * r.end(onPacket);
 *
 * The `RawPacket` handed to `onPacket` is reused and its `data` may be the caller's chunk or the reader's
 * scratch buffer: valid only during the callback. Cost: O(bytes); a unit straddling two chunks is copied once.
 */
export class CaptureReader {
  readonly stats: ReaderStats = { packets: 0, bytes: 0, truncatedRecords: 0, skippedBlocks: 0, unknownBlocks: 0, badPacketBlocks: 0, interfaces: 0, badTimestamps: 0 };
  private parser: ContainerParser | null = null;
  /** Bytes of an incomplete unit carried over to the next chunk; its first byte is at input offset `consumed`. */
  private pend: Uint8Array = EMPTY;
  private pendLen = 0;
  /** Input offset of the first byte not yet part of a complete unit. */
  private consumed = 0;
  private readonly raw: RawPacket = { data: EMPTY, offset: 0, capLen: 0, wireLen: DOUBLE, tsUs: DOUBLE, linkType: 0 };
  /** A format error is final: later push/end calls throw it again rather than parse from a broken state. */
  private failed: TraceFormatError | null = null;

  constructor(readonly source: string) {}

  /**
   * Feed the next chunk. Complete packets are delivered synchronously, in order. The chunk is not retained:
   * the caller may reuse its memory as soon as `push` returns.
   * @throws {TraceFormatError} bad magic, impossible lengths, inconsistent blocks (`offset` = input offset);
   *   once thrown, every later `push`/`end` throws the same error
   */
  push(chunk: Uint8Array, onPacket: (p: RawPacket) => void): void {
    if (this.failed !== null) throw this.failed;
    if (!(chunk instanceof Uint8Array)) throw new InvalidArgumentError(`CaptureReader.push: a chunk must be a Uint8Array (or Buffer), got ${describeValue(chunk)}`);
    try {
      this.pushChunk(chunk, onPacket);
    } catch (e) {
      if (e instanceof TraceFormatError) {
        this.failed = e;
        this.pend.fill(0, 0, this.pendLen);
        this.pendLen = 0;
      }
      throw e;
    }
  }

  /**
   * An exception thrown by `onPacket` propagates unchanged; the reader is then in an unspecified state and
   * must not be used further.
   */
  private pushChunk(chunk: Uint8Array, onPacket: (p: RawPacket) => void): void {
    const n = chunk.length;
    let pos = 0;
    if (this.parser === null) {
      pos = this.take(chunk, 0, MAGIC_LEN);
      if (this.pendLen < MAGIC_LEN) return;
      this.parser = this.detect();
    }
    const parser = this.parser;
    // Finish a unit started in an earlier chunk, in the scratch buffer.
    while (this.pendLen > 0 && pos < n) {
      const h = parser.headerLen();
      if (this.pendLen < h) {
        pos = this.take(chunk, pos, h);
        if (this.pendLen < h) return;
      }
      const u = parser.unitLen(this.pend, 0, this.consumed);
      pos = this.take(chunk, pos, u);
      if (this.pendLen < u) return;
      parser.run(this.pend, 0, u, this.consumed, onPacket);
      this.consumed += u;
      this.stats.bytes = this.consumed;
      this.pend.fill(0, 0, u); // a packet's bytes: not kept past its delivery
      this.pendLen = 0;
    }
    if (pos >= n) return;
    // Zero-copy path: every unit that lies wholly inside this chunk.
    const stop = parser.run(chunk, pos, n, this.consumed, onPacket);
    this.consumed += stop - pos;
    this.stats.bytes = this.consumed;
    if (stop < n) {
      // Validate the straddling unit's length now (so a corrupt length fails at once, not at end of input),
      // then keep its first bytes.
      if (n - stop >= parser.headerLen()) parser.unitLen(chunk, stop, this.consumed);
      this.take(chunk, stop, n - stop);
    }
  }

  /**
   * Signal end of input. All complete packets have already been delivered by `push`.
   * @throws {TraceFormatError} empty input, or input ending inside a header or record (`offset` = its start)
   */
  end(_onPacket?: (p: RawPacket) => void): void {
    if (this.failed !== null) throw this.failed;
    if (this.parser === null) {
      throw new TraceFormatError(this.source, 0, this.pendLen === 0 ? 'empty input: not a pcap or pcapng capture' : `input of ${this.pendLen} bytes is too short: not a pcap or pcapng capture`);
    }
    if (this.pendLen > 0) {
      const h = this.parser.headerLen();
      let detail: string;
      if (this.pendLen < h) detail = `truncated record: input ends ${this.pendLen} bytes into a ${h}-byte header`;
      else {
        const u = this.parser.unitLen(this.pend, 0, this.consumed);
        detail = `truncated record: input ends ${this.pendLen} bytes into a ${u}-byte record`;
      }
      this.pend.fill(0, 0, this.pendLen);
      this.pendLen = 0;
      throw (this.failed = new TraceFormatError(this.source, this.consumed, detail));
    }
  }

  /** Append chunk[pos, ...) to the scratch buffer until it holds `want` bytes; returns the new chunk position. */
  private take(chunk: Uint8Array, pos: number, want: number): number {
    const k = Math.min(want - this.pendLen, chunk.length - pos);
    if (k <= 0) return pos;
    if (this.pend.length < this.pendLen + k) {
      let cap = Math.max(SCRATCH_INITIAL, this.pend.length);
      while (cap < want) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.pend.subarray(0, this.pendLen));
      this.pend.fill(0, 0, this.pendLen);
      this.pend = next;
    }
    this.pend.set(chunk.subarray(pos, pos + k), this.pendLen);
    this.pendLen += k;
    return pos + k;
  }

  private detect(): ContainerParser {
    const m = u32be(this.pend, 0);
    if (isPcapMagic(m)) return new PcapParser(this.source, this.stats, this.raw);
    if (m === PCAPNG_SHB_TYPE) return new PcapngParser(this.source, this.stats, this.raw);
    throw new TraceFormatError(this.source, 0, `not a pcap or pcapng capture (magic 0x${m.toString(16).padStart(8, '0')})`);
  }
}

/** The read size of the file readers: `chunkSize` (an integer in [1, MAX_CHUNK_SIZE]) or the default. */
function chunkSizeOf(opts: { chunkSize?: number }): number {
  return numberOption('chunkSize', opts.chunkSize, DEFAULT_CHUNK_SIZE, 1, MAX_CHUNK_SIZE, true);
}

/** Options of the asynchronous readers. */
export interface ReadChunkOptions {
  /** Read size in bytes (files; default 1 MiB). */
  chunkSize?: number;
  /**
   * Called after each chunk's packets were delivered; reading waits for the promise it returns. Back-pressure
   * (e.g. a record publisher whose buffer is full) and keep-alives hook in here.
   */
  afterChunk?: () => void | Promise<void>;
}

/**
 * Read a capture file in chunks (one reused buffer, default 1 MiB), calling `onPacket` per packet.
 * @throws {TraceFormatError} malformed capture; file system errors propagate unchanged
 */
export async function readCaptureFile(
  path: string,
  onPacket: (p: RawPacket) => void,
  opts: ReadChunkOptions = {},
): Promise<ReaderStats> {
  const size = chunkSizeOf(opts);
  const reader = new CaptureReader(path);
  // Two buffers: the next read is in flight while the current chunk is parsed, so disk/page-cache time
  // overlaps with packet processing instead of idling the thread.
  let cur = new Uint8Array(size);
  let next = new Uint8Array(size);
  const fh = await open(path, 'r');
  let pending: ReturnType<typeof fh.read> | undefined;
  try {
    pending = fh.read(cur, 0, size, null);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      const chunk = cur;
      pending = fh.read(next, 0, size, null);
      // Safe to reuse `chunk` later: push copies whatever it still needs into its scratch buffer before returning.
      reader.push(bytesRead === size ? chunk : chunk.subarray(0, bytesRead), onPacket);
      cur = next;
      next = chunk;
      if (opts.afterChunk) await opts.afterChunk();
    }
  } finally {
    // A parse error can leave one read in flight: let it settle quietly, then close.
    await pending?.catch(() => undefined);
    await fh.close();
    cur.fill(0);
    next.fill(0);
  }
  reader.end(onPacket);
  return reader.stats;
}

/**
 * Read a capture file with synchronous reads into one reused buffer, calling `onPacket` per packet. For command-line
 * runs over files in the page cache: the asynchronous reader's per-chunk hand-offs left the thread idle ~10% of a
 * 2M-packet classify run. Blocks the event loop until the file is done, so servers should use {@link readCaptureFile}.
 * @throws {TraceFormatError} malformed capture; file system errors propagate unchanged
 */
export function readCaptureFileSync(path: string, onPacket: (p: RawPacket) => void, opts: { chunkSize?: number } = {}): ReaderStats {
  const reader = new CaptureReader(path);
  const buf = new Uint8Array(chunkSizeOf(opts));
  const fd = openSync(path, 'r');
  try {
    while (pushNextChunk(fd, buf, reader, onPacket));
  } finally {
    closeSync(fd);
    buf.fill(0);
  }
  reader.end(onPacket);
  return reader.stats;
}

/** One synchronous read of the next chunk into `buf`, handed to `reader`; false at the end of the file. */
function pushNextChunk(fd: number, buf: Uint8Array, reader: CaptureReader, onPacket: (p: RawPacket) => void): boolean {
  const n = readSync(fd, buf, 0, buf.length, null);
  if (n === 0) return false;
  // Safe to reuse `buf`: push copies whatever it still needs into its scratch buffer before returning.
  reader.push(n === buf.length ? buf : buf.subarray(0, n), onPacket);
  return true;
}

/** How far {@link firstPacketTime} reads for a first packet (blocks before it: section and interface headers). */
const FIRST_PACKET_BYTES = 4 * 1024 * 1024;

/**
 * The capture time (µs since the epoch) of a capture file's first packet, or null when it has none within its first
 * 4 MiB, cannot be opened, or is malformed before one (its error is the reader's to report when it is read).
 * Reads 64 KiB at a time and stops at the first packet: the pieces of a rotated recording are put in time order
 * without reading them twice.
 */
export function firstPacketTime(path: string): number | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  const reader = new CaptureReader(path);
  const buf = new Uint8Array(64 * 1024);
  let first: number | null = null;
  const take = (p: RawPacket): void => {
    if (first === null) first = p.tsUs;
  };
  try {
    for (let read = 0; first === null && read < FIRST_PACKET_BYTES; read += buf.length) {
      if (!pushNextChunk(fd, buf, reader, take)) break;
    }
  } catch {
    // Malformed: whatever came before the damage stands (a first packet read is still its time).
  } finally {
    closeSync(fd);
    buf.fill(0);
  }
  return first;
}

/** Options of {@link readCaptureFileUntil}. */
export interface ReadUntilOptions {
  /** Reading stops between two chunks once this is aborted (the packets read so far are delivered). */
  signal?: AbortSignal;
  /** The event loop gets a turn at least this often, ms (default 50): signals, timers and output flushes run there. */
  turnMs?: number;
  /** Called after each chunk's packets were delivered; reading waits for the promise it returns. */
  afterChunk?: () => void | Promise<void>;
  chunkSize?: number;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
/**
 * When a read last gave the event loop a turn. Shared by every call: a run over thousands of small captures reads
 * each in less than `turnMs`, and a clock started afresh per file never came due — Ctrl-C waited for the whole set.
 */
let lastTurn = performance.now();

/**
 * Read a capture file as {@link readCaptureFileSync} does (synchronous reads into one reused buffer, zeroed at the
 * end), but give the event loop a turn every `turnMs` and stop between two chunks once `signal` is aborted: a
 * command-line run that must answer Ctrl-C without paying the asynchronous reader's hand-offs. Returns whether it
 * read to the end (only then is a unit cut by the end of the file reported, as the reader does).
 * @throws {TraceFormatError} malformed capture; file system errors propagate unchanged
 */
export async function readCaptureFileUntil(path: string, onPacket: (p: RawPacket) => void, opts: ReadUntilOptions = {}): Promise<{ stats: ReaderStats; complete: boolean }> {
  const turnMs = opts.turnMs ?? 50;
  const reader = new CaptureReader(path);
  const buf = new Uint8Array(chunkSizeOf(opts));
  const fd = openSync(path, 'r');
  let complete = true;
  try {
    for (;;) {
      if (opts.signal?.aborted) {
        complete = false;
        break;
      }
      if (!pushNextChunk(fd, buf, reader, onPacket)) break;
      if (opts.afterChunk) await opts.afterChunk();
      if (performance.now() - lastTurn >= turnMs) {
        await turn();
        lastTurn = performance.now();
      }
    }
  } finally {
    closeSync(fd);
    buf.fill(0);
  }
  if (complete) reader.end(onPacket);
  return { stats: reader.stats, complete };
}

/**
 * Read a capture from a Node readable stream (e.g. `process.stdin`) or any async iterable of byte chunks.
 * @throws {TraceFormatError} malformed capture
 * @throws {InvalidArgumentError} the stream yields strings (an encoding was set)
 */
export async function readCaptureStream(
  stream: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
  source: string,
  onPacket: (p: RawPacket) => void,
  opts: Pick<ReadChunkOptions, 'afterChunk'> = {},
): Promise<ReaderStats> {
  const reader = new CaptureReader(source);
  for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
    if (typeof chunk === 'string') throw new InvalidArgumentError(`${source}: stream yields text; read captures without an encoding`);
    reader.push(chunk, onPacket);
    if (opts.afterChunk) await opts.afterChunk();
  }
  reader.end(onPacket);
  return reader.stats;
}

/**
 * Read a capture held in memory. Packets point into `buf` (zero copy).
 * @throws {TraceFormatError} malformed capture
 */
export function readCaptureBuffer(buf: Uint8Array, source: string, onPacket: (p: RawPacket) => void): ReaderStats {
  const reader = new CaptureReader(source);
  reader.push(buf, onPacket);
  reader.end(onPacket);
  return reader.stats;
}
