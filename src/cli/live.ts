/**
 * What a live run needs around the packet loop: output that reaches the reader within a bounded delay
 * ({@link TimedFlush}), input loops that a stop request ends between two chunks ({@link readFileUntil},
 * {@link readStreamUntil}), and the signal handling of a capture tool ({@link StopControl}: the first SIGINT or
 * SIGTERM asks for a clean stop, a second one exits at once), and a capture clock that keeps moving while a live
 * input is quiet ({@link QuietClock}).
 */
import { CaptureReader, readCaptureFileUntil } from '../trace/reader.js';
import type { ReaderStats } from '../trace/reader.js';
import type { RawPacket } from '../trace/types.js';
import { InvalidArgumentError } from '../errors.js';
import { exitAtOnce } from './io.js';

/** Output written in a live run reaches the stream within this many milliseconds (the bound is 200). */
export const FLUSH_MS = 100;

/**
 * Flushes batched output soon after it is written: once the event loop turns (after the input chunk being
 * processed: lines of one chunk share a write), and from a busy synchronous loop — where the loop cannot turn —
 * by {@link tick} once the oldest unflushed line is `maxDelayMs` old. `onFlush(ms)` hears the age of the oldest
 * line in each flush (the output lag).
 */
export class TimedFlush {
  private pendingSince = -1;
  private scheduled = false;
  private readonly fire = (): void => {
    this.scheduled = false;
    if (this.pendingSince >= 0) this.flushNow();
  };

  constructor(
    private readonly flush: () => void,
    private readonly maxDelayMs = FLUSH_MS,
    private readonly onFlush: ((lagMs: number) => void) | null = null,
  ) {}

  /** Something was written to the batch. */
  wrote(): void {
    if (this.pendingSince < 0) {
      this.pendingSince = performance.now();
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.fire);
      }
    } else if (performance.now() - this.pendingSince >= this.maxDelayMs) this.flushNow();
  }

  /** From long synchronous loops: flush if the oldest write is due. */
  tick(): void {
    if (this.pendingSince >= 0 && performance.now() - this.pendingSince >= this.maxDelayMs) this.flushNow();
  }

  flushNow(): void {
    const since = this.pendingSince;
    this.pendingSince = -1;
    this.flush();
    if (since >= 0) this.onFlush?.(performance.now() - since);
  }

  /** The run is over: the final flush is the caller's. */
  stop(): void {
    this.pendingSince = -1;
  }
}

/** A stop request: `requested` turns true once; listeners (and the AbortSignal) hear it then. */
export class StopFlag {
  requested = false;
  /** What asked for the stop (the signal's name). */
  reason = '';
  private readonly listeners = new Set<() => void>();
  readonly controller = new AbortController();

  request(reason: string): void {
    if (this.requested) return;
    this.requested = true;
    this.reason = reason;
    this.controller.abort();
    for (const fn of [...this.listeners]) fn();
    this.listeners.clear();
  }

  private requestedPromise: Promise<void> | null = null;

  /**
   * Resolves once the stop is requested: a wait on something outside (a NATS server's room in its buffer) races it,
   * so a stop is never held up by what it stops.
   */
  get requestedSoon(): Promise<void> {
    this.requestedPromise ??= new Promise<void>((resolve) => this.onRequest(resolve));
    return this.requestedPromise;
  }

  /** Whether live flows were ended with reason `stop` ({@link endReason} said so). */
  endedFlows = false;

  /**
   * The end reason for the live flows, decided once, when they are ended: `stop` when a stop was requested by then,
   * else `other`. A stop that comes after (racing the input's end) does not change what the records say, nor
   * (through {@link note}) what stderr says of them.
   */
  endReason<R extends string>(other: R): R | 'stop' {
    if (!this.requested) return other;
    this.endedFlows = true;
    return 'stop';
  }

  /**
   * The line a command writes to stderr after a stopped run, `prefix` naming it: '' when no stop was requested, or
   * when the flows had already ended otherwise (a command that ends them through {@link endReason}).
   */
  note(prefix: string, ended = true): string {
    return this.requested && ended ? `${prefix}: stopped by ${this.reason}: live flows ended with reason 'stop'\n` : '';
  }

  /**
   * Call `fn` when the stop is requested, or (on a microtask) at once when it already was: a stop that came during
   * start-up (a list still loading) must still end a read that starts after it. Returns the unsubscribe function.
   */
  onRequest(fn: () => void): () => void {
    if (this.requested) {
      let live = true;
      queueMicrotask(() => {
        if (live) fn();
      });
      return () => {
        live = false;
      };
    }
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/** The process-like object signals come from (process, or a test's emitter). */
export interface SignalSource {
  on(event: NodeJS.Signals, fn: () => void): unknown;
  removeListener(event: NodeJS.Signals, fn: () => void): unknown;
}

/** Exit code of a process killed by `sig` (128 + its number), what a second signal exits with. */
const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * SIGINT/SIGTERM handling for a run: the first one requests a clean stop (`stop`), a second one calls `exit`
 * with 128 + the signal number at once. `hup` (optional) is called on each SIGHUP. `dispose()` restores the
 * default behaviour.
 */
export class StopControl {
  private readonly onInt = (): void => this.on('SIGINT');
  private readonly onTerm = (): void => this.on('SIGTERM');
  private readonly onHup = (): void => this.hup?.();

  constructor(
    private readonly signals: SignalSource,
    readonly stop: StopFlag,
    private readonly exit: (code: number) => void,
    private readonly hup: (() => void) | null = null,
  ) {
    signals.on('SIGINT', this.onInt);
    signals.on('SIGTERM', this.onTerm);
    if (hup !== null) signals.on('SIGHUP', this.onHup);
  }

  private on(sig: NodeJS.Signals): void {
    if (this.stop.requested) this.exit(SIGNAL_EXIT[sig] ?? 1);
    else this.stop.request(sig);
  }

  dispose(): void {
    this.signals.removeListener('SIGINT', this.onInt);
    this.signals.removeListener('SIGTERM', this.onTerm);
    if (this.hup !== null) this.signals.removeListener('SIGHUP', this.onHup);
  }
}

/**
 * A command's signal handling, or null when `io` has no signal source: the first SIGINT/SIGTERM requests `stop`, a
 * second one says so on stderr and exits at once (`io.exit`, exitAtOnce by default) with 130/143.
 */
export function stopOnSignals(
  io: { signals?: SignalSource; stderr: NodeJS.WritableStream; exit?: (code: number) => void },
  command: string,
  stop: StopFlag,
  hup: (() => void) | null = null,
): StopControl | null {
  if (!io.signals) return null;
  return new StopControl(io.signals, stop, (code) => {
    io.stderr.write(`tunnelscope ${command}: second ${stop.reason === 'SIGINT' ? 'interrupt' : 'signal'}: exiting at once\n`);
    (io.exit ?? exitAtOnce)(code);
  }, hup);
}

/**
 * Resolves once the event loop has polled for I/O and run what that poll queued for its check phase: work split by
 * it (a list reload) lets the packets waiting on the input through, and their lines out (TimedFlush's flush is an
 * immediate), in between. One immediate is not enough: queued from an I/O callback it runs before the next poll,
 * and one queued in a check phase runs ahead of the flush the next poll queues.
 */
export function ioTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(() => setImmediate(resolve))));
}

/** The event loop gets a turn (signals, timers, list reloads, the output flush run there) this often, ms. */
export const TURN_MS = 50;

/**
 * {@link readCaptureFileUntil} stopped by a {@link StopFlag}: the event loop gets a turn every {@link TURN_MS} ms.
 * @throws {TraceFormatError} malformed capture
 */
export function readFileUntil(
  path: string,
  onPacket: (p: RawPacket) => void,
  stop: StopFlag,
  afterChunk?: () => Promise<void>,
): Promise<{ stats: ReaderStats; complete: boolean }> {
  return readCaptureFileUntil(path, onPacket, { signal: stop.controller.signal, turnMs: TURN_MS, ...(afterChunk ? { afterChunk } : {}) });
}

/**
 * Read a capture from a stream (stdin) until it ends or `stop.requested`: a stop destroys the stream, which ends
 * a read that is waiting for data at once. Returns whether it read to the end.
 * @throws {TraceFormatError} malformed capture
 */
export async function readStreamUntil(
  stream: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
  source: string,
  onPacket: (p: RawPacket) => void,
  stop: StopFlag,
  afterChunk?: () => Promise<void>,
): Promise<{ stats: ReaderStats; complete: boolean }> {
  const reader = new CaptureReader(source);
  const destroyable = stream as { destroy?: () => void };
  const off = stop.onRequest(() => destroyable.destroy?.());
  let complete = true;
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
      if (typeof chunk === 'string') throw new InvalidArgumentError(`${source}: stream yields text; read captures without an encoding`);
      reader.push(chunk, onPacket);
      if (afterChunk) await afterChunk();
      if (stop.requested) {
        complete = false;
        break;
      }
    }
  } catch (e) {
    // The destroyed stream ends the pending read with a premature-close error: that is the stop, not a failure.
    if (!stop.requested) throw e;
    complete = false;
  } finally {
    off();
  }
  if (stop.requested) complete = false;
  if (complete) reader.end(onPacket);
  return { stats: reader.stats, complete };
}

/** A capture is live when its packets' times are this close to this machine's clock. */
const LIVE_SKEW_US = 60_000_000;

/**
 * Capture time moves only with packets, so while a live input is quiet nothing would end: idle flows, closed TCP
 * connections past their linger. Once no packet has been read for `everyMs`, `advance` is called with the last
 * packet's time plus the wall time since it — only when that last time was within a minute of this machine's
 * clock when it was read (a live capture: tcpdump, dumpcap; however long it then stays quiet), never for a
 * recording replayed through a pipe, whose time is its own.
 */
export class QuietClock {
  private lastTsUs = -1;
  private lastWallMs = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(advance: (tsUs: number) => void, everyMs = 1000) {
    this.timer = setInterval(() => {
      if (this.lastTsUs < 0) return;
      const quietMs = performance.now() - this.lastWallMs;
      if (quietMs < everyMs) return;
      if (!this.live) return;
      advance(this.lastTsUs + Math.round(quietMs * 1000));
    }, everyMs);
    this.timer.unref();
  }

  /** A packet was read (its capture time). */
  saw(tsUs: number): void {
    this.lastTsUs = tsUs;
    this.lastWallMs = performance.now();
  }

  /**
   * Whether the input is a live capture: its last packet's time was within a minute of this machine's clock when
   * it was read. When such an input closes, the capture stopped (tcpdump exited or was stopped) with its flows
   * still live, as at a signal; a recording's end (replayed through a pipe) is the end of its flows' data.
   */
  get live(): boolean {
    return this.lastTsUs >= 0 && Math.abs(this.lastTsUs - (performance.timeOrigin + this.lastWallMs) * 1000) <= LIVE_SKEW_US;
  }

  /** The end reason of flows still live when the input ends: `stop` for a live capture, else `eof`. */
  get endReason(): 'eof' | 'stop' {
    return this.live ? 'stop' : 'eof';
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
