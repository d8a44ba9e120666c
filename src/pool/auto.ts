/**
 * How many worker threads pay on this machine for this input (`--workers auto`, the CLI default).
 *
 * The rule, from measurements on the 2-vCPU hosts this project runs on (bench/RESULTS.md):
 * - two vCPUs: 1. Two independent single-threaded processes reach only 1.4–1.6× one process there (the
 *   machine's parallel ceiling: V8's compiler and GC threads need the second core too), and `--workers 2`
 *   measured 0.80–0.97× of `--workers 1` on 2M-packet traces;
 * - more CPUs: one worker per 256 MiB of capture (each worker is a fresh V8 isolate that compiles the pipeline
 *   again: ~0.3–0.9 s of JIT work to win back), at most CPUs − 1 (the main thread reads and merges), at most 8;
 * - stdin (size unknown): 1.
 */
import { availableParallelism } from 'node:os';

/** Capture bytes each worker beyond the first must have to win back its own warm-up. */
export const BYTES_PER_EXTRA_WORKER = 256 * 1024 * 1024;
/** Never more than this many workers by default. */
export const MAX_AUTO_WORKERS = 8;

export interface WorkerAdvice {
  workers: number;
  /** Why, in words for a message ("2 CPUs", "capture of 12 MB"). */
  reason: string;
}

/** The worker count `--workers auto` uses for an input of `inputBytes` (null: a stream of unknown size). */
export function autoWorkers(inputBytes: number | null, cpus: number = availableParallelism()): WorkerAdvice {
  if (cpus <= 2) return { workers: 1, reason: `${cpus} CPU${cpus === 1 ? '' : 's'}: a second worker competes with V8's compiler and GC threads` };
  if (inputBytes === null) return { workers: 1, reason: 'input of unknown size' };
  const byInput = 1 + Math.floor(inputBytes / BYTES_PER_EXTRA_WORKER);
  const workers = Math.max(1, Math.min(cpus - 1, byInput, MAX_AUTO_WORKERS));
  const reason = workers === byInput ? `capture of ${Math.round(inputBytes / 2 ** 20)} MB (one worker per ${BYTES_PER_EXTRA_WORKER / 2 ** 20} MB)` : workers === MAX_AUTO_WORKERS ? `at most ${MAX_AUTO_WORKERS}` : `${cpus} CPUs, one kept for reading and merging`;
  return { workers, reason };
}

/** Files classified at the same time by `--jobs auto`: the same machine rule, one job per file at most. */
export function autoJobs(files: number, cpus: number = availableParallelism()): WorkerAdvice {
  if (cpus <= 2) return { workers: 1, reason: `${cpus} CPU${cpus === 1 ? '' : 's'}: one warm thread beats two cold ones` };
  const jobs = Math.max(1, Math.min(cpus - 1, files, MAX_AUTO_WORKERS));
  return { workers: jobs, reason: `${cpus} CPUs, one kept for reading and output` };
}
