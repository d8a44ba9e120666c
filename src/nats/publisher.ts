/**
 * Records to a JetStream stream: every message carries a JetStream message id derived from its flow, so a retry
 * (after a lost ack, a timeout, a reconnection) is dropped by the server as a duplicate instead of stored twice;
 * acks are awaited with a bounded number in flight; while NATS is unreachable messages wait in a bounded buffer.
 *
 * Nothing is lost silently: each accepted message ends as acked (stored, or a duplicate of a stored copy), or is
 * counted — `dropped` when it arrived with the buffer full (overflow 'drop', the live case), `unsent` when the
 * publisher was closed before its ack came. `accepted = acked + unsent` and `offered = accepted + dropped` hold at
 * the end. The caller's thread never waits on the network: `publish*` only encodes and queues.
 *
 * A publication is JetStream's own protocol: a core NATS message with a `Nats-Msg-Id` header and a reply subject,
 * answered by the stream with a PubAck (or an error). Replies come to one wildcard inbox subscription and time
 * out on one timer — the client's `js.publish` sets up a request, a timer and a promise per message, which measured
 * 3-4x slower here (5.8-10.1k vs 16.7-33.0k messages/s on this shared host, same run).
 */
import { EventEmitter } from 'node:events';
import type { NatsConnection } from '@nats-io/transport-node';
import type { FlowRecord } from '../classify/record.js';
import { InvalidArgumentError, MAX_DELAY_MS, numberOption } from '../errors.js';
import { loadNatsModules, type NatsModules } from './modules.js';
import { checkSensorId, checkSubject, JOB_EVENT_SUFFIX, recordMsgId, recordSubject, VERDICT_SUFFIX } from './names.js';

export interface PublisherOptions {
  /** Sensor id: a field of every record and the last token of the default subject. */
  sensor: string;
  /** Subject of the records (default `tunnelscope.records.<sensor>`); verdict events go to `<subject>.verdict`. */
  subject?: string | undefined;
  /** Publications awaiting their ack at once (default 256). */
  maxInFlight?: number | undefined;
  /** Messages waiting to be sent, at most (default 100 000). */
  maxBuffered?: number | undefined;
  /** Bytes of messages waiting to be sent, at most (default 256 MiB). */
  maxBufferedBytes?: number | undefined;
  /**
   * When the buffer is full: 'drop' (default; live capture cannot wait) drops the new message and counts it;
   * 'block' accepts it anyway and returns false — the caller must `await room()` before producing more (files).
   */
  overflow?: 'drop' | 'block' | undefined;
  /** Time to wait for one ack before sending again with the same message id (default 10 000 ms). */
  ackTimeoutMs?: number | undefined;
}

export interface PublisherStats {
  /** Messages handed to publish*. */
  offered: number;
  /** Messages taken into the buffer. */
  accepted: number;
  /** Messages the server acknowledged (stored now or before). */
  acked: number;
  /** Of `acked`: messages the server already had (an earlier attempt was stored, its ack lost). */
  duplicates: number;
  /** Messages dropped because the buffer was full (never sent). */
  dropped: number;
  /** Messages still unacknowledged when the publisher was closed (may or may not be stored). */
  unsent: number;
  /** Publications sent again after a failure or timeout. */
  retries: number;
  /** Messages waiting (buffer and retries) and awaiting an ack. */
  buffered: number;
  inFlight: number;
  bufferedBytes: number;
  /** True while the connection is down. */
  unreachable: boolean;
  /** The last publication error, if any. */
  lastError: string | null;
}

interface Pending {
  seq: number;
  subject: string;
  body: string;
  id: string;
  /** When it was last sent (ms, performance clock) — for the ack timeout. */
  sentAt: number;
}

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2000;

/**
 * Events: `drop` ({ dropped }) at the first drop after a period without drops; `unreachable` / `reachable` when
 * the connection goes down / comes back; `retry` ({ retries, error }) for each publish that failed and will be sent
 * again (the server refused it, or no ack came); `error` is never emitted (failures are retried and counted in
 * `stats`).
 */
export class RecordPublisher extends EventEmitter {
  readonly sensor: string;
  readonly subject: string;
  private readonly verdictSubject: string;
  private readonly jobSubject: string;
  private readonly sensorSuffix: string;
  private readonly maxInFlight: number;
  private readonly maxBuffered: number;
  private readonly maxBytes: number;
  private readonly overflow: 'drop' | 'block';
  private readonly ackTimeout: number;
  private queue: Pending[] = [];
  private head = 0;
  private retryQ: Pending[] = [];
  private nextSeq = 0;
  private inFlight = 0;
  private bytes = 0;
  private connected = true;
  private dropping = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = RETRY_MIN_MS;
  private closed = false;
  private waiters: Array<() => void> = [];
  private roomWaiters: Array<() => void> = [];
  private stopStatus: (() => void) | undefined;
  /** In flight, by reply token, in send order (the oldest first: the timeout scan stops at the first young one). */
  private readonly flying = new Map<number, Pending>();
  private nextToken = 0;
  private readonly inbox: string;
  private readonly sub: { unsubscribe(): void };
  private readonly ackTimer: NodeJS.Timeout;
  private readonly dec = new TextDecoder();
  private readonly st = { offered: 0, accepted: 0, acked: 0, duplicates: 0, dropped: 0, unsent: 0, retries: 0, lastError: null as string | null };

  /** @internal use {@link createRecordPublisher} */
  constructor(
    private readonly nc: NatsConnection,
    private readonly mods: NatsModules,
    options: PublisherOptions,
  ) {
    super();
    this.sensor = checkSensorId(options.sensor);
    this.subject = options.subject === undefined ? recordSubject(this.sensor) : checkSubject(options.subject);
    this.verdictSubject = `${this.subject}.${VERDICT_SUFFIX}`;
    this.jobSubject = `${this.subject}.${JOB_EVENT_SUFFIX}`;
    this.sensorSuffix = `,"sensor":${JSON.stringify(this.sensor)}}`;
    this.maxInFlight = numberOption('maxInFlight', options.maxInFlight, 256, 1, Number.MAX_SAFE_INTEGER, true);
    this.maxBuffered = numberOption('maxBuffered', options.maxBuffered, 100_000, 1, Number.MAX_SAFE_INTEGER, true);
    this.maxBytes = numberOption('maxBufferedBytes', options.maxBufferedBytes, 256 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER, true);
    this.overflow = options.overflow ?? 'drop';
    this.ackTimeout = numberOption('ackTimeoutMs', options.ackTimeoutMs, 10_000, 1, MAX_DELAY_MS, true);
    this.connected = !nc.isClosed();
    this.inbox = mods.transport.createInbox();
    this.sub = nc.subscribe(`${this.inbox}.*`, { callback: (err, msg) => this.onReply(err, msg) });
    this.ackTimer = setInterval(() => this.expire(), Math.max(100, Math.floor(this.ackTimeout / 4)));
    this.ackTimer.unref();
    this.watchStatus();
  }

  private watchStatus(): void {
    const status = this.nc.status() as AsyncIterable<{ type: string }> & { stop?: () => void };
    this.stopStatus = () => status.stop?.();
    void (async () => {
      for await (const s of status) {
        if (s.type === 'disconnect' && this.connected) {
          this.connected = false;
          this.emit('unreachable', { buffered: this.pendingCount() });
        } else if (s.type === 'reconnect' && !this.connected) {
          this.connected = true;
          this.retryDelay = RETRY_MIN_MS;
          this.emit('reachable', { buffered: this.pendingCount() });
          this.pump();
        }
      }
    })().catch(() => undefined);
  }

  /** Counters (a copy). */
  get stats(): PublisherStats {
    return {
      ...this.st,
      buffered: this.pendingCount() + this.inFlight,
      inFlight: this.inFlight,
      bufferedBytes: this.bytes,
      unreachable: !this.connected,
    };
  }

  /** True when the buffer is at its cap (overflow 'block': wait for `room()` before producing more). */
  get full(): boolean {
    return this.pendingCount() + this.inFlight >= this.maxBuffered || this.bytes >= this.maxBytes;
  }

  /**
   * Publish one flow record, with the sensor id added as `sensor`; message id from sensor, flow key and first-seen.
   * @returns overflow 'drop': false when the record was dropped (buffer full); overflow 'block': false when the
   *   buffer is now full (the record was taken; wait for `room()`)
   */
  publishRecord(record: FlowRecord): boolean {
    const json = JSON.stringify(record);
    return this.publish(this.subject, json.slice(0, -1) + this.sensorSuffix, recordMsgId(this.sensor, record));
  }

  /**
   * Publish a verdict event (`<subject>.verdict`); `flow` must carry the flow key and first-seen time.
   * @returns as {@link publishRecord}
   */
  publishVerdict(event: { flow: Parameters<typeof recordMsgId>[1] } & Record<string, unknown>): boolean {
    const json = JSON.stringify(event);
    return this.publish(this.verdictSubject, json.slice(0, -1) + this.sensorSuffix, recordMsgId(this.sensor, event.flow, 'v'));
  }

  /** Publish a job event (`<subject>.job`) with the given message id. */
  publishJobEvent(event: Record<string, unknown>, msgId: string): boolean {
    return this.publish(this.jobSubject, JSON.stringify({ ...event, sensor: this.sensor }), msgId);
  }

  /**
   * Publish a JSON text body to `subject` with message id `id` (the id must name the content: a retry sends it
   * again with the same id).
   * @returns as {@link publishRecord}
   */
  publish(subject: string, body: string, id: string): boolean {
    if (this.closed) throw new InvalidArgumentError('publisher closed');
    this.st.offered++;
    if (this.full && this.overflow === 'drop') {
      this.st.dropped++;
      if (!this.dropping) {
        this.dropping = true;
        this.emit('drop', { dropped: this.st.dropped });
      }
      return false;
    }
    this.dropping = false;
    this.st.accepted++;
    this.queue.push({ seq: this.nextSeq++, subject, body, id, sentAt: 0 });
    this.bytes += body.length;
    this.pump();
    return this.overflow === 'drop' || !this.full;
  }

  private pendingCount(): number {
    return this.queue.length - this.head + this.retryQ.length;
  }

  private take(): Pending | undefined {
    if (this.retryQ.length > 0) return this.retryQ.shift();
    if (this.head >= this.queue.length) return undefined;
    const m = this.queue[this.head]!;
    this.queue[this.head++] = undefined as unknown as Pending;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return m;
  }

  private pump(): void {
    if (this.retryTimer !== undefined) return; // backing off after a failure
    while (this.connected && this.inFlight < this.maxInFlight) {
      const m = this.take();
      if (m === undefined) break;
      this.send(m);
    }
  }

  private send(m: Pending): void {
    const token = this.nextToken++;
    m.sentAt = performance.now();
    this.flying.set(token, m);
    this.inFlight++;
    const h = this.mods.transport.headers();
    h.set('Nats-Msg-Id', m.id);
    try {
      this.nc.publish(m.subject, m.body, { reply: `${this.inbox}.${token}`, headers: h });
    } catch (e) {
      // Closed or draining connection: the message waits for a retry like any failed one.
      this.flying.delete(token);
      this.inFlight--;
      this.failed(m, e);
    }
  }

  /** A PubAck, a JetStream error, or a 503 (no stream takes the subject) for one reply token. */
  private onReply(err: Error | null, msg: { subject: string; data: Uint8Array; headers?: { code: number; description: string } | undefined }): void {
    if (err) return;
    const token = Number(msg.subject.slice(this.inbox.length + 1));
    const m = this.flying.get(token);
    if (m === undefined) return; // timed out and queued again already: its retry will be answered (as a duplicate)
    this.flying.delete(token);
    this.inFlight--;
    if (this.closed) return; // counted in `unsent` already
    const ack = msg.data.length > 0 ? parseAck(this.dec.decode(msg.data)) : null;
    if (ack === null || ack.error !== undefined || typeof ack.seq !== 'number') {
      const why = ack?.error?.description ?? (msg.headers && msg.headers.code >= 300 ? `${msg.headers.code} ${msg.headers.description}` : 'no ack');
      this.failed(m, new Error(why === '503 ' || why.startsWith('503') ? `no stream takes subject ${m.subject} (503 no responders)` : why));
      return;
    }
    this.st.acked++;
    if (ack.duplicate === true) this.st.duplicates++;
    this.bytes -= m.body.length;
    this.retryDelay = RETRY_MIN_MS;
    this.settled();
  }

  /** Publications whose ack did not come within the timeout are sent again (same message id). */
  private expire(): void {
    if (this.flying.size === 0) return;
    const limit = performance.now() - this.ackTimeout;
    for (const [token, m] of this.flying) {
      if (m.sentAt > limit) break;
      this.flying.delete(token);
      this.inFlight--;
      this.failed(m, new Error(`no ack within ${this.ackTimeout} ms`));
    }
  }

  private failed(m: Pending, err: unknown): void {
    if (this.closed) return;
    this.st.retries++;
    this.st.lastError = err instanceof Error ? err.message : String(err);
    this.emit('retry', { retries: this.st.retries, error: this.st.lastError });
    // Retries keep their original order among themselves.
    let i = this.retryQ.length;
    while (i > 0 && this.retryQ[i - 1]!.seq > m.seq) i--;
    this.retryQ.splice(i, 0, m);
    this.backOff();
    this.settled();
  }

  private backOff(): void {
    if (this.retryTimer !== undefined) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(RETRY_MAX_MS, this.retryDelay * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, delay);
  }

  private settled(): void {
    this.pump();
    if (!this.full && this.roomWaiters.length > 0 && this.pendingCount() + this.inFlight <= this.maxBuffered / 2) {
      const ws = this.roomWaiters;
      this.roomWaiters = [];
      for (const w of ws) w();
    }
    if (this.pendingCount() === 0 && this.inFlight === 0 && this.waiters.length > 0) {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w();
    }
  }

  /** Resolves when the buffer is at most half full (overflow 'block' producers wait on it). */
  room(): Promise<void> {
    if (this.pendingCount() + this.inFlight <= this.maxBuffered / 2 && this.bytes < this.maxBytes / 2) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * Resolves when every accepted message is acked, or after `timeoutMs` (default, and Infinity: no limit; else at
   * most 2^31 - 1).
   * @returns messages still unacknowledged (0 when all are in)
   * @throws {InvalidArgumentError} (as a rejection) when `timeoutMs` is not a number in that range
   */
  async flush(timeoutMs?: number): Promise<number> {
    const limit = timeoutMs === undefined || timeoutMs === Infinity ? undefined : numberOption('timeoutMs', timeoutMs, undefined, 0, MAX_DELAY_MS);
    if (this.pendingCount() + this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        if (limit !== undefined) setTimeout(resolve, limit).unref();
      });
    }
    return this.pendingCount() + this.inFlight;
  }

  /**
   * Flush (up to `timeoutMs`, default 30 000 ms), then stop: what is still unacknowledged is counted in `unsent`.
   * The connection stays open (it belongs to the caller).
   */
  async close(timeoutMs = 30_000): Promise<PublisherStats> {
    if (!this.closed) {
      const left = await this.flush(timeoutMs);
      this.closed = true;
      this.st.unsent = left;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.queue = [];
      this.head = 0;
      this.retryQ = [];
      this.flying.clear();
      clearInterval(this.ackTimer);
      this.sub.unsubscribe();
      this.stopStatus?.();
    }
    return this.stats;
  }
}

interface PubAck {
  error?: { description?: string };
  duplicate?: boolean;
  seq?: number;
}

function parseAck(text: string): PubAck | null {
  try {
    const x = JSON.parse(text) as unknown;
    return typeof x === 'object' && x !== null ? (x as PubAck) : null;
  } catch {
    return null;
  }
}

/**
 * A publisher on `nc`'s JetStream. The stream must exist (see `ensureRecordsStream`).
 * @example
 * const pub = await createRecordPublisher(nc, { sensor: 'gw1' });
 * session.on('flow', (r) => pub.publishRecord(r));
 * ...
 * const st = await pub.close();
 * if (st.dropped + st.unsent > 0) console.error(`${st.dropped} records dropped, ${st.unsent} unacknowledged`);
 */
export async function createRecordPublisher(nc: NatsConnection, options: PublisherOptions): Promise<RecordPublisher> {
  return new RecordPublisher(nc, await loadNatsModules(), options);
}
