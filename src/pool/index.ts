/** Classifier pool: the classifier on worker threads (file fast path, live batches, shared list tables). */
export {
  ClassifierPool,
  createClassifierPool,
  compareRecords,
  type ClassifierPoolOptions,
  type ClassifyFileOptions,
  type PoolOrder,
  type PoolStats,
} from './pool.js';
export type { LiveCounters } from './protocol.js';
export { frameShard, frameShardHash } from './shard.js';
export { autoJobs, autoWorkers, BYTES_PER_EXTRA_WORKER, MAX_AUTO_WORKERS, type WorkerAdvice } from './auto.js';
