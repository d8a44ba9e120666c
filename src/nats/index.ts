/**
 * `tunnelscope/nats`: a fleet of gateways on NATS JetStream — one list snapshot in one version on every machine,
 * every record in one stream exactly once, capture jobs spread over workers. Re-exports only. The NATS client
 * packages are optional peer dependencies, loaded on first use (see modules.ts).
 */
export { loadNatsModules, NatsMissingError, NATS_PACKAGES, type NatsModules } from './modules.js';
export { connectNats, displayServer, natsAuthOptions, type ConnectOptions, type NatsAuthFiles } from './connect.js';
export {
  DEFAULT_LISTS_BUCKET,
  LISTS_OBJECT,
  DEFAULT_RECORDS_STREAM,
  RECORDS_SUBJECT_PREFIX,
  DEFAULT_JOBS_STREAM,
  JOBS_SUBJECT,
  DEFAULT_WORKERS_CONSUMER,
  checkSensorId,
  checkSubject,
  defaultSensorId,
  recordSubject,
  recordMsgId,
  type FlowKeyFields,
} from './names.js';
export {
  encodeListSnapshot,
  decodeListSnapshot,
  snapshotListsInput,
  ListSnapshotError,
  FLEET_LISTS,
  type FleetListName,
  type FleetLists,
  type NamedList,
  type ListSnapshotContent,
  type SnapshotMeta,
} from './snapshot.js';
export { loadListFiles, ListFilesError, type ListFiles } from './list-files.js';
export {
  publishLists,
  loadFleetLists,
  watchFleetLists,
  FleetListWatcher,
  NatsError,
  type FleetSnapshot,
  type ListsStoreOptions,
  type PublishListsOptions,
  type PublishResult,
  type ListsTarget,
  type WatchListsOptions,
  type ListWatchStats,
  type SwapEvent,
} from './lists.js';
export { RecordPublisher, createRecordPublisher, type PublisherOptions, type PublisherStats } from './publisher.js';
export { ensureRecordsStream, ensureJobsStream, type RecordsStreamOptions, type JobsStreamOptions } from './streams.js';
export {
  readFleet,
  countRecord,
  newFleetStats,
  asFleetRecord,
  type FleetRecord,
  type FleetCounts,
  type FleetStats,
  type FleetReadOptions,
} from './reader.js';
export {
  submitJobs,
  waitForJobs,
  createJobWorker,
  JobWorker,
  type CaptureJob,
  type JobEvent,
  type JobsOptions,
  type SubmitResult,
  type WorkerOptions,
  type WorkerStats,
  type JobOutcome,
} from './jobs.js';
