/**
 * Reading the fleet: the records every sensor published, from a durable pull consumer on the records stream,
 * counted per label, VPN protocol, registrant, sensor and list version (flows, packets, bytes), and handed to the
 * caller one by one in stream order (the merged records). Enough to answer "how much unregistered VPN traffic, of
 * which kinds, on which links, since the list changed". Messages that are not flow records are counted in
 * `skipped`, never thrown: the stream is other machines' output, i.e. input.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { ConsumerConfig, JsMsg } from '@nats-io/jetstream';
import { InvalidArgumentError } from '../errors.js';
import { loadNatsModules } from './modules.js';
import { NatsError } from './lists.js';
import { DEFAULT_RECORDS_STREAM, RECORDS_SUBJECT_PREFIX } from './names.js';

/** A flow record as the stream carries it: the classifier's record plus the sensor id (and job fields for jobs). */
export interface FleetRecord {
  transport: string;
  src: string;
  dst: string;
  label: string;
  protocol: string | null;
  registrant: string | null;
  packets: number;
  bytes: number;
  firstSeen: string;
  lastSeen: string;
  listVersion: number;
  sensor: string;
  [field: string]: unknown;
}

export interface FleetCounts {
  flows: number;
  packets: number;
  bytes: number;
}

export interface FleetStats {
  /** Flow records counted. */
  records: number;
  /** Messages that were not flow records (bad JSON, missing fields) or were filtered out by `minListVersion`. */
  skipped: number;
  byLabel: Record<string, FleetCounts>;
  /** VPN flows (registered or not) per protocol. */
  byProtocol: Record<string, FleetCounts>;
  /** Registered VPN flows per registrant. */
  byRegistrant: Record<string, FleetCounts>;
  /** Per sensor: all its flows, and per label. */
  bySensor: Record<string, FleetCounts & { byLabel: Record<string, FleetCounts> }>;
  /** Unregistered VPN flows per sensor and protocol (`sensor` -> `protocol` -> counts). */
  unregisteredBySensor: Record<string, Record<string, FleetCounts>>;
  /** Flows per list version (the fleet revision each verdict used). */
  byListVersion: Record<string, number>;
  /**
   * Per sensor: flows judged on payload its capture cut short (records' `payloadCut`): a sensor whose tap slices
   * packets or captures with a short snap length shows here.
   */
  payloadCutBySensor: Record<string, number>;
  /** Stream sequence and store time of the first and last message read (null when none). */
  first: { seq: number; time: string } | null;
  last: { seq: number; time: string } | null;
}

export interface FleetReadOptions {
  /** Stream (default `TUNNELSCOPE_RECORDS`). */
  stream?: string | undefined;
  /** Subject filter (default `tunnelscope.records.*`: every sensor's records, not verdict or job events). */
  filter?: string | undefined;
  /** Only messages stored at or after this time. */
  since?: Date | undefined;
  /** Only messages from this stream sequence on (wins over `since`). */
  startSeq?: number | undefined;
  /** Only records this predicate accepts (others count as skipped), e.g. one job batch's. */
  match?: ((r: FleetRecord) => boolean) | undefined;
  /** Only records whose `listVersion` is at least this (e.g. "since the list changed"). */
  minListVersion?: number | undefined;
  /**
   * Durable consumer name. Given: created if missing, kept at the end, and a later read with the same name goes on
   * where this one stopped (then `since` applies only when it is created). Default: a durable of a fresh name that
   * the server removes after a minute without reads, deleted at the end.
   */
  durable?: string | undefined;
  /** Keep reading new messages until `signal` aborts (default: stop at the end of the stream as it was at start). */
  follow?: boolean | undefined;
  signal?: AbortSignal | undefined;
  /** Every record, in stream order (the merged records of every sensor). */
  onRecord?: ((r: FleetRecord, meta: { subject: string; seq: number }) => void) | undefined;
}

const LABELS = new Set(['registered_vpn', 'unregistered_vpn', 'ordinary']);

function add(c: FleetCounts, r: FleetRecord): void {
  c.flows++;
  c.packets += r.packets;
  c.bytes += r.bytes;
}
/**
 * A table keyed by text from records (sensor ids, registrants, protocols): without a prototype, so `constructor`
 * or `__proto__` is a key like any other, not an inherited property.
 */
function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
function slot<T>(m: Record<string, T>, k: string, make: () => T): T {
  let v = m[k];
  if (v === undefined) m[k] = v = make();
  return v;
}
const counts = (): FleetCounts => ({ flows: 0, packets: 0, bytes: 0 });

/** A parsed record if `x` has the fields the counts need with the right types, else null. */
export function asFleetRecord(x: unknown): FleetRecord | null {
  if (typeof x !== 'object' || x === null) return null;
  const r = x as Record<string, unknown>;
  if (typeof r.label !== 'string' || !LABELS.has(r.label)) return null;
  if (typeof r.sensor !== 'string' || typeof r.src !== 'string' || typeof r.dst !== 'string' || typeof r.transport !== 'string') return null;
  if (!(r.protocol === null || typeof r.protocol === 'string') || !(r.registrant === null || typeof r.registrant === 'string')) return null;
  if (!Number.isFinite(r.packets) || !Number.isFinite(r.bytes) || !Number.isSafeInteger(r.listVersion)) return null;
  if (typeof r.firstSeen !== 'string' || typeof r.lastSeen !== 'string') return null;
  return r as FleetRecord;
}

/** Empty counts. */
export function newFleetStats(): FleetStats {
  return { records: 0, skipped: 0, byLabel: dict(), byProtocol: dict(), byRegistrant: dict(), bySensor: dict(), unregisteredBySensor: dict(), byListVersion: dict(), payloadCutBySensor: dict(), first: null, last: null };
}

/** Count one record. */
export function countRecord(st: FleetStats, r: FleetRecord): void {
  st.records++;
  add(slot(st.byLabel, r.label, counts), r);
  if (r.label !== 'ordinary') add(slot(st.byProtocol, r.protocol ?? 'unknown', counts), r);
  if (r.label === 'registered_vpn') add(slot(st.byRegistrant, r.registrant ?? 'unknown', counts), r);
  const s = slot(st.bySensor, r.sensor, () => ({ ...counts(), byLabel: dict<FleetCounts>() }));
  add(s, r);
  add(slot(s.byLabel, r.label, counts), r);
  if (r.label === 'unregistered_vpn') add(slot(slot(st.unregisteredBySensor, r.sensor, () => dict<FleetCounts>()), r.protocol ?? 'unknown', counts), r);
  st.byListVersion[r.listVersion] = (st.byListVersion[r.listVersion] ?? 0) + 1;
  if (typeof r.payloadCut === 'number' && r.payloadCut > 0) st.payloadCutBySensor[r.sensor] = (st.payloadCutBySensor[r.sensor] ?? 0) + 1;
}

/**
 * Read the fleet's records (see {@link FleetReadOptions}) and count them.
 * @throws {NatsError} the stream does not exist, or a server error
 */
export async function readFleet(nc: NatsConnection, options: FleetReadOptions = {}): Promise<FleetStats> {
  const { jetstream } = await loadNatsModules();
  const stream = options.stream ?? DEFAULT_RECORDS_STREAM;
  const filter = options.filter ?? `${RECORDS_SUBJECT_PREFIX}.*`;
  const minVersion = options.minListVersion ?? 0;
  if (options.since !== undefined && Number.isNaN(options.since.getTime())) throw new InvalidArgumentError('since is not a valid time');
  const jsm = await jetstream.jetstreamManager(nc);
  let endSeq: number;
  try {
    endSeq = (await jsm.streams.info(stream)).state.last_seq;
  } catch (e) {
    throw new NatsError(`stream ${stream}: ${(e as Error).message}`, { cause: e });
  }
  const temporary = options.durable === undefined;
  const name = options.durable ?? `tunnelscope-read-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  let exists = false;
  if (!temporary) {
    exists = await jsm.consumers.info(stream, name).then(
      () => true,
      () => false,
    );
  }
  if (!exists) {
    const cfg: Partial<ConsumerConfig> = {
      durable_name: name,
      ack_policy: jetstream.AckPolicy.All,
      filter_subject: filter,
      max_ack_pending: 20_000,
      ...(options.startSeq !== undefined
        ? { deliver_policy: jetstream.DeliverPolicy.StartSequence, opt_start_seq: options.startSeq }
        : options.since ? { deliver_policy: jetstream.DeliverPolicy.StartTime, opt_start_time: options.since.toISOString() } : { deliver_policy: jetstream.DeliverPolicy.All }),
      ...(temporary ? { inactive_threshold: 60_000 * 1_000_000 } : {}),
    };
    try {
      await jsm.consumers.add(stream, cfg);
    } catch (e) {
      throw new NatsError(`cannot create consumer ${name} on ${stream}: ${(e as Error).message}`, { cause: e });
    }
  }
  const st = newFleetStats();
  try {
    const c = await jetstream.jetstream(nc).consumers.get(stream, name);
    const pending = (await c.info()).num_pending;
    if (pending === 0 && !options.follow) return st;
    const dec = new TextDecoder();
    let last: JsMsg | null = null;
    let unacked = 0;
    const messages = await c.consume({ max_messages: 1000 });
    const stop = (): void => void messages.stop();
    options.signal?.addEventListener('abort', stop, { once: true });
    if (options.signal?.aborted) stop();
    for await (const m of messages) {
      const seq = m.seq;
      const time = new Date(Math.floor(m.info.timestampNanos / 1e6)).toISOString();
      st.first ??= { seq, time };
      st.last = { seq, time };
      let rec: FleetRecord | null = null;
      try {
        rec = asFleetRecord(JSON.parse(dec.decode(m.data)));
      } catch {
        rec = null;
      }
      if (rec === null || rec.listVersion < minVersion || (options.match !== undefined && !options.match(rec))) st.skipped++;
      else {
        countRecord(st, rec);
        options.onRecord?.(rec, { subject: m.subject, seq });
      }
      last = m;
      if (++unacked >= 200) {
        m.ack();
        unacked = 0;
      }
      if (!options.follow && (m.info.pending === 0 || seq >= endSeq)) break;
    }
    options.signal?.removeEventListener('abort', stop);
    if (last !== null) await last.ackAck().catch(() => false);
    await messages.close().catch(() => undefined);
  } finally {
    if (temporary) await jsm.consumers.delete(stream, name).catch(() => false);
  }
  return st;
}
