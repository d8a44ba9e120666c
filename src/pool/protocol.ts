/**
 * Messages between the pool (main thread) and its workers, and the wire form of a list snapshot.
 * CIDR maps cross as SharedArrayBuffers (`CidrMap#toBuffer`) plus their values array: every worker rebuilds a
 * zero-copy view with `CidrMap.fromBuffer`, so a 1M-prefix list exists once in memory, not once per thread.
 * The domain set is small and crosses as its `[domain, value]` entries.
 */
import type { FlowRecord } from '../classify/record.js';
import { toCidrMap, type CidrListInput, type ListSnapshot, type ListsInput } from '../classify/lists.js';
import type { VerdictEvent } from '../classify/session.js';
import type { FlowTableOptions } from '../trace/flow-table.js';
import type { CertStreamStats } from '../detect/names/cert-stream.js';
import { CidrMap } from '../trie/cidr-map.js';
import { InvalidArgumentError } from '../errors.js';
import { isCheckedCidrMap, markCheckedCidrMap } from '../lists/cidr-list.js';
import { entryNamesOf, setEntryNames, type EntryNames } from '../lists/entry-names.js';

export interface WireCidr {
  buf: SharedArrayBuffer;
  /** Values as distinct strings + one index per prefix (shared): a 1M-prefix list with 5k registrants sends
   * 5k strings, not 1M copies per worker. */
  uniq: string[];
  idx: Uint32Array;
  /** What a range line wrote for the prefixes it was split into (entry-names.ts), when the list has ranges. */
  written: EntryNames | null;
}

export interface WireLists {
  version: number;
  registered: WireCidr | null;
  vpnEndpoints: WireCidr | null;
  vpnDomains: [string, string][] | null;
  names: ListSnapshot['names'];
}

/** Packed maps are cached per map object: an update that leaves a list alone does not copy it again. */
const packed = new WeakMap<object, WireCidr>();

function pack(m: CidrMap<string>): WireCidr {
  const n = m.size;
  const ids = new Map<string, number>();
  const uniq: string[] = [];
  const idx = new Uint32Array(new SharedArrayBuffer(n * 4));
  for (let i = 0; i < n; i++) {
    const v = m.valueAt(i);
    let k = ids.get(v);
    if (k === undefined) {
      k = uniq.length;
      uniq.push(v);
      ids.set(v, k);
    }
    idx[i] = k;
  }
  const names = entryNamesOf(m);
  let written: EntryNames | null = null;
  if (names !== undefined) {
    const at = new Uint32Array(new SharedArrayBuffer(n * 4));
    at.set(names.at);
    written = { texts: names.texts.slice(), at };
  }
  return { buf: m.toBuffer(), uniq, idx, written };
}

function wireCidr(m: CidrMap<string> | null): WireCidr | null {
  if (m === null) return null;
  let w = packed.get(m);
  if (!w) {
    w = pack(m);
    packed.set(m, w);
  }
  return w;
}

/**
 * Build a CIDR list input once and re-open it over its shared buffer, so the main thread keeps the same
 * SharedArrayBuffer tables the workers view (one copy of a big list in the process, not two).
 */
export function sharedCidr(x: CidrListInput | null | undefined): CidrMap<string> | null | undefined {
  if (x === undefined || x === null) return x;
  const m = toCidrMap(x)!;
  if (packed.has(m)) return m;
  const w = pack(m);
  // The map's own values (a copy) are the values the wire packs: no rebuild from the wire's indexes.
  const view = CidrMap.fromOwnBuffer<string>(w.buf, m.values());
  if (isCheckedCidrMap(m)) markCheckedCidrMap(view);
  if (w.written !== null) setEntryNames(view, w.written);
  packed.set(view, w);
  return view;
}

/** `input` with its CIDR lists built and shared (see sharedCidr); other fields unchanged. */
export function sharedLists<T extends ListsInput>(input: T): T {
  // Not an object: the classifier's own check reports it with its typed error.
  if (input === null || typeof input !== 'object') return input;
  const out = { ...input };
  // undefined is a list left out (nextSnapshot), not a list removed.
  if (input.registered !== undefined) out.registered = sharedCidr(input.registered) ?? null;
  if (input.vpnEndpoints !== undefined) out.vpnEndpoints = sharedCidr(input.vpnEndpoints) ?? null;
  return out;
}

/** Domain-set source entries: whichever iteration door the set offers. */
export function domainEntries(set: unknown): [string, string][] {
  const s = set as { entries?: () => Iterable<[string, string]>; [Symbol.iterator]?: () => Iterator<[string, string]> };
  if (typeof s.entries === 'function') return Array.from(s.entries(), ([k, v]) => [k, v]);
  if (typeof s[Symbol.iterator] === 'function') return Array.from(s as Iterable<[string, string]>, ([k, v]) => [k, v]);
  if (Array.isArray((s as { entries?: unknown }).entries)) return ((s as unknown as { entries: [string, string][] }).entries).slice();
  throw new InvalidArgumentError('pool: the domain set exposes no entries to send to workers');
}

export function toWire(s: ListSnapshot): WireLists {
  return {
    version: s.version,
    registered: wireCidr(s.registered),
    vpnEndpoints: wireCidr(s.vpnEndpoints),
    vpnDomains: s.vpnDomains === null ? null : domainEntries(s.vpnDomains),
    names: { ...s.names },
  };
}

/**
 * The map a {@link WireCidr} packs, as a view over its shared tables. The wire is always the pool's own packing
 * (its tables are not walked again); `snapshot`: its values are checked (a checked list, or a snapshot the pool's
 * classifier accepted, which is all the workers get), so the classifier taking the view does not check them again.
 */
export function fromWireCidr(w: WireCidr | null, o: { snapshot: boolean }): CidrMap<string> | null {
  if (w === null) return null;
  const values = new Array<string>(w.idx.length);
  for (let i = 0; i < values.length; i++) values[i] = w.uniq[w.idx[i]!]!;
  const m = CidrMap.fromOwnBuffer<string>(w.buf, values);
  if (o.snapshot) markCheckedCidrMap(m);
  if (w.written !== null) setEntryNames(m, w.written);
  return m;
}

export interface WorkerInit {
  index: number;
  /** Int32[1]: record batches the main thread has consumed (flow control of file-run records). */
  acked: SharedArrayBuffer;
  detectorIds: string[] | null;
  lists: WireLists;
  flow: FlowTableOptions | undefined;
  companionWindowS: number | undefined;
  sslVpnEspPorts: readonly number[] | undefined;
}

/** Record batches a worker may have posted and the main thread not yet consumed. */
export const RECORD_BATCHES_IN_FLIGHT = 8;

/**
 * Live batch frame header: tsUs f64, capLen u32, linkType u32 (bit 31 set: a copy of another shard's frame, sent
 * only for what every worker must see, i.e. DNS answers), wireLen u32 (the original length: a snaplen-cut frame
 * counts its wire bytes, as in one session), 4 bytes of padding, checkUs f64 (the capture time of the latest idle
 * check of the whole stream up to this frame: see ClassifierPool#pushFrame), clockUs f64 (the stream's capture
 * clock at this frame: the worker's flow table keeps the clock a single session would, also when the capture's
 * time goes back); frame bytes follow, padded to 8.
 */
export const FRAME_HEADER_BYTES = 40;
/** Flag in a live frame header's linkType word: the frame belongs to another worker's shard. */
export const FRAME_FOREIGN = 0x80000000;

export type ToWorker =
  | {
      t: 'file'; job: number; path: string; flow: FlowTableOptions | undefined; nShards: number; ring: SharedArrayBuffer[]; sendEvery: number;
      /** Int32 [0]: set to 1 when the run is stopped; chunks still queued are then skipped. */
      stop: SharedArrayBuffer;
    }
  | { t: 'chunk'; job: number; slot: number; len: number }
  | { t: 'eof'; job: number; reason: 'eof' | 'stop' }
  | { t: 'cancel'; job: number }
  | { t: 'batch'; buf: ArrayBuffer; used: number; nFrames: number; checkUs: number }
  | { t: 'lists'; lists: WireLists }
  | { t: 'end'; reason: 'eof' | 'stop' }
  | { t: 'ping'; id: number }
  | { t: 'live-config'; config: LiveConfig };

/**
 * How the workers' next live session is made, for an adapter that owns the pool's live input (the UDP adapter:
 * frames built from datagrams, nothing to open, verdicts only). Applies to one live run: `end` drops it.
 */
export interface LiveConfig {
  /** Flow-table options of each worker's session (the pool splits `maxFlows` across its workers). */
  flow: FlowTableOptions | undefined;
  records: boolean;
  maxDnsBindings: number | undefined;
  maxTunnelDepth: number | undefined;
}

/** A live verdict as it crosses back: without the flow's record so far when the live run keeps no records. */
export interface LiveVerdict {
  flow: VerdictEvent['flow'];
  verdict: VerdictEvent['verdict'];
  record?: FlowRecord;
}

/** A TraceFormatError's fields, to rebuild it on the main thread (same class, offset and message). */
export interface WireFormatError {
  source: string;
  offset: number;
  detail: string;
}

export interface WorkerSessionStats {
  packets: number;
  claimed: number;
  decoded: number;
  flows: number;
  verdicts: number;
  malformed: Record<string, number>;
  fallback: Record<string, number>;
  duplicatesSkipped: number;
  certificates: CertStreamStats;
}

/** A live session's counters, sent back with every batch (metrics of a run that does not end). */
export interface LiveCounters {
  liveFlows: number;
  /** Flows seen, verdicts emitted, flows ended by idle timeout (since the live run began). */
  flows: number;
  verdicts: number;
  idle: number;
  evicted: number;
  duplicatesSkipped: number;
  malformed: Record<string, number>;
  fallback: Record<string, number>;
}

export type FromWorker =
  | { t: 'ready' }
  | { t: 'recs'; job: number; recs: FlowRecord[]; idx: number[]; wm: number; bytes: number }
  | { t: 'free'; job: number; slot: number }
  /** End of a file run: at end of file, or (formatError set) where the capture turned out corrupt; either way
   * every record of the run has been posted before this message. */
  | { t: 'done'; job: number; stats: WorkerSessionStats; listVersion: number; formatError: WireFormatError | null }
  | { t: 'live'; recs: FlowRecord[]; verdicts: LiveVerdict[]; buf: ArrayBuffer | null; counters: LiveCounters | null }
  | { t: 'ended'; stats: WorkerSessionStats }
  | { t: 'pong'; id: number; version: number }
  | { t: 'error'; job: number | null; message: string; code: string | null };
