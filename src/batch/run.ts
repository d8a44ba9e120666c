/**
 * Many captures in one run: each file is its own session (its own flows, flow table and clock), records are
 * tagged with the capture they came from, and the whole set runs in one warm process — lists are built once,
 * and the JIT's warm-up is paid once instead of once per file.
 *
 * `jobs: 1` runs the files one after the other on this thread (the fastest use of one core). `jobs: N` runs N
 * files at a time on N worker threads (one classifier pool of one worker per job, sharing the list tables);
 * records are still delivered file by file in input order (a later file's records wait until the earlier
 * files are delivered), so the output does not depend on `jobs`.
 *
 * A capture that cannot be read or is corrupt does not stop the run: its records up to the damage are
 * delivered, its error is reported in its result, and the next file starts.
 */
import { Classifier, type ClassifierOptions } from '../classify/classifier.js';
import type { FlowRecord } from '../classify/record.js';
import { ClassifierPool, statsBeforeError } from '../pool/pool.js';
import { InvalidArgumentError, PoolError, TunnelscopeError } from '../errors.js';
import type { FlowTableOptions } from '../trace/flow-table.js';
import { readCaptureFileSync, readCaptureFileUntil } from '../trace/reader.js';

/** A flow record with the capture it came from. */
export type CaptureRecord = FlowRecord & { capture: string };

export interface BatchOptions extends ClassifierOptions {
  /** Files classified at the same time, each on its own worker thread (default 1: in this thread). */
  jobs?: number;
  /** Flow-table options of every capture's session. */
  flow?: FlowTableOptions;
  /** Worker entry for `jobs` > 1 (default: the pool's worker.js in dist/). */
  workerUrl?: URL | string;
  /**
   * Stop the run (a signal at the terminal): the captures being read stop at their next chunk and their live flows
   * end with reason `stop` (records delivered as usual), captures not started are left out of the result.
   */
  signal?: AbortSignal;
}

/** How one capture went. */
export interface CaptureResult {
  capture: string;
  packets: number;
  flows: number;
  malformed: Record<string, number>;
  /** Packets counted as their tunnel's carrier flow, by reason (SessionStats.fallback). */
  fallback: Record<string, number>;
  /** Why the capture stopped early (unreadable or corrupt); its records before that point were delivered. */
  error?: Error;
}

export interface BatchResult {
  captures: CaptureResult[];
  packets: number;
  flows: number;
  /** Captures that ended with an error. */
  failed: number;
  /** The run was stopped by `signal` before every capture was read. */
  stopped: boolean;
  elapsedMs: number;
}

/**
 * Classify `files` (capture paths, see `findCaptures` for directories), calling `onRecord` for every flow of
 * every capture, in file order.
 * @throws {InvalidArgumentError} a bad `jobs` value; list errors as `createClassifier`
 */
export async function classifyCaptures(files: readonly string[], onRecord: (r: CaptureRecord) => void, options: BatchOptions = {}): Promise<BatchResult> {
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new InvalidArgumentError(`jobs must be an integer 1..256, got ${jobs}`);
  const t0 = performance.now();
  const { jobs: _j, flow, workerUrl, signal, ...classifierOptions } = options;
  // Lists are validated and built once, here; the pools below reuse the built tables.
  const classifier = new Classifier(classifierOptions);
  const captures =
    jobs === 1 || files.length < 2
      ? await inThread(classifier, files, flow, onRecord, signal)
      : await onWorkers(classifier, { ...classifierOptions, ...(workerUrl ? { workerUrl } : {}) }, files, flow, Math.min(jobs, files.length), onRecord, signal);
  const out: BatchResult = { captures, packets: 0, flows: 0, failed: 0, elapsedMs: 0, stopped: signal?.aborted === true };
  for (const c of captures) {
    out.packets += c.packets;
    out.flows += c.flows;
    if (c.error) out.failed++;
  }
  out.elapsedMs = performance.now() - t0;
  return out;
}

async function inThread(classifier: Classifier, files: readonly string[], flow: FlowTableOptions | undefined, onRecord: (r: CaptureRecord) => void, signal: AbortSignal | undefined): Promise<CaptureResult[]> {
  const results: CaptureResult[] = [];
  for (const capture of files) {
    if (signal?.aborted) break;
    const session = classifier.session(flow === undefined ? {} : { flow });
    session.on('flow', (r: FlowRecord) => {
      (r as CaptureRecord).capture = capture;
      onRecord(r as CaptureRecord);
    });
    let error: Error | undefined;
    let complete = true;
    try {
      // Without a signal nothing needs the event loop: the plain synchronous read, no turns.
      if (signal === undefined) readCaptureFileSync(capture, (p) => session.pushRaw(p));
      else complete = (await readCaptureFileUntil(capture, (p) => session.pushRaw(p), { signal })).complete;
    } catch (e) {
      if (!(e instanceof TunnelscopeError) && !isFsError(e)) throw e;
      error = e as Error;
    }
    session.end(complete ? 'eof' : 'stop');
    const st = session.stats;
    results.push({ capture, packets: st.packets, flows: st.flows, malformed: st.malformed, fallback: st.fallback, ...(error ? { error } : {}) });
  }
  return results;
}

async function onWorkers(
  classifier: Classifier,
  options: ClassifierOptions & { workerUrl?: URL | string },
  files: readonly string[],
  flow: FlowTableOptions | undefined,
  jobs: number,
  onRecord: (r: CaptureRecord) => void,
  signal: AbortSignal | undefined,
): Promise<CaptureResult[]> {
  const lists = classifier.lists;
  // One worker per file: 'arrival' order is the worker session's own order, the same as a session in this thread.
  const poolOptions = { ...options, registered: lists.registered, vpnEndpoints: lists.vpnEndpoints, vpnDomains: lists.vpnDomains, names: lists.names, workers: 1, order: 'arrival' as const };
  const pools = Array.from({ length: jobs }, () => new ClassifierPool(poolOptions));
  const results: CaptureResult[] = new Array(files.length);
  // Records of files that finished (or are running) ahead of the file being delivered wait here.
  const held: CaptureRecord[][] = files.map(() => []);
  const finished: boolean[] = files.map(() => false);
  const counts = new Array<number>(files.length).fill(0);
  let head = 0;
  // A job that runs ahead of the capture being delivered holds its records: at most `jobs` captures from the head
  // may be started, so a slow first capture holds back N - 1 captures' records, not every later file's.
  let waiting: (() => void)[] = [];
  const wake = (): void => {
    const w = waiting;
    waiting = [];
    for (const f of w) f();
  };
  const deliver = (): void => {
    while (head < files.length) {
      const q = held[head]!;
      for (let i = 0; i < q.length; i++) onRecord(q[i]!);
      q.length = 0;
      if (!finished[head]) return;
      head++;
      wake();
    }
  };
  let next = 0;
  let failure: unknown = null;
  signal?.addEventListener('abort', wake, { once: true });
  const worker = async (pool: ClassifierPool): Promise<void> => {
    while (next < files.length && failure === null && signal?.aborted !== true) {
      if (next - head >= jobs) {
        await new Promise<void>((res) => waiting.push(res));
        continue;
      }
      const i = next++;
      const capture = files[i]!;
      const onRec = (r: FlowRecord): void => {
        (r as CaptureRecord).capture = capture;
        counts[i]!++;
        if (i === head) onRecord(r as CaptureRecord);
        else held[i]!.push(r as CaptureRecord);
      };
      try {
        const st = await pool.classifyFile(capture, onRec, { ...(flow === undefined ? {} : { flow }), ...(signal ? { signal } : {}) });
        results[i] = { capture, packets: st.packets, flows: st.flows, malformed: st.malformed, fallback: st.fallback };
      } catch (e) {
        // A pool that failed (a worker died) or closed cannot run the next files either: the run fails, as a bug does.
        if (e instanceof PoolError || (!(e instanceof TunnelscopeError) && !isFsError(e))) {
          failure = e;
          wake();
          return;
        }
        const before = statsBeforeError(e);
        results[i] = { capture, packets: before?.packets ?? 0, flows: counts[i]!, malformed: before?.malformed ?? {}, fallback: before?.fallback ?? {}, error: e as Error };
      }
      finished[i] = true;
      try {
        deliver();
      } catch (e) {
        failure = e;
        wake();
      }
    }
  };
  try {
    await Promise.all(pools.map(worker));
  } finally {
    signal?.removeEventListener('abort', wake);
    await Promise.all(pools.map((p) => p.close()));
  }
  if (failure !== null) throw failure;
  // A stop leaves the captures not started out (every started one has finished: classifyFile resolves after a stop).
  return results.slice(0, next);
}

function isFsError(e: unknown): boolean {
  return typeof (e as { code?: unknown } | null)?.code === 'string' && typeof (e as { syscall?: unknown }).syscall === 'string';
}
