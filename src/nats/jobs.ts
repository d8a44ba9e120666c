/**
 * Recorded traces across machines: capture jobs on a work-queue stream, taken by any number of workers that see
 * the same files. A worker classifies a job's capture with an ordinary classifier session (the same code as
 * `tunnelscope classify` on that file), publishes each record with a message id made of the job id, the job's
 * sequence in the jobs stream and the record's position (a redelivered job republishes the same ids, so a dead
 * worker's partial output is not stored twice; a batch id used again later gets new ones), publishes a `done` job event, and only then acks. While it works it tells the server so (`working()`,
 * every third of the ack wait); a worker that dies stops doing that, and the job is delivered again after the ack
 * wait, at most `maxDeliver` times. A job that fails is reported with its error as a `failed` job event: final at
 * once for a capture that cannot be read as one (every worker would fail the same way), after the last attempt
 * for a file a worker cannot open (another machine may have it).
 *
 * A one-trace job (`submitJobs(…, { oneTrace: true })`, `fleet submit --one-trace`) carries the pieces of one
 * recording in reading order and is read as one trace with the loop of `classify --one-trace`
 * (src/trace/pieces.ts). Its pieces are fixed when it is submitted, so every delivery reads the same pieces in the
 * same order and republishes the same record ids. A worker that cannot open one of them gives the job back before
 * publishing anything (another machine may see it), except on the last delivery, which reads the rest; a corrupt
 * piece (the same on every machine) is read to its damage and the trace goes on. What the read had to say (a
 * piece failed, pieces overlap) goes out in the `done` event's `notes`.
 */
import { EventEmitter } from 'node:events';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JsMsg, PubAck } from '@nats-io/jetstream';
import type { Classifier } from '../classify/classifier.js';
import type { FlowRecord } from '../classify/record.js';
import { cannotReadReason, checkClassifier, checkOptions, MAX_DELAY_MS, numberOption, TunnelscopeError } from '../errors.js';
import { quoteText, safeText } from '../text.js';
import { piecesAsGiven, readPieces } from '../trace/pieces.js';
import { readCaptureFile } from '../trace/reader.js';
import { loadNatsModules } from './modules.js';
import { NatsError } from './lists.js';
import { checkSensorId, DEFAULT_JOBS_STREAM, DEFAULT_RECORDS_STREAM, DEFAULT_WORKERS_CONSUMER, JOBS_SUBJECT, jobMsgId, RECORDS_SUBJECT_PREFIX, JOB_EVENT_SUFFIX } from './names.js';
import { createRecordPublisher, type PublisherOptions, type RecordPublisher } from './publisher.js';
import { ensureJobsStream, ensureRecordsStream, type RecordsStreamOptions } from './streams.js';

/** A capture job as it sits on the work queue. */
export interface CaptureJob {
  job: string;
  batch: string;
  /**
   * Absolute path; every worker must see the file under this path. For a one-trace job, its label: the first
   * piece's path and ` (one trace, N pieces)` (a worker that knows no pieces fails to open it, rather than read
   * one piece of the trace and call the job done).
   */
  file: string;
  /** A one-trace job: the absolute paths of its pieces, in reading order. */
  pieces?: string[];
  submitted: string;
}

/** Notes a `done` event carries at most (each clipped), so one job event stays small whatever its pieces. */
const MAX_NOTES = 20;
const MAX_NOTE_CHARS = 600;

/** A job event, published by workers on `<records subject>.job`. */
export interface JobEvent {
  event: 'done' | 'failed';
  job: string;
  batch: string;
  file: string;
  /** The delivery this event comes from (1 = first). */
  attempt: number;
  /** done: records published and packets read. */
  records?: number;
  packets?: number;
  /** done, one-trace job: pieces, pieces that failed (cannot be opened, corrupt), and what the read said (escaped). */
  pieces?: number;
  failedPieces?: number;
  notes?: string[];
  /** failed: the error, its code, and whether the job will be tried again. */
  error?: string;
  code?: string | null;
  final?: boolean;
  sensor: string;
}

/**
 * `x` as a job event when it has the fields and types one has, else null: job events come from a subject any
 * client of the server may publish to.
 */
export function asJobEvent(x: unknown): JobEvent | null {
  if (typeof x !== 'object' || x === null) return null;
  const e = x as Record<string, unknown>;
  if (e.event !== 'done' && e.event !== 'failed') return null;
  if (typeof e.job !== 'string' || typeof e.batch !== 'string' || typeof e.file !== 'string' || typeof e.sensor !== 'string') return null;
  if (!Number.isSafeInteger(e.attempt)) return null;
  if (e.records !== undefined && !Number.isSafeInteger(e.records)) return null;
  if (e.packets !== undefined && !Number.isSafeInteger(e.packets)) return null;
  if (e.pieces !== undefined && !Number.isSafeInteger(e.pieces)) return null;
  if (e.failedPieces !== undefined && !Number.isSafeInteger(e.failedPieces)) return null;
  // Notes are printed: no more than a worker writes (MAX_NOTES and the count of the rest).
  if (e.notes !== undefined && !(Array.isArray(e.notes) && e.notes.length <= MAX_NOTES + 1 && e.notes.every((n) => typeof n === 'string'))) return null;
  if (e.error !== undefined && typeof e.error !== 'string') return null;
  if (e.code !== undefined && e.code !== null && typeof e.code !== 'string') return null;
  if (e.final !== undefined && typeof e.final !== 'boolean') return null;
  return e as unknown as JobEvent;
}

export interface JobsOptions {
  /** Work-queue stream (default `TUNNELSCOPE_JOBS`) and its subject (default `tunnelscope.jobs.capture`). */
  stream?: string | undefined;
  subject?: string | undefined;
  /** The workers' shared durable consumer (default `tunnelscope-workers`). */
  consumer?: string | undefined;
  /** Records stream options (the stream workers publish to; created when missing). */
  records?: RecordsStreamOptions | undefined;
}

export interface SubmitResult {
  batch: string;
  /** `file`: the path, or a one-trace job's label ({@link CaptureJob.file}). */
  jobs: { job: string; file: string; seq: number }[];
  /** Records-stream sequence before the jobs went out: every record and job event of the batch comes after it. */
  recordsSeq: number;
}

const rand = (): string => Math.random().toString(36).slice(2, 10);

/** The label of a one-trace job: its first piece and how many. */
export function oneTraceLabel(pieces: readonly string[]): string {
  return `${pieces[0]} (one trace, ${pieces.length} ${pieces.length === 1 ? 'piece' : 'pieces'})`;
}

/**
 * Put one job per file on the work queue, or with `oneTrace` one job for all of them: the pieces of one recording,
 * in the order to read them (`fleet submit --one-trace` puts them in first-packet order). Paths are made absolute
 * here; workers must see the same paths.
 * @throws {NatsError}
 */
export async function submitJobs(
  nc: NatsConnection,
  files: readonly string[],
  options: JobsOptions & { batch?: string | undefined; oneTrace?: boolean | undefined } = {},
): Promise<SubmitResult> {
  const { jetstream } = await loadNatsModules();
  await ensureJobsStream(nc, { stream: options.stream, subject: options.subject });
  const rec = await ensureRecordsStream(nc, options.records);
  const batch = options.batch ?? `${Date.now().toString(36)}-${rand()}`;
  checkSensorId(batch); // a token: it names message ids and may be typed on a command line
  const js = jetstream.jetstream(nc);
  const jobs: SubmitResult['jobs'] = [];
  const submitted = new Date().toISOString();
  const paths = files.map((f) => resolvePath(f));
  const bodies: CaptureJob[] =
    options.oneTrace === true
      ? paths.length === 0
        ? []
        : [{ job: `${batch}-1`, batch, file: oneTraceLabel(paths), pieces: paths, submitted }]
      : paths.map((file, i) => ({ job: `${batch}-${i + 1}`, batch, file, submitted }));
  for (let i = 0; i < bodies.length; i++) {
    const body = bodies[i]!;
    const { job, file } = body;
    let ack: PubAck;
    try {
      ack = await js.publish(options.subject ?? JOBS_SUBJECT, JSON.stringify(body), { msgID: `job:${job}` });
    } catch (e) {
      const msg = (e as Error).message;
      // A one-trace job holds every piece's path in one message; cut in two it would no longer be one trace.
      const hint = body.pieces !== undefined && /max_payload/i.test(msg) ? ` (a one-trace job holds the paths of its ${body.pieces.length} pieces, ${JSON.stringify(body).length} bytes: raise the server's max_payload)` : '';
      throw new NatsError(`cannot submit ${file}: ${msg}${hint}`, { cause: e });
    }
    // The server took it for a copy of a job it still remembers (the same batch id within the stream's duplicate
    // window): nothing was queued, and a wait for it would never end.
    if (ack.duplicate) {
      throw new NatsError(
        `batch ${quoteText(batch)}: job ${quoteText(job, 200)} was already submitted (the jobs stream remembers its id for its duplicate window); ` +
          `${i === 0 ? 'nothing was queued' : `${i} job(s) of this submission were queued`}: use another batch id`,
      );
    }
    jobs.push({ job, file, seq: ack.seq });
  }
  return { batch, jobs, recordsSeq: rec.state.last_seq };
}

export interface WorkerOptions extends JobsOptions {
  /** Worker id (a sensor id: one subject token); its records go to `tunnelscope.records.<id>`. */
  id: string;
  /** The classifier each job runs through (keep its lists current with watchFleetLists if they come from the fleet). */
  classifier: Classifier;
  /** Flow-table options of each job's session (as `classify --idle-timeout/--max-flows`). */
  flow?: Parameters<Classifier['session']>[0] extends infer O ? (O extends { flow?: infer F } ? F : never) : never;
  /** How long a job may go without a sign of life before the server gives it to another worker (default 30 000 ms; at most 2^31 - 1). */
  ackWaitMs?: number | undefined;
  /** Deliveries of one job at most (default 3). */
  maxDeliver?: number | undefined;
  /** Publisher options (buffer sizes); the publisher blocks (never drops) on a full buffer. */
  publisher?: Omit<PublisherOptions, 'sensor' | 'overflow'> | undefined;
  /** Stop when this aborts (after the job in hand is finished or given back). */
  signal?: AbortSignal | undefined;
  /** Stop after this many jobs (default: no limit). */
  maxJobs?: number | undefined;
  /** Stop when no job came for this long (default: never). */
  idleExitMs?: number | undefined;
}

export interface WorkerStats {
  jobs: number;
  done: number;
  failed: number;
  records: number;
}

/**
 * Events: `ready` ({ ackWaitMs, maxDeliver }: the shared consumer's settings) once taking jobs; `job` ({ job, file,
 * attempt }) when a job is taken; `done` / `failed` (JobEvent) as published.
 */
export class JobWorker extends EventEmitter {
  readonly stats: WorkerStats = { jobs: 0, done: 0, failed: 0, records: 0 };
  /** @internal */
  constructor(
    private readonly nc: NatsConnection,
    private readonly options: WorkerOptions,
  ) {
    super();
    checkOptions('createJobWorker', options);
    checkSensorId(options.id);
    checkClassifier('createJobWorker', 'classifier', options.classifier, 'session');
    // The heartbeat runs every ackWaitMs / 3: a Node timer past 2^31 - 1 ms would run every millisecond.
    numberOption('ackWaitMs', options.ackWaitMs, 30_000, 1, MAX_DELAY_MS);
    numberOption('maxDeliver', options.maxDeliver, 3, 1, 2 ** 31 - 1, true);
    numberOption('maxJobs', options.maxJobs, 1, 1, Number.MAX_SAFE_INTEGER, true);
    numberOption('idleExitMs', options.idleExitMs, 0, 0, MAX_DELAY_MS);
  }

  /** Take and run jobs until stopped (signal, maxJobs, idleExitMs). */
  async run(): Promise<WorkerStats> {
    const { jetstream } = await loadNatsModules();
    const o = this.options;
    const stream = o.stream ?? DEFAULT_JOBS_STREAM;
    const subject = o.subject ?? JOBS_SUBJECT;
    const consumer = o.consumer ?? DEFAULT_WORKERS_CONSUMER;
    const ackWaitMs = o.ackWaitMs ?? 30_000;
    const maxDeliver = o.maxDeliver ?? 3;
    await ensureJobsStream(this.nc, { stream, subject });
    await ensureRecordsStream(this.nc, o.records);
    const jsm = await jetstream.jetstreamManager(this.nc);
    const exists = await jsm.consumers.info(stream, consumer).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await jsm.consumers
        .add(stream, {
          durable_name: consumer,
          ack_policy: jetstream.AckPolicy.Explicit,
          ack_wait: ackWaitMs * 1_000_000,
          max_deliver: maxDeliver,
          filter_subject: subject,
          max_ack_pending: 10_000,
        })
        .catch(async (e: unknown) => {
          // Another worker created it meanwhile.
          if (!(await jsm.consumers.info(stream, consumer).then(() => true, () => false))) throw new NatsError(`cannot create consumer ${consumer}: ${(e as Error).message}`, { cause: e });
        });
    }
    const info = await jsm.consumers.info(stream, consumer);
    const effectiveAckWaitMs = Math.max(1000, (info.config.ack_wait ?? ackWaitMs * 1_000_000) / 1_000_000);
    const effectiveMaxDeliver = (info.config.max_deliver ?? -1) > 0 ? info.config.max_deliver! : Infinity;
    const c = await jetstream.jetstream(this.nc).consumers.get(stream, consumer);
    const pub = await createRecordPublisher(this.nc, { ...o.publisher, sensor: o.id, overflow: 'block', subject: `${RECORDS_SUBJECT_PREFIX}.${o.id}` });
    this.emit('ready', { ackWaitMs: effectiveAckWaitMs, maxDeliver: effectiveMaxDeliver });
    let idleSince = Date.now();
    try {
      // While the server is unreachable a fetch may wait well past its expiry: the stop must not wait with it.
      const stopped = new Promise<null>((resolve) => {
        if (o.signal?.aborted) resolve(null);
        o.signal?.addEventListener('abort', () => resolve(null), { once: true });
      });
      while (!o.signal?.aborted && (o.maxJobs === undefined || this.stats.jobs < o.maxJobs)) {
        const m = await Promise.race([c.next({ expires: 2000 }).catch(() => null), stopped]);
        if (m === null && o.signal?.aborted) break;
        if (m === null) {
          if (o.idleExitMs !== undefined && Date.now() - idleSince >= o.idleExitMs) break;
          continue;
        }
        this.stats.jobs++;
        await this.handle(m, pub, effectiveAckWaitMs, effectiveMaxDeliver);
        idleSince = Date.now();
      }
    } finally {
      await pub.close();
    }
    return this.stats;
  }

  private async handle(m: JsMsg, pub: RecordPublisher, ackWaitMs: number, maxDeliver: number): Promise<void> {
    const attempt = m.info.deliveryCount;
    let job: CaptureJob;
    try {
      job = parseJob(m.data);
    } catch (e) {
      this.publishEvent(pub, { event: 'failed', job: `seq-${m.seq}`, batch: '', file: '', attempt, error: (e as Error).message, code: null, final: true }, `job:seq-${m.seq}:failed`);
      await pub.flush();
      m.term();
      return;
    }
    this.emit('job', { job: job.job, file: job.file, attempt });
    const beat = setInterval(() => m.working(), Math.max(250, Math.floor(ackWaitMs / 3)));
    try {
        const { records, packets, ...read } = await this.classify(job, m.seq, pub, () => m.working(), attempt >= maxDeliver);
      this.stats.records += records;
      this.publishEvent(pub, { event: 'done', job: job.job, batch: job.batch, file: job.file, attempt, records, packets, ...read }, jobMsgId(job.job, m.seq, 'done'));
      await pub.flush();
      await m.ackAck().catch(() => false);
      this.stats.done++;
    } catch (e) {
      const err = e as Error & { code?: unknown };
      const code = typeof err.code === 'string' ? err.code : null;
      // A capture that is not one fails everywhere; a file this machine cannot open may be readable elsewhere.
      const final = (e instanceof TunnelscopeError) || attempt >= maxDeliver;
      this.publishEvent(
        pub,
        { event: 'failed', job: job.job, batch: job.batch, file: job.file, attempt, error: err.message ?? String(e), code, final },
        final ? jobMsgId(job.job, m.seq, 'failed') : jobMsgId(job.job, m.seq, `failed:${attempt}`),
      );
      await pub.flush();
      this.stats.failed++;
      if (final) m.term();
      else m.nak(1000);
    } finally {
      clearInterval(beat);
    }
  }

  private publishEvent(pub: RecordPublisher, e: Omit<JobEvent, 'sensor'>, id: string): void {
    pub.publishJobEvent(e as unknown as Record<string, unknown>, id);
    this.emit(e.event, { ...e, sensor: this.options.id });
  }

  /**
   * Classify one capture (or a one-trace job's pieces) through a fresh session; records out as they end, with
   * back-pressure from the publisher.
   */
  private async classify(
    job: CaptureJob,
    jobSeq: number,
    pub: RecordPublisher,
    alive: () => void,
    lastAttempt: boolean,
  ): Promise<{ records: number; packets: number; pieces?: number; failedPieces?: number; notes?: string[] }> {
    // Before anything is published: a piece this machine cannot open may be there on another one. The last
    // delivery reads the pieces there are (the one missing is reported), as classify --one-trace does.
    if (job.pieces !== undefined && !lastAttempt) {
      for (const p of job.pieces) {
        const no = cannotOpen(p);
        // The file-system code goes with it, as for a single capture the worker cannot open (ENOENT, EACCES).
        if (no !== null) throw Object.assign(new Error(`cannot read ${safeText(p, 256)}: ${no.why} (a piece of the trace; another worker may see it)`), { code: no.code });
      }
    }
    const session = this.options.classifier.session(this.options.flow ? { flow: this.options.flow } : {});
    let n = 0;
    const extra = `,"job":${JSON.stringify(job.job)},"batch":${JSON.stringify(job.batch)},"capture":${JSON.stringify(job.file)},"sensor":${JSON.stringify(this.options.id)}}`;
    session.on('flow', (r: FlowRecord) => {
      const json = JSON.stringify(r);
      // Position in the job's output: the same on every attempt, since a capture classifies the same way each time.
      pub.publish(pub.subject, json.slice(0, -1) + extra, jobMsgId(job.job, jobSeq, n++));
    });
    let packets = 0;
    const afterChunk = async (): Promise<void> => {
      alive();
      if (pub.full) await pub.room();
    };
    if (job.pieces !== undefined) {
      const notes: string[] = [];
      let noted = 0;
      const note = (line: string): void => {
        if (noted++ < MAX_NOTES) notes.push(safeText(line, MAX_NOTE_CHARS));
      };
      let failed = 0;
      try {
        const r = await readPieces(piecesAsGiven(job.pieces), (p) => session.pushRaw(p), note, { afterChunk });
        packets = r.stats.packets;
        failed = r.failed;
      } finally {
        session.end();
      }
      if (noted > MAX_NOTES) notes.push(`… and ${noted - MAX_NOTES} more`);
      return { records: n, packets, pieces: job.pieces.length, failedPieces: failed, ...(notes.length ? { notes } : {}) };
    }
    try {
      const st = await readCaptureFile(job.file, (p) => session.pushRaw(p), { afterChunk });
      packets = st.packets;
    } finally {
      session.end();
    }
    return { records: n, packets };
  }
}

function parseJob(data: Uint8Array): CaptureJob {
  let x: unknown;
  try {
    x = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    throw new Error('not a tunnelscope capture job (not JSON text)');
  }
  const j = x as Record<string, unknown>;
  if (typeof j !== 'object' || j === null || typeof j.job !== 'string' || typeof j.file !== 'string' || typeof j.batch !== 'string') {
    throw new Error('not a tunnelscope capture job (job, batch and file fields)');
  }
  checkSensorId(j.batch === '' ? 'x' : j.batch);
  if (j.pieces !== undefined && !(Array.isArray(j.pieces) && j.pieces.length > 0 && j.pieces.every((p) => typeof p === 'string'))) {
    throw new Error('not a tunnelscope capture job (pieces is not a list of paths)');
  }
  return {
    job: j.job.slice(0, 200),
    batch: j.batch,
    file: j.file,
    ...(j.pieces !== undefined ? { pieces: j.pieces as string[] } : {}),
    submitted: typeof j.submitted === 'string' ? j.submitted : '',
  };
}

/** Why this machine cannot open `path` for reading (and the error's code), or null when it can. */
function cannotOpen(path: string): { why: string; code: string | null } | null {
  try {
    // Non-blocking: a FIFO named as a piece would hold the worker (and its job) until some process wrote to it.
    closeSync(openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK));
    return null;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return { why: cannotReadReason(e) ?? (e as Error).message, code: typeof code === 'string' ? code : null };
  }
}

/** A worker on `nc` (see {@link WorkerOptions}); call `run()`. */
export function createJobWorker(nc: NatsConnection, options: WorkerOptions): JobWorker {
  return new JobWorker(nc, options);
}

export interface JobOutcome {
  job: string;
  file: string;
  state: 'done' | 'failed' | 'gave-up' | 'pending';
  event?: JobEvent;
  /** gave-up: the server stopped delivering the job (its workers died each time). */
  deliveries?: number;
}

/**
 * Wait until every job of a submission is final: done, failed for good, or given up by the server after its
 * last delivery (its workers died each time; seen from the server's advisory). Resolves with one outcome per job
 * (state 'pending' for jobs still open when `timeoutMs` passed).
 */
export async function waitForJobs(
  nc: NatsConnection,
  submitted: SubmitResult,
  options: JobsOptions & { timeoutMs?: number | undefined; onEvent?: ((e: JobEvent) => void) | undefined } = {},
): Promise<JobOutcome[]> {
  const { jetstream } = await loadNatsModules();
  const outcome = new Map<string, JobOutcome>(submitted.jobs.map((j) => [j.job, { job: j.job, file: j.file, state: 'pending' }]));
  const bySeq = new Map(submitted.jobs.map((j) => [j.seq, j.job]));
  let open = outcome.size;
  const settle = (job: string, o: Partial<JobOutcome>): void => {
    const cur = outcome.get(job);
    if (!cur || cur.state !== 'pending') return;
    Object.assign(cur, o);
    if (cur.state !== 'pending') open--;
  };
  if (open === 0) return [];
  const jobsStream = options.stream ?? DEFAULT_JOBS_STREAM;
  const consumer = options.consumer ?? DEFAULT_WORKERS_CONSUMER;
  let wake: () => void = () => undefined;
  const advisory = nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${jobsStream}.${consumer}`, {
    callback: (err, msg) => {
      if (err) return;
      try {
        const a = msg.json<{ stream_seq?: number; deliveries?: number }>();
        const job = a.stream_seq === undefined ? undefined : bySeq.get(a.stream_seq);
        if (job !== undefined) {
          settle(job, { state: 'gave-up', deliveries: a.deliveries ?? 0 });
          wake();
        }
      } catch {
        /* not an advisory we understand */
      }
    },
  });
  const stream = options.records?.stream ?? DEFAULT_RECORDS_STREAM;
  const js = jetstream.jetstream(nc);
  const oc = await js.consumers.get(stream, { filter_subjects: `${RECORDS_SUBJECT_PREFIX}.*.${JOB_EVENT_SUFFIX}`, opt_start_seq: submitted.recordsSeq + 1 });
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  try {
    while (open > 0 && Date.now() < deadline) {
      const m = await Promise.race([
        oc.next({ expires: Math.max(1000, Math.min(5000, deadline - Date.now())) }),
        new Promise<null>((r) => {
          wake = () => r(null);
        }),
      ]);
      if (m === null) continue;
      let e: JobEvent | null;
      try {
        e = asJobEvent(m.json<unknown>());
      } catch {
        continue;
      }
      if (e === null) continue; // not a job event (any client may publish on the subject)
      if (e.batch !== submitted.batch || !outcome.has(e.job)) continue;
      options.onEvent?.(e);
      if (e.event === 'done') settle(e.job, { state: 'done', event: e });
      else if (e.final) settle(e.job, { state: 'failed', event: e });
    }
  } finally {
    advisory.unsubscribe();
    await oc.delete().catch(() => false);
  }
  return [...outcome.values()];
}
