/**
 * The fleet side of the CLI, loaded only when a command line asks for NATS: classify's lists provider
 * (`--lists-from`) and record sink (`--publish`), sharing one connection per run, and the `lists publish`,
 * `fleet stats`, `fleet submit` and `fleet work` actions. Everything it prints on stderr that came from the
 * network (publisher names, list names, errors) is quoted.
 */
import { statSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { createClassifier } from '../classify/classifier.js';
import type { FlowRecord } from '../classify/record.js';
import { TunnelscopeError } from '../errors.js';
import { escapeJson, escapeText, quoteText, safeText } from '../text.js';
import {
  connectNats,
  createJobWorker,
  createRecordPublisher,
  defaultSensorId,
  DEFAULT_LISTS_BUCKET,
  DEFAULT_RECORDS_STREAM,
  ensureRecordsStream,
  loadFleetLists,
  loadListFiles,
  ListFilesError,
  NatsError,
  publishLists,
  readFleet,
  recordSubject,
  submitJobs,
  waitForJobs,
  watchFleetLists,
  checkSubject,
  type FleetListWatcher,
  type FleetRecord,
  type FleetStats,
  type JobEvent,
  type RecordPublisher,
  type SwapEvent,
} from '../nats/index.js';
import { numberFlag, UsageError, writeUnreadable } from './args.js';
import { findCaptures, UNNAMED } from '../batch/find.js';
import { orderPieces } from '../trace/pieces.js';
import type { CliIo } from './io.js';
import { natsAuthOf, type FleetOpts, type NatsAuthOpts } from './fleet-options.js';
import type { ListsProvider, ListsTarget, RecordSink, SinkContext } from './sinks.js';
import { loadListFiles as loadClassifyLists } from './lists.js';

/** Quoted for a message: text from lists, paths and the network never reaches a terminal raw. */
const q = (s: string): string => quoteText(s, 200);

// ---------------------------------------------------------------------------------------------------------------
// One connection per classify run, shared by its lists provider and its sink.

interface Shared {
  nc: Promise<NatsConnection>;
  users: number;
}
const runs = new WeakMap<object, Shared>();

function acquire(o: FleetOpts, sensor: string): { nc: Promise<NatsConnection>; release: () => Promise<void> } {
  let s = runs.get(o);
  if (!s) {
    s = { nc: connectNats(o.nats!, { name: `tunnelscope ${sensor}`, auth: natsAuthOf(o) }), users: 0 };
    runs.set(o, s);
  }
  s.users++;
  const shared = s;
  let released = false;
  return {
    nc: s.nc,
    release: async () => {
      if (released) return;
      released = true;
      if (--shared.users === 0) {
        runs.delete(o);
        const nc = await shared.nc.catch(() => null);
        if (nc !== null) await endConnection(nc);
      }
    },
  };
}

const sensorOf = (o: FleetOpts): string => o.sensor ?? defaultSensorId();

/** Run `fn` on a connection of its own, closed afterwards whatever happens. */
/** How long a drain may take at the end before the connection is closed instead. */
const DRAIN_WAIT_MS = 5000;

/**
 * Drain `nc` (what was published goes out) or, when that cannot finish (the server unreachable: a drain then
 * rejects, or waits), close it: a connection left reconnecting holds the process open for good.
 */
async function endConnection(nc: NatsConnection): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    nc.drain().then(() => true, () => false),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), DRAIN_WAIT_MS))),
  ]);
  clearTimeout(timer);
  if (!drained && !nc.isClosed()) await nc.close().catch(() => undefined);
}

/**
 * What a fleet list watcher has to say, on stderr: each revision taken or refused, the connection lost and back,
 * a failed check. Every watcher needs its listeners: an 'error' event without one would end the process.
 */
function sayWatcherEvents(watcher: FleetListWatcher, target: ListsTarget, stderr: NodeJS.WritableStream): void {
  watcher.on('swap', (e: SwapEvent) => {
    stderr.write(
      `tunnelscope: lists: fleet revision ${e.revision} in force (was ${e.previous}; registered ${e.entries.registered}, ` +
        `vpn-endpoints ${e.entries.vpnEndpoints}, vpn-domains ${e.entries.vpnDomains} entries; published by ${q(e.meta.publisher)} at ${q(e.meta.published)})\n`,
    );
  });
  watcher.on('rejected', (e: { revision: number; error: Error }) => {
    stderr.write(`tunnelscope: lists: fleet revision ${e.revision} refused, revision ${target.listVersion} stays in force: ${q(e.error.message)}\n`);
  });
  watcher.on('unreachable', () => stderr.write(`tunnelscope: nats: connection lost; list revision ${target.listVersion} stays in force until it is back\n`));
  watcher.on('reachable', () => stderr.write(`tunnelscope: nats: connection back (list revision ${target.listVersion})\n`));
  watcher.on('error', (e: Error) => stderr.write(`tunnelscope: lists: checking for a new revision failed (will retry): ${q(e.message)}\n`));
}

async function withNats<T>(o: { nats: string } & NatsAuthOpts, name: string, fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connectNats(o.nats, { name, auth: natsAuthOf(o) });
  try {
    return await fn(nc);
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/** `classify --lists-from`: the fleet snapshot at start, then every new revision (swapped atomically). */
export async function fleetLists(o: FleetOpts, ctx: SinkContext): Promise<ListsProvider> {
  const { stderr } = ctx.io;
  const bucket = typeof o.listsFrom === 'string' ? o.listsFrom : DEFAULT_LISTS_BUCKET;
  const conn = acquire(o, sensorOf(o));
  let watcher: FleetListWatcher | null = null;
  try {
    const nc = await conn.nc;
    const first = await loadFleetLists(nc, { bucket });
    if (first === null) throw new NatsError(`no list snapshot in bucket ${q(bucket)} yet: publish one with 'tunnelscope lists publish --nats URL …'`);
    stderr.write(`tunnelscope: lists: fleet revision ${first.revision} from ${q(bucket)}\n`);
    return {
      input: first.input,
      async attach(target: ListsTarget): Promise<void> {
        watcher = await watchFleetLists(nc, target, { bucket, revision: first.revision });
        sayWatcherEvents(watcher, target, stderr);
      },
      async close(): Promise<void> {
        watcher?.stop();
        await conn.release();
      },
      report(): string | null {
        if (watcher === null) return null;
        const s = watcher.stats;
        return `lists: fleet revision ${s.revision ?? first.revision} at the end; ${s.applied} new revision(s) applied, ${s.rejected} refused, ${s.disconnects} connection loss(es)`;
      },
    };
  } catch (e) {
    await conn.release();
    throw e;
  }
}

/** `classify --publish`: every record to JetStream, with the sensor's id; losses counted and reported. */
export async function fleetSink(o: FleetOpts, ctx: SinkContext): Promise<RecordSink> {
  const { stderr } = ctx.io;
  const sensor = sensorOf(o);
  const subject = typeof o.publish === 'string' ? o.publish : recordSubject(sensor);
  try {
    checkSubject(subject);
  } catch (e) {
    throw new UsageError(`--publish: ${(e as Error).message}`);
  }
  const conn = acquire(o, sensor);
  let pub: RecordPublisher;
  try {
    const nc = await conn.nc;
    if (typeof o.publish === 'string') {
      const { jetstream } = await import('../nats/modules.js').then((m) => m.loadNatsModules());
      const jsm = await jetstream.jetstreamManager(nc);
      await jsm.streams.find(subject).catch((e: unknown) => {
        throw new NatsError(`no JetStream stream takes subject ${q(subject)}; create one, or publish to the default (bare --publish: ${DEFAULT_RECORDS_STREAM})`, { cause: e });
      });
    } else await ensureRecordsStream(nc);
    pub = await createRecordPublisher(nc, {
      sensor,
      subject,
      overflow: ctx.input === '-' ? 'drop' : 'block',
      ...(o.publishBuffer !== undefined ? { maxBuffered: Number(o.publishBuffer) } : {}),
    });
  } catch (e) {
    await conn.release();
    throw e;
  }
  pub.on('unreachable', (e: { buffered: number }) => stderr.write(`tunnelscope: nats: connection lost; records wait in the buffer (${e.buffered} now)\n`));
  pub.on('reachable', (e: { buffered: number }) => stderr.write(`tunnelscope: nats: connection back; sending ${e.buffered} buffered records\n`));
  // The first drop is said at once; after that at most one line per 10 s, with the count so far.
  let lastDropNote = 0;
  pub.on('drop', () => {
    const now = Date.now();
    if (now - lastDropNote < 10_000) return;
    lastDropNote = now;
    stderr.write(`tunnelscope: nats: publish buffer full; dropping records (${pub.stats.dropped} so far, all counted) until NATS takes them again\n`);
  });
  // A server that refuses every publish (a full stream with discard new, a subject no stream takes) is said, with its
  // reason, at most every 10 s; the records are retried and accounted at the end.
  let lastRetryNote = 0;
  pub.on('retry', (e: { retries: number; error: string }) => {
    const now = Date.now();
    if (now - lastRetryNote < 10_000) return;
    lastRetryNote = now;
    stderr.write(`tunnelscope: nats: publishing failed, retrying (${e.retries} retries so far): ${q(e.error)}\n`);
  });
  let closed = false;
  return {
    replacesStdout: o.quietRecords === true,
    record: (r: FlowRecord) => void pub.publishRecord(r),
    // A live capture (stdin) never waits for NATS: it drops (and counts) instead; a file run waits.
    ...(ctx.input === '-' ? {} : { wait: () => (pub.full ? pub.room() : null) }),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      try {
        await closePublisher(pub, ctx, stderr);
      } finally {
        await conn.release();
      }
    },
    report(): string | null {
      const s = pub.stats;
      const lost = s.dropped + s.unsent;
      return (
        `nats: ${s.acked} records published to ${q(subject)} as sensor ${q(sensor)}` +
        (s.duplicates > 0 ? ` (${s.duplicates} already stored)` : '') +
        (lost > 0 ? `; ${s.dropped} dropped (buffer full), ${s.unsent} not acknowledged (may be missing)` : '; none lost') +
        (lost > 0 && s.lastError !== null ? `; last error: ${q(s.lastError)}` : '')
      );
    },
    exitCode: () => (pub.stats.dropped + pub.stats.unsent > 0 ? 1 : 0),
  };
}

/** How long the end of a run waits for the server to acknowledge what was sent, at most. */
const ACK_WAIT_MS = 30_000;
/** After a stop was asked for, how long without a single ack ends that wait (the user wants out; a server that
 * takes records keeps it going). */
const STOPPED_NO_PROGRESS_MS = 5_000;

/**
 * Close the publisher, waiting for acks up to {@link ACK_WAIT_MS}; once a stop is asked for (before the wait or
 * during it), {@link STOPPED_NO_PROGRESS_MS} without an ack ends it. A wait longer than a second is said, so an
 * operator who pressed Ctrl-C knows what the process is doing; what is still unacknowledged is counted (`unsent`).
 */
async function closePublisher(pub: RecordPublisher, ctx: SinkContext, stderr: NodeJS.WritableStream): Promise<void> {
  const t0 = Date.now();
  let acked = pub.stats.acked, progressAt = t0, said = false;
  while (pub.stats.buffered > 0) {
    const now = Date.now();
    if (now - t0 >= ACK_WAIT_MS) break;
    if (ctx.stop?.requested === true && now - progressAt >= STOPPED_NO_PROGRESS_MS) break;
    if (!said && now - t0 >= 1000) {
      said = true;
      const s = pub.stats;
      stderr.write(
        `tunnelscope: nats: waiting up to ${ACK_WAIT_MS / 1000} s for ${s.buffered} records to be acknowledged` +
          `${s.unreachable ? ' (NATS is unreachable)' : ''}; after a stop, ${STOPPED_NO_PROGRESS_MS / 1000} s without an ack ends the wait\n`,
      );
    }
    await pub.flush(Math.min(250, ACK_WAIT_MS - (now - t0)));
    if (pub.stats.acked !== acked) {
      acked = pub.stats.acked;
      progressAt = Date.now();
    }
  }
  await pub.close(0);
}

// ---------------------------------------------------------------------------------------------------------------
// tunnelscope lists publish

export interface ListsPublishOpts extends NatsAuthOpts {
  nats: string;
  bucket?: string;
  registered?: string;
  vpnEndpoints?: string;
  vpnDomains?: string;
  defaultDomains: boolean;
  publisher?: string;
}

export async function listsPublish(o: ListsPublishOpts, io: CliIo): Promise<number> {
  const { stdout, stderr } = io;
  if (o.registered === undefined && o.vpnEndpoints === undefined && o.vpnDomains === undefined && o.defaultDomains) {
    throw new UsageError('name at least one list: --registered, --vpn-endpoints, --vpn-domains (or --no-default-domains)');
  }
  let lists;
  try {
    // Every file is read and checked before anything is sent; each bad file is reported.
    lists = await loadListFiles({
      registered: o.registered,
      vpnEndpoints: o.vpnEndpoints,
      vpnDomains: o.vpnDomains,
      bundledDomains: o.defaultDomains,
      setDomains: o.vpnDomains !== undefined || !o.defaultDomains,
    });
  } catch (e) {
    if (e instanceof ListFilesError) {
      for (const err of e.errors) stderr.write(`tunnelscope lists publish: ${err.message}\n`);
      stderr.write('tunnelscope lists publish: nothing published\n');
      return 2;
    }
    throw e;
  }
  const bucket = o.bucket ?? DEFAULT_LISTS_BUCKET;
  return withNats(o, 'tunnelscope lists publish', async (nc) => {
    // A first snapshot without a domain list gets the bundled one, as classify would use.
    const bundled = o.defaultDomains ? await loadListFiles({ setDomains: true }) : {};
    const r = await publishLists(nc, lists, { bucket, publisher: o.publisher, initial: bundled });
    stdout.write(
      `${JSON.stringify({ bucket, revision: r.revision, basedOn: r.basedOn, carried: r.carried, entries: { registered: r.entries.registered, vpnEndpoints: r.entries.vpnEndpoints, vpnDomains: r.entries.vpnDomains }, bytes: r.bytes })}\n`,
    );
    stderr.write(`tunnelscope: lists: published fleet revision ${r.revision} to ${q(bucket)}${r.carried.length ? ` (kept from revision ${r.basedOn}: ${r.carried.join(', ')})` : ''}\n`);
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// tunnelscope fleet stats

export interface FleetStatsOpts extends NatsAuthOpts {
  nats: string;
  stream?: string;
  filter?: string;
  since?: string;
  listVersion?: string;
  durable?: string;
  format: 'table' | 'ndjson' | 'json';
}

/** `--since`: an ISO time, or a duration back from now (`90s`, `15m`, `2h`, `7d`). */
export function parseSince(text: string, now = Date.now()): Date {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text.trim());
  if (m) {
    // A duration reaching back before 1970 (`99999999999d`) made an Invalid Date that went on to the server.
    const t = now - Number(m[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[m[2] as 's' | 'm' | 'h' | 'd'];
    if (!(t >= 0)) throw new UsageError(`--since reaches back before 1970, got ${JSON.stringify(text.slice(0, 60))}`);
    return new Date(t);
  }
  const d = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim()) || Number.isNaN(d.getTime())) throw new UsageError(`--since must be an ISO time (2026-12-05T10:00:00Z) or a duration (15m, 2h, 7d), got ${JSON.stringify(text.slice(0, 60))}`);
  return d;
}

/** The table form of `fleet stats` (exported for its test). */
export function statsText(st: FleetStats): string {
  // The name column fits its longest name ('  unregistered vpn-provider' overran a fixed 24), within 24–64 columns.
  const names = [
    ...Object.keys(st.byProtocol),
    ...Object.keys(st.byRegistrant),
    ...Object.keys(st.bySensor),
    ...Object.values(st.unregisteredBySensor).flatMap((u) => Object.keys(u).map((p) => `  unregistered ${p}`)),
  ].map((k) => safeText(k, 256).length);
  const width = Math.min(64, Math.max(24, ...names));
  const line = (k: string, c: { flows: number; packets: number; bytes: number }): string =>
    `  ${k.padEnd(width)} ${String(c.flows).padStart(9)} flows ${String(c.packets).padStart(11)} packets ${String(c.bytes).padStart(14)} bytes`;
  const sorted = <T extends { flows: number }>(m: Record<string, T>): [string, T][] => Object.entries(m).sort((a, b) => b[1].flows - a[1].flows || (a[0] < b[0] ? -1 : 1));
  const out = [`records: ${st.records}${st.skipped ? ` (${st.skipped} messages skipped)` : ''}${st.first ? ` stored ${st.first.time} .. ${st.last!.time}` : ''}`, 'by label:'];
  for (const l of ['registered_vpn', 'unregistered_vpn', 'ordinary']) out.push(line(l, st.byLabel[l] ?? { flows: 0, packets: 0, bytes: 0 }));
  out.push('VPN flows by protocol:');
  for (const [k, c] of sorted(st.byProtocol)) out.push(line(safeText(k, 256), c));
  out.push('registered VPN flows by registrant:');
  for (const [k, c] of sorted(st.byRegistrant)) out.push(line(safeText(k, 256), c));
  out.push('by sensor:');
  for (const [k, c] of sorted(st.bySensor)) {
    out.push(line(safeText(k, 256), c));
    const u = st.unregisteredBySensor[k];
    if (u) for (const [p, pc] of sorted(u)) out.push(line(`  unregistered ${safeText(p, 256)}`, pc));
    const cut = st.payloadCutBySensor[k];
    if (cut) out.push(`    payload cut by the capture ${String(cut).padStart(9)} flows (check this sensor's snap length)`);
  }
  out.push('by list version:');
  for (const [v, n] of Object.entries(st.byListVersion).sort((a, b) => Number(a[0]) - Number(b[0]))) out.push(`  ${v.padEnd(width)} ${String(n).padStart(9)} flows`);
  return `${out.join('\n')}\n`;
}

export async function fleetStats(o: FleetStatsOpts, io: CliIo): Promise<number> {
  const since = o.since === undefined ? undefined : parseSince(o.since);
  const minListVersion = numberFlag('list-version', o.listVersion, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
  return withNats(o, 'tunnelscope fleet stats', async (nc) => {
    const lines: string[] = [];
    const flush = (): void => {
      if (lines.length) io.stdout.write(lines.join(''));
      lines.length = 0;
    };
    const st = await readFleet(nc, {
      stream: o.stream ?? DEFAULT_RECORDS_STREAM,
      filter: o.filter,
      since,
      minListVersion,
      durable: o.durable,
      onRecord:
        o.format === 'ndjson'
          ? (r: FleetRecord) => {
              lines.push(`${escapeJson(JSON.stringify(r))}\n`);
              if (lines.length >= 1000) flush();
            }
          : undefined,
    });
    flush();
    if (o.format === 'json') io.stdout.write(`${escapeJson(JSON.stringify(st))}\n`);
    else if (o.format === 'table') io.stdout.write(statsText(st));
    else io.stderr.write(statsText(st));
    return 0;
  });
}

/** `report --nats`: the fleet's merged records, in stream order, to `onRecord`; the stream read and how many. */
export async function fleetRecords(
  o: { nats: string; stream?: string; filter?: string; since?: string; listVersion?: string } & NatsAuthOpts,
  onRecord: (r: FleetRecord, seq: number) => void,
): Promise<{ stream: string; records: number; skipped: number; first: string | null; last: string | null }> {
  const since = o.since === undefined ? undefined : parseSince(o.since);
  const minListVersion = numberFlag('list-version', o.listVersion, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
  const stream = o.stream ?? DEFAULT_RECORDS_STREAM;
  return withNats(o, 'tunnelscope report', async (nc) => {
    const st = await readFleet(nc, { stream, filter: o.filter, since, minListVersion, onRecord: (r, m) => onRecord(r, m.seq) });
    return { stream, records: st.records, skipped: st.skipped, first: st.first?.time ?? null, last: st.last?.time ?? null };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// tunnelscope fleet submit / work

export interface FleetSubmitOpts extends NatsAuthOpts {
  nats: string;
  oneTrace?: boolean;
  batch?: string;
  wait?: boolean;
  timeout?: string;
  format?: 'ndjson' | 'none';
}

/**
 * `fleet submit --one-trace`: the pieces named (files and directories) as classify --one-trace finds and orders
 * them, read here so that the job fixes them (a ring buffer goes on rotating; every delivery must read the same
 * pieces). What cannot be read is reported; null when nothing is left to submit.
 */
function oneTracePieces(inputs: readonly string[], stderr: NodeJS.WritableStream): { pieces: string[]; unreadable: boolean } | null {
  const found = findCaptures(inputs);
  for (const p of found.unnamed) stderr.write(`tunnelscope fleet submit: ${safeText(p, 256)}: ${UNNAMED}\n`);
  writeUnreadable(stderr, 'fleet submit', found.unreadable);
  let unreadable = found.unnamed.length > 0 || found.unreadable.length > 0;
  if (found.files.length === 0) {
    if (!unreadable) stderr.write(`tunnelscope fleet submit: no pcap or pcapng captures in ${inputs.map((i) => safeText(i, 256)).join(', ')}\n`);
    return null;
  }
  // A pipe or FIFO (<(zcat piece.gz)) is this process's: a worker cannot read it.
  const files = found.files.filter((f) => {
    const file = statSync(f, { throwIfNoEntry: false })?.isFile() !== false;
    if (!file) stderr.write(`tunnelscope fleet submit: cannot read ${safeText(f, 256)}: not a regular file (a pipe or FIFO cannot go to a worker; decompress to a file the workers see)\n`);
    return file;
  });
  if (files.length < found.files.length) unreadable = true;
  if (files.length === 0) return null;
  return { pieces: orderPieces(files, (l) => stderr.write(`tunnelscope fleet submit: ${l}\n`)).map((p) => p.path), unreadable };
}

/**
 * The captures of a submission, one job each: a directory this machine sees is walked as classify walks one (a job
 * naming a directory failed on every worker, once per delivery); any other path goes as given, for workers to open.
 * What a directory holds but cannot be read is reported; null when a directory holds no capture.
 */
function submittedFiles(inputs: readonly string[], stderr: NodeJS.WritableStream): { files: string[]; unreadable: boolean } | null {
  const files: string[] = [];
  let unreadable = false;
  for (const input of inputs) {
    if (!isDirectory(input)) {
      files.push(input);
      continue;
    }
    const found = findCaptures([input]);
    for (const p of found.unnamed) stderr.write(`tunnelscope fleet submit: ${safeText(p, 256)}: ${UNNAMED}\n`);
    writeUnreadable(stderr, 'fleet submit', found.unreadable);
    if (found.unnamed.length > 0 || found.unreadable.length > 0) unreadable = true;
    else if (found.files.length === 0) {
      stderr.write(`tunnelscope fleet submit: no pcap or pcapng captures in ${safeText(input, 256)}\n`);
      return null;
    }
    files.push(...found.files);
  }
  return { files, unreadable };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export async function fleetSubmit(files: string[], o: FleetSubmitOpts, io: CliIo): Promise<number> {
  const { stdout, stderr } = io;
  let worst = 0;
  if (o.oneTrace === true) {
    const found = oneTracePieces(files, stderr);
    if (found === null) return 2;
    if (found.unreadable) worst = 2;
    files = found.pieces;
  } else {
    const found = submittedFiles(files, stderr);
    if (found === null) return 2;
    if (found.unreadable) worst = 2;
    files = found.files;
    if (files.length === 0) return 2;
  }
  return withNats(o, 'tunnelscope fleet submit', async (nc) => {
    const sub = await submitJobs(nc, files, { batch: o.batch, oneTrace: o.oneTrace === true });
    stderr.write(`tunnelscope: fleet: batch ${sub.batch}: ${sub.jobs.length} job(s) submitted${o.oneTrace === true ? ` (${files.length} pieces of one trace, in first-packet order)` : ''}\n`);
    if (!o.wait) {
      for (const j of sub.jobs) stdout.write(`${escapeJson(JSON.stringify({ batch: sub.batch, job: j.job, file: j.file, ...(o.oneTrace === true ? { pieces: files.length } : {}) }))}\n`);
      return worst;
    }
    const timeoutMs = o.timeout === undefined ? undefined : Number(o.timeout) * 1000;
    const outcomes = await waitForJobs(nc, sub, {
      timeoutMs,
      onEvent: (e: JobEvent) => {
        if (e.event === 'failed') stderr.write(`tunnelscope: fleet: job ${escapeText(String(e.job))} ${q(e.file)} failed on ${q(e.sensor)} (attempt ${e.attempt}${e.final ? ', final' : ', will retry'}): ${q(e.error ?? '')}\n`);
        else {
          // A one-trace job's pieces: what its worker said of them, and a failed piece is bad input (as classify --one-trace).
          for (const n of e.notes ?? []) stderr.write(`tunnelscope fleet submit: job ${escapeText(String(e.job))} on ${q(e.sensor)}: ${safeText(n, 1000)}\n`);
          if ((e.failedPieces ?? 0) > 0) worst = 2;
          const pieces = e.pieces === undefined ? '' : `, ${e.pieces} pieces read as one trace${e.failedPieces ? `, ${e.failedPieces} failed` : ''}`;
          stderr.write(`tunnelscope: fleet: job ${escapeText(String(e.job))} done on ${q(e.sensor)} (attempt ${e.attempt}): ${e.records ?? 0} records${pieces}\n`);
        }
      },
    });
    let bad = 0;
    for (const out of outcomes) {
      if (out.state === 'done') continue;
      bad++;
      if (out.state === 'gave-up') stderr.write(`tunnelscope: fleet: job ${escapeText(String(out.job))} ${q(out.file)}: given up after ${out.deliveries ?? '?'} deliveries (its workers stopped without finishing)\n`);
      else if (out.state === 'pending') stderr.write(`tunnelscope: fleet: job ${escapeText(String(out.job))} ${q(out.file)}: not finished when the wait ended\n`);
    }
    if (o.format === 'ndjson') {
      const lines: string[] = [];
      await readFleet(nc, {
        startSeq: sub.recordsSeq + 1,
        match: (r) => r.batch === sub.batch,
        onRecord: (r) => {
          lines.push(`${escapeJson(JSON.stringify(r))}\n`);
          if (lines.length >= 1000) stdout.write(lines.splice(0).join(''));
        },
      });
      stdout.write(lines.join(''));
    }
    // Bad input (a piece that could not be read) is 2 as in classify; a job that failed or was not finished, 1.
    return worst > 0 ? worst : bad > 0 ? 1 : 0;
  });
}

export interface FleetWorkOpts extends NatsAuthOpts {
  nats: string;
  id?: string;
  listsFrom?: string | true;
  registered?: string;
  vpnEndpoints?: string;
  vpnDomains?: string;
  defaultDomains: boolean;
  ackWait?: string;
  maxDeliver?: string;
  maxJobs?: string;
  idleExit?: string;
}

export async function fleetWork(o: FleetWorkOpts, io: CliIo, signal: AbortSignal): Promise<number> {
  const { stderr } = io;
  const id = o.id ?? defaultSensorId();
  const nc = await connectNats(o.nats, { name: `tunnelscope fleet work ${id}`, auth: natsAuthOf(o) });
  let watcher: FleetListWatcher | null = null;
  try {
    let classifier;
    if (o.listsFrom !== undefined) {
      const bucket = typeof o.listsFrom === 'string' ? o.listsFrom : DEFAULT_LISTS_BUCKET;
      const first = await loadFleetLists(nc, { bucket });
      if (first === null) throw new NatsError(`no list snapshot in bucket ${q(bucket)} yet`);
      classifier = createClassifier(first.input);
      watcher = await watchFleetLists(nc, classifier, { bucket, revision: first.revision });
      sayWatcherEvents(watcher, classifier, stderr);
    } else {
      classifier = createClassifier(await loadClassifyLists({ registered: o.registered, vpnEndpoints: o.vpnEndpoints, vpnDomains: o.vpnDomains, defaultDomains: o.defaultDomains }));
    }
    const num = (t: string | undefined, scale = 1): number | undefined => (t === undefined ? undefined : Number(t) * scale);
    const w = createJobWorker(nc, {
      id,
      classifier,
      signal,
      ackWaitMs: num(o.ackWait, 1000),
      maxDeliver: num(o.maxDeliver),
      maxJobs: num(o.maxJobs),
      idleExitMs: num(o.idleExit, 1000),
    });
    // The job in hand, for the stop's note: a large capture can take minutes, and the process must say why it goes on.
    let inHand: string | null = null;
    w.on('job', (e: { job: string; file: string; attempt: number }) => {
      inHand = escapeText(String(e.job));
      stderr.write(`tunnelscope: fleet: worker ${id}: job ${inHand} ${q(e.file)} started (attempt ${e.attempt})\n`);
    });
    w.on('done', (e: JobEvent) => {
      inHand = null;
      for (const n of e.notes ?? []) stderr.write(`tunnelscope fleet work: job ${escapeText(String(e.job))}: ${safeText(n, 1000)}\n`);
      stderr.write(`tunnelscope: fleet: worker ${id}: job ${escapeText(String(e.job))} done: ${e.records ?? 0} records${e.pieces === undefined ? '' : ` (${e.pieces} pieces read as one trace${e.failedPieces ? `, ${e.failedPieces} failed` : ''})`}\n`);
    });
    w.on('failed', (e: JobEvent) => {
      inHand = null;
      stderr.write(`tunnelscope: fleet: worker ${id}: job ${escapeText(String(e.job))} failed${e.final ? '' : ' (will be retried)'}: ${q(e.error ?? '')}\n`);
    });
    const sayStop = (): void => {
      if (inHand !== null) stderr.write(`tunnelscope: fleet: worker ${id}: stopping after job ${inHand} (a second interrupt exits at once; the job then goes to another worker after the ack wait)\n`);
    };
    signal.addEventListener('abort', sayStop, { once: true });
    w.on('ready', (e: { ackWaitMs: number; maxDeliver: number }) =>
      stderr.write(`tunnelscope: fleet: worker ${id}: waiting for jobs (ack wait ${e.ackWaitMs / 1000} s, at most ${e.maxDeliver} deliveries)\n`),
    );
    const st = await w.run().finally(() => signal.removeEventListener('abort', sayStop));
    stderr.write(`tunnelscope: fleet: worker ${id}: ${st.jobs} job(s), ${st.done} done, ${st.failed} failed, ${st.records} records\n`);
    return 0;
  } catch (e) {
    if (e instanceof TunnelscopeError) {
      stderr.write(`tunnelscope fleet work: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    watcher?.stop();
    await endConnection(nc);
  }
}
