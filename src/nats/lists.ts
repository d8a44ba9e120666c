/**
 * Lists as fleet state: one snapshot object in a JetStream object store, whose revision (the stream sequence of
 * its metadata message, increasing, the same for every reader) becomes `listVersion` on every machine.
 *
 * - `publishLists` validates first (the caller hands validated lists; see list-files.ts), carries over the lists
 *   not given from the current snapshot, and writes with an expected previous revision, so two operators
 *   publishing at once cannot silently undo each other (the second gets a {@link NatsError} and retries).
 * - `loadFleetLists` reads the current snapshot for a classifier's start.
 * - `watchFleetLists` swaps a classifier's (or pool's) lists atomically on every new revision. A snapshot that
 *   fails validation is refused and the lists in force stay; losing NATS keeps the lists in force and says so
 *   (events, and `stats` for metrics).
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ObjectStore } from '@nats-io/obj';
import type { ListsInput } from '../classify/lists.js';
import { checkOptions, MAX_DELAY_MS, numberOption, TunnelscopeError } from '../errors.js';
import { loadNatsModules } from './modules.js';
import { DEFAULT_LISTS_BUCKET, LISTS_OBJECT } from './names.js';
import {
  decodeListSnapshot,
  encodeListSnapshot,
  FLEET_LISTS,
  listEntryCount,
  snapshotListsInput,
  type FleetListName,
  type FleetLists,
  type ListSnapshotContent,
  type NamedList,
} from './snapshot.js';

/** A NATS operation failed (publication conflict, server error). Code `TS_NATS`; `cause` holds the client's error. */
export class NatsError extends TunnelscopeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TS_NATS', message, options);
  }
}

export interface ListsStoreOptions {
  /** Object-store bucket (default `tunnelscope-lists`). */
  bucket?: string | undefined;
  /** Refuse a stored snapshot larger than this many bytes before reading it (default 512 MiB). */
  maxSnapshotBytes?: number | undefined;
}

const DEFAULT_MAX_SNAPSHOT = 512 * 1024 * 1024;

async function openStore(nc: NatsConnection, bucket: string, create: boolean): Promise<ObjectStore | null> {
  const { obj } = await loadNatsModules();
  const objm = new obj.Objm(nc);
  if (create) return objm.create(bucket, { description: 'tunnelscope list snapshots (one object per revision)' });
  try {
    return await objm.open(bucket);
  } catch (e) {
    if (/not found/i.test((e as Error).message)) return null;
    throw e;
  }
}

export interface FleetSnapshot {
  /** The fleet revision: the `listVersion` records name. */
  readonly revision: number;
  readonly content: ListSnapshotContent;
  /** Classifier input for this snapshot (`createClassifier({ ...input })` or `update(input)`). */
  readonly input: ListsInput;
}

async function readAll(stream: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let o = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (o + value.length > size) throw new NatsError(`snapshot larger than its announced ${size} bytes`);
    out.set(value, o);
    o += value.length;
  }
  if (o !== size) throw new NatsError(`snapshot shorter (${o} bytes) than its announced ${size} bytes`);
  return out;
}

/** The revision a content error (invalid, too large, corrupt snapshot) was found in. */
const rejectedRevision = new WeakMap<object, number>();

function contentError<E extends Error>(e: E, revision: number): E {
  rejectedRevision.set(e, revision);
  return e;
}

/** Read the snapshot object at its current revision, or null when there is none. Hostile content throws. */
async function readSnapshot(os: ObjectStore, bucket: string, maxBytes: number, newerThan = 0): Promise<FleetSnapshot | null> {
  const head = await os.info(LISTS_OBJECT);
  if (head !== null && !head.deleted && head.revision < newerThan && newerThan > 0) {
    // Revisions only grow in one bucket: a lower one is a bucket deleted and published to again.
    throw contentError(new NatsError(`${bucket} revision ${head.revision} is below revision ${newerThan}: a bucket created anew? its lists are taken once a revision passes ${newerThan}`), head.revision);
  }
  if (head === null || head.deleted || head.revision <= newerThan) return null;
  if (head.size > maxBytes) throw contentError(new NatsError(`${bucket} revision ${head.revision}: snapshot of ${head.size} bytes exceeds the ${maxBytes}-byte limit`), head.revision);
  const r = await os.get(LISTS_OBJECT);
  if (r === null || r.info.deleted) return null;
  const revision = r.info.revision;
  if (r.info.size > maxBytes) throw contentError(new NatsError(`${bucket} revision ${revision}: snapshot of ${r.info.size} bytes exceeds the ${maxBytes}-byte limit`), revision);
  let bytes: Uint8Array;
  try {
    bytes = await readAll(r.data, r.info.size);
  } catch (e) {
    throw contentError(e instanceof NatsError ? e : new NatsError(`${bucket} revision ${revision}: ${(e as Error).message}`, { cause: e }), revision);
  }
  const err = await r.error; // digest check
  if (err) throw contentError(new NatsError(`${bucket} revision ${revision}: ${err.message}`, { cause: err }), revision);
  try {
    const content = decodeListSnapshot(bytes, `${bucket} revision ${revision}`);
    return { revision, content, input: snapshotListsInput(content, revision) };
  } catch (e) {
    throw contentError(e as Error, revision);
  }
}

/**
 * The fleet's current snapshot, or null when none was ever published (or the bucket does not exist).
 * @throws {ListSnapshotError | ListParseError} the stored snapshot is not valid
 * @throws {NatsError} too large, corrupt (digest), or a server error
 */
export async function loadFleetLists(nc: NatsConnection, options: ListsStoreOptions = {}): Promise<FleetSnapshot | null> {
  const bucket = options.bucket ?? DEFAULT_LISTS_BUCKET;
  const os = await openStore(nc, bucket, false);
  if (os === null) return null;
  return readSnapshot(os, bucket, options.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT);
}

export interface PublishListsOptions extends ListsStoreOptions {
  /** Who publishes (stored in the snapshot header). Default: the host name. */
  publisher?: string | undefined;
  /** Lists to use for a first snapshot when not given (default: empty lists). */
  initial?: Partial<Record<FleetListName, NamedList>> | undefined;
}

export interface PublishResult {
  /** The new fleet revision. */
  revision: number;
  /** The revision it replaced (null for the first snapshot). */
  basedOn: number | null;
  /** Lists carried over unchanged from `basedOn`. */
  carried: FleetListName[];
  /** Entries per list in the new snapshot. */
  entries: Record<FleetListName, number>;
  bytes: number;
}

/**
 * Publish a new snapshot. `lists` must already be validated (loadListFiles); lists not given are carried over
 * from the current snapshot (or taken from `initial` / empty for the first one). Written only if no other
 * snapshot was published since the current one was read.
 * @throws {NatsError} another snapshot was published meanwhile (run again), or a server error
 */
export async function publishLists(
  nc: NatsConnection,
  lists: Partial<Record<FleetListName, NamedList>>,
  options: PublishListsOptions = {},
): Promise<PublishResult> {
  const bucket = options.bucket ?? DEFAULT_LISTS_BUCKET;
  const os = (await openStore(nc, bucket, true))!;
  let current: FleetSnapshot | null;
  let invalid: { revision: number; error: Error } | null = null;
  try {
    current = await readSnapshot(os, bucket, options.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT);
  } catch (e) {
    // An invalid current snapshot cannot lend lists; replacing all three is the way out.
    const head = await os.info(LISTS_OBJECT);
    if (!head || !(e instanceof TunnelscopeError) || FLEET_LISTS.some((l) => !lists[l])) {
      throw new NatsError(`${bucket}: the current snapshot cannot be read (${(e as Error).message}); publish all three lists to replace it`, { cause: e });
    }
    current = null;
    invalid = { revision: head.revision, error: e };
  }
  const carried: FleetListName[] = [];
  const merged = {} as Record<FleetListName, NamedList>;
  for (const l of FLEET_LISTS) {
    const given = lists[l];
    if (given) merged[l] = given;
    else if (current) {
      merged[l] = current.content.lists[l];
      carried.push(l);
    } else merged[l] = options.initial?.[l] ?? { name: l === 'vpnDomains' ? 'vpn-domains' : l === 'vpnEndpoints' ? 'vpn-endpoints' : 'registered', entries: [] };
  }
  const basedOn = current?.revision ?? invalid?.revision ?? null;
  const bytes = encodeListSnapshot({
    lists: merged as FleetLists,
    meta: { published: new Date().toISOString(), publisher: options.publisher ?? hostname(), basedOn },
  });
  let info;
  try {
    // Expected last revision of the object's metadata subject (0: none yet): a concurrent publication fails here.
    info = await os.putBlob({ name: LISTS_OBJECT, description: 'tunnelscope lists: registered, vpn-endpoints, vpn-domains' }, bytes, { previousRevision: basedOn ?? 0 });
  } catch (e) {
    const msg = (e as Error).message;
    if (/wrong last sequence/i.test(msg)) {
      throw new NatsError(`${bucket}: another snapshot was published since revision ${basedOn ?? 'none'}; nothing was published, run again`, { cause: e });
    }
    throw new NatsError(`${bucket}: publication failed: ${msg}`, { cause: e });
  }
  const entries = {} as Record<FleetListName, number>;
  for (const l of FLEET_LISTS) entries[l] = listEntryCount(merged[l]);
  return { revision: info.revision, basedOn, carried, entries, bytes: bytes.length };
}

/** What `watchFleetLists` updates: a Classifier or a ClassifierPool. */
export interface ListsTarget {
  update(input: ListsInput): number;
  readonly listVersion: number;
}

export interface WatchListsOptions extends ListsStoreOptions {
  /** Also re-read the object this often, in case a watch notification was lost (default 30 000 ms; 0: never; at most 2^31 - 1). */
  checkIntervalMs?: number | undefined;
}

export interface ListWatchStats {
  /** Fleet revision in force (null: none applied by this watcher yet). */
  revision: number | null;
  /** Snapshots put into service by this watcher. */
  applied: number;
  /** Snapshots refused (invalid content, too large, corrupt). */
  rejected: number;
  /** True while the NATS connection is down (the lists in force stay). */
  unreachable: boolean;
  /** Connection losses seen. */
  disconnects: number;
  /** Wall-clock ms since the epoch when the connection was lost, null while connected. */
  unreachableSince: number | null;
  /** Checks that failed (network, server), each retried later; an 'error' event each when someone listens. */
  failedChecks: number;
}

export interface SwapEvent {
  revision: number;
  previous: number;
  meta: ListSnapshotContent['meta'];
  entries: Record<FleetListName, number>;
}

/**
 * Events: `swap` (SwapEvent) after a new snapshot went into service; `rejected` ({ revision, error }) when a
 * snapshot was refused and the lists in force stay; `unreachable` ({ revision }) when the connection is lost (the
 * lists in force stay); `reachable` ({ revision }) when it is back; `error` (Error) for a failed check (retried).
 */
export class FleetListWatcher extends EventEmitter {
  private readonly st: ListWatchStats;
  private stopped = false;
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly stoppers: Array<() => void> = [];
  private lastRejected = 0;
  private idle: Promise<void> = Promise.resolve();

  /** @internal */
  constructor(
    private readonly os: ObjectStore,
    private readonly bucket: string,
    private readonly target: ListsTarget,
    private readonly maxBytes: number,
    revision: number | null,
  ) {
    super();
    this.st = { revision, applied: 0, rejected: 0, unreachable: false, disconnects: 0, unreachableSince: null, failedChecks: 0 };
  }

  /** Counters and state for metrics (a copy). */
  get stats(): ListWatchStats {
    return { ...this.st };
  }

  /** Fleet revision in force, or null. */
  get revision(): number | null {
    return this.st.revision;
  }

  /** @internal */
  async start(nc: NatsConnection, intervalMs: number): Promise<void> {
    const watch = await this.os.watch({ includeHistory: false });
    this.stoppers.push(() => watch.stop());
    void (async () => {
      for await (const e of watch) {
        if (e.name === LISTS_OBJECT) this.check();
      }
    })().catch((e: unknown) => this.emit('error', e));
    const status = nc.status() as AsyncIterable<{ type: string }> & { stop?: () => void };
    this.stoppers.push(() => status.stop?.());
    void (async () => {
      for await (const s of status) {
        if (this.stopped) break;
        if (s.type === 'disconnect' && !this.st.unreachable) {
          this.st.unreachable = true;
          this.st.disconnects++;
          this.st.unreachableSince = Date.now();
          this.emit('unreachable', { revision: this.st.revision });
        } else if (s.type === 'reconnect') {
          this.st.unreachable = false;
          this.st.unreachableSince = null;
          this.emit('reachable', { revision: this.st.revision });
          this.check();
        }
      }
    })().catch(() => undefined);
    if (intervalMs > 0) {
      this.timer = setInterval(() => this.check(), intervalMs);
      this.timer.unref();
    }
    this.check();
    await this.settled();
  }

  /** Look for a newer revision now (also done on every notification, reconnection and interval). */
  check(): void {
    if (this.stopped) return;
    this.again = true;
    if (this.running) return;
    this.running = true;
    // Checks run from timers and notifications: nothing may escape them (an unhandled rejection ends the process),
    // and a check that threw must not leave the watcher marked running, which would stop every later check.
    this.idle = (async () => {
      try {
        while (this.again && !this.stopped) {
          this.again = false;
          try {
            await this.checkOnce();
          } catch {
            // A listener of ours threw: the embedder's bug; the next check still runs.
          }
        }
      } finally {
        this.running = false;
      }
    })();
  }

  /** Resolves when no check is running (tests, orderly shutdown). */
  async settled(): Promise<void> {
    while (this.running) await this.idle;
  }

  private async checkOnce(): Promise<void> {
    const have = Math.max(this.st.revision ?? 0, this.lastRejected);
    let snap: FleetSnapshot | null;
    try {
      snap = await readSnapshot(this.os, this.bucket, this.maxBytes, have);
    } catch (e) {
      const rev = rejectedRevision.get(e as object);
      // A snapshot that is not acceptable is refused once (a revision below the one in force: said once);
      // anything else (network, server) is retried later.
      if (rev !== undefined && rev < have) {
        if (this.saidBelow !== rev) this.reject(e as Error, rev);
        this.saidBelow = rev;
        return;
      }
      if (rev !== undefined) return this.reject(e as Error, rev);
      this.st.failedChecks++;
      // No listener: counted, not thrown (an 'error' event nobody handles would end the embedding process).
      if (this.listenerCount('error') > 0) this.emit('error', e);
      return;
    }
    if (snap === null || this.stopped) return;
    const previous = this.target.listVersion;
    try {
      this.target.update(snap.input);
    } catch (e) {
      return this.reject(e as Error, snap.revision);
    }
    this.st.revision = snap.revision;
    this.st.applied++;
    const entries = {} as Record<FleetListName, number>;
    for (const l of FLEET_LISTS) entries[l] = listEntryCount(snap.content.lists[l]);
    this.emit('swap', { revision: snap.revision, previous, meta: snap.content.meta, entries } satisfies SwapEvent);
  }

  /** The revision below the one in force last said (a bucket created anew), so it is said once. */
  private saidBelow = -1;

  private reject(error: Error, rev: number): void {
    this.lastRejected = Math.max(this.lastRejected, rev);
    this.st.rejected++;
    this.emit('rejected', { revision: rev, error });
  }

  /** Stop watching (the lists in force stay). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const s of this.stoppers) {
      try {
        s();
      } catch {
        /* already stopped */
      }
    }
  }
}

/**
 * Keep `target`'s lists equal to the fleet snapshot: applies the current revision if it is newer than what the
 * target has, then every new one. Resolves once the watch is set up and the first check is done.
 * @example
 * const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
 * const first = await loadFleetLists(nc);
 * const classifier = createClassifier({ ...first?.input });
 * const watcher = await watchFleetLists(nc, classifier, { revision: first?.revision });
 * watcher.on('swap', (e) => console.error(`lists: fleet revision ${e.revision}`));
 */
export async function watchFleetLists(
  nc: NatsConnection,
  target: ListsTarget,
  options: WatchListsOptions & { revision?: number | null | undefined } = {},
): Promise<FleetListWatcher> {
  checkOptions('watchFleetLists', options);
  // A Node timer past 2^31 - 1 ms would run every millisecond: a re-read of the object store each time.
  const interval = numberOption('checkIntervalMs', options.checkIntervalMs, 30_000, 0, MAX_DELAY_MS);
  const bucket = options.bucket ?? DEFAULT_LISTS_BUCKET;
  // Create the bucket if missing: a sensor may start before the first publication and must see it.
  const os = (await openStore(nc, bucket, true))!;
  const w = new FleetListWatcher(os, bucket, target, options.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT, options.revision ?? null);
  await w.start(nc, interval);
  return w;
}
