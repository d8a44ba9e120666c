/**
 * The fleet's streams, created when missing so that commands compose without configuration. An existing stream
 * is used as it is (an operator may have given it replicas, limits or placement): only its subjects are checked.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { StreamInfo } from '@nats-io/jetstream';
import { loadNatsModules } from './modules.js';
import { NatsError } from './lists.js';
import { DEFAULT_JOBS_STREAM, DEFAULT_RECORDS_STREAM, JOBS_SUBJECT, RECORDS_SUBJECT_PREFIX, subjectCovers } from './names.js';

export interface RecordsStreamOptions {
  /** Stream name (default `TUNNELSCOPE_RECORDS`). */
  stream?: string | undefined;
  /** Subjects it takes (default `tunnelscope.records.>`). */
  subjects?: string[] | undefined;
  /**
   * How long the server remembers message ids to drop duplicates (default 120 000 ms, NATS's own default). A
   * copy re-sent after this window is stored twice: keep it above the longest outage a sensor's buffer rides
   * out and above a job's redelivery time.
   */
  duplicateWindowMs?: number | undefined;
  /** Drop messages older than this (default 0: keep until other limits). */
  maxAgeMs?: number | undefined;
  /** Keep at most this many bytes (default -1: no limit; oldest messages go first). */
  maxBytes?: number | undefined;
}

const MS = 1_000_000; // nanoseconds per millisecond

async function ensure(nc: NatsConnection, config: { name: string; subjects: string[] } & Record<string, unknown>): Promise<StreamInfo> {
  const { jetstream } = await loadNatsModules();
  const jsm = await jetstream.jetstreamManager(nc);
  try {
    const info = await jsm.streams.info(config.name);
    // Taken when one of the stream's subjects covers it (a stream on `tunnelscope.>` takes the records' subjects).
    const missing = config.subjects.filter((s) => !(info.config.subjects ?? []).some((p) => subjectCovers(p, s)));
    if (missing.length > 0) {
      throw new NatsError(`stream ${config.name} exists but does not take ${missing.join(', ')} (it takes ${(info.config.subjects ?? []).join(', ') || 'nothing'})`);
    }
    return info;
  } catch (e) {
    if (e instanceof NatsError) throw e;
    if (!/not found/i.test((e as Error).message)) throw new NatsError(`stream ${config.name}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return await jsm.streams.add(config as Parameters<typeof jsm.streams.add>[0]);
  } catch (e) {
    // Another process created it meanwhile: use that one.
    try {
      return await jsm.streams.info(config.name);
    } catch {
      throw new NatsError(`cannot create stream ${config.name}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** Create the records stream if it does not exist. */
export async function ensureRecordsStream(nc: NatsConnection, options: RecordsStreamOptions = {}): Promise<StreamInfo> {
  return ensure(nc, {
    name: options.stream ?? DEFAULT_RECORDS_STREAM,
    subjects: options.subjects ?? [`${RECORDS_SUBJECT_PREFIX}.>`],
    storage: 'file',
    retention: 'limits',
    discard: 'old',
    duplicate_window: (options.duplicateWindowMs ?? 120_000) * MS,
    max_age: (options.maxAgeMs ?? 0) * MS,
    max_bytes: options.maxBytes ?? -1,
    description: 'tunnelscope flow records, verdict events and job events',
  });
}

export interface JobsStreamOptions {
  /** Stream name (default `TUNNELSCOPE_JOBS`). */
  stream?: string | undefined;
  /** Subject of capture jobs (default `tunnelscope.jobs.capture`). */
  subject?: string | undefined;
}

/** Create the work-queue stream of capture jobs if it does not exist (each job is kept until a worker acks it). */
export async function ensureJobsStream(nc: NatsConnection, options: JobsStreamOptions = {}): Promise<StreamInfo> {
  return ensure(nc, {
    name: options.stream ?? DEFAULT_JOBS_STREAM,
    subjects: [options.subject ?? JOBS_SUBJECT],
    storage: 'file',
    retention: 'workqueue',
    discard: 'old',
    duplicate_window: 120_000 * MS,
    description: 'tunnelscope capture jobs (work queue)',
  });
}
