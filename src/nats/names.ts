/**
 * Names the fleet agrees on without configuration (bucket, streams, subjects, consumer), sensor ids, and the
 * JetStream message ids that make a retried publication a duplicate the server drops. Pure; no NATS here.
 */
import { hostname } from 'node:os';
import { InvalidArgumentError } from '../errors.js';

/** Object-store bucket holding the fleet's list snapshot. */
export const DEFAULT_LISTS_BUCKET = 'tunnelscope-lists';
/** Name of the snapshot object in that bucket (one object: one revision names all three lists). */
export const LISTS_OBJECT = 'lists';
/** Stream of flow records, verdict events and job events. */
export const DEFAULT_RECORDS_STREAM = 'TUNNELSCOPE_RECORDS';
/** Records of sensor S go to `tunnelscope.records.S`; the stream takes `tunnelscope.records.>`. */
export const RECORDS_SUBJECT_PREFIX = 'tunnelscope.records';
/** Work-queue stream of capture jobs. */
export const DEFAULT_JOBS_STREAM = 'TUNNELSCOPE_JOBS';
export const JOBS_SUBJECT = 'tunnelscope.jobs.capture';
/** The durable consumer every `fleet work` process shares (each job goes to one of them). */
export const DEFAULT_WORKERS_CONSUMER = 'tunnelscope-workers';

/** Suffixes of a sensor subject for the other kinds of message (records are on the subject itself). */
export const VERDICT_SUFFIX = 'verdict';
export const JOB_EVENT_SUFFIX = 'job';

/** A sensor id is one subject token: letters, digits, `_` and `-`, at most 64 characters. */
const SENSOR_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Check a sensor id (it becomes a subject token and a field of every record).
 * @throws {InvalidArgumentError}
 */
export function checkSensorId(id: string): string {
  if (!SENSOR_ID.test(id)) throw new InvalidArgumentError(`sensor id must be 1-64 letters, digits, '_' or '-', got ${JSON.stringify(id.slice(0, 80))}`);
  return id;
}

/** The default sensor id: the host name with every other character replaced by `_` (`gw1.example` -> `gw1_example`). */
export function defaultSensorId(host: string = hostname()): string {
  const id = host.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  return id === '' ? 'sensor' : id;
}

/** A subject of tokens that are not wildcards or empty. */
const SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/;

/**
 * Check a subject to publish to (no wildcards, no empty tokens).
 * @throws {InvalidArgumentError}
 */
export function checkSubject(subject: string): string {
  if (subject.length > 255 || !SUBJECT.test(subject)) throw new InvalidArgumentError(`not a subject to publish to: ${JSON.stringify(subject.slice(0, 80))}`);
  return subject;
}

/** Default subject of a sensor's records. */
export function recordSubject(sensor: string): string {
  return `${RECORDS_SUBJECT_PREFIX}.${checkSensorId(sensor)}`;
}

/** The fields of a record that name its flow. */
export interface FlowKeyFields {
  transport: string;
  src: string;
  dst: string;
  vlan?: number | undefined;
  encap?: string | undefined;
  firstSeen: string;
  /** The verdict, when known (a record's): what the flow was judged to be, under which list version. */
  listVersion?: number | undefined;
  label?: string | undefined;
  protocol?: string | null | undefined;
  registrant?: string | null | undefined;
}

/** FNV-1a over the UTF-16 units of `s`, as 8 hex digits: a short fingerprint, not a security measure. */
function fingerprint(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * Message id of a flow's record: sensor, flow key (transport, endpoints, VLAN, tunnel), first-seen time, and a
 * fingerprint of its verdict (list version, label, protocol, registrant). The same record gives the same id on
 * every retry, so JetStream drops a re-sent copy (within the stream's duplicate window); two flows of one sensor
 * cannot share a key and a first-seen time. The verdict is part of it because a capture classified again after a
 * list change (a corrected list file: the version may well be 1 both times) is a new judgement of the same flow:
 * without it the server dropped the new labels as copies of the old ones. The same verdict again is one message.
 */
export function recordMsgId(sensor: string, r: FlowKeyFields, kind: 'r' | 'v' = 'r'): string {
  const id = `${sensor}|${r.transport}|${r.src}|${r.dst}|${r.vlan ?? ''}|${r.encap ?? ''}|${r.firstSeen}|${kind}`;
  if (r.listVersion === undefined && r.label === undefined) return id;
  return `${id}@${fingerprint(`${r.listVersion ?? ''}|${r.label ?? ''}|${r.protocol ?? ''}|${r.registrant ?? ''}`)}`;
}

/**
 * Message id of what a worker publishes for one job: its records (`part` = position in the job's output) and its
 * events. The job's sequence in the jobs stream is part of it: a redelivered job (same sequence) republishes the
 * same ids, so a dead worker's partial output is not stored twice, while a batch id used again later (a new
 * submission, a new sequence) never collides with what the first submission stored.
 */
export function jobMsgId(job: string, jobSeq: number, part: number | string): string {
  return `job:${job}@${jobSeq}:${part}`;
}

/**
 * Whether a stream subject `pattern` takes every subject `subject` stands for (both may hold the wildcards `*`, one
 * token, and `>`, one or more trailing tokens): `tunnelscope.>` covers `tunnelscope.records.>`; `a.*` does not
 * cover `a.>`.
 */
export function subjectCovers(pattern: string, subject: string): boolean {
  const p = pattern.split('.'), s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return i < s.length; // '>' needs at least one token
    if (i >= s.length || s[i] === '>') return false;
    if (p[i] !== '*' && (s[i] === '*' || p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}
