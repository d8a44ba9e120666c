/**
 * Typed errors. The stable API is the `code` string; messages may change.
 * Every error that concerns a location (a list line, a capture byte offset) carries it both in the
 * message and in fields, so a caller can report it without parsing text.
 *
 * Messages quote untrusted text (paths, list lines, values) and are printed as they are, so every message is one
 * line of at most MAX_MESSAGE characters with control and bidi characters escaped (src/text.ts), and the untrusted
 * parts are clipped first so the location survives (a 4 KiB path keeps its file name and the byte offset after
 * it). The fields keep the raw values.
 */
import { clipText, escapeText, quoteText } from './text.js';

/** Longest message of a typed error, in characters. */
export const MAX_MESSAGE = 2048;
/** Longest source name (path) quoted in a message: head and tail kept. */
const MAX_SOURCE = 256;
/** Longest detail quoted in a message. */
const MAX_DETAIL = 1024;

export type ErrorCode =
  | 'TS_ERR'
  | 'TS_INVALID_ARG'
  | 'TS_INVALID_IP'
  | 'TS_INVALID_CIDR'
  | 'TS_PREFIX_LENGTH'
  | 'TS_HOST_BITS'
  | 'TS_DUPLICATE_PREFIX'
  | 'TS_LIST_PARSE'
  | 'TS_LIST_READ'
  | 'TS_CAPTURE_FORMAT'
  | 'TS_RECORD_PARSE'
  | 'TS_BAD_BUFFER'
  | 'TS_LIST_SNAPSHOT'
  | 'TS_NATS_MISSING'
  | 'TS_NATS'
  | 'TS_POOL'
  | 'TS_SESSION';

export class TunnelscopeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(escapeText(clipText(message, MAX_MESSAGE)), options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * A value for an error message about a wrong argument: numbers, booleans, null and undefined as they are, anything
 * else by its type ("a string", "Uint16Array", "Array"), never its contents. Never throws (a revoked proxy, a
 * throwing getter).
 */
export function describeValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (typeof v !== 'object' && typeof v !== 'function') return `a ${typeof v}`;
  try {
    return Object.prototype.toString.call(v).slice(8, -1);
  } catch {
    return 'an object';
  }
}

/**
 * A numeric argument: `value`, or `dflt` when it is undefined or null (no `dflt`: the value is required), checked
 * to be a finite number (an integer when `integer`) in [min, max]. The maximum is required: an option without one
 * took 1e308 (a timer that fires at once, a table that never expires, an allocation that fails inside).
 * @throws InvalidArgumentError naming the argument and what it got
 */
export function numberOption(name: string, value: unknown, dflt: number | undefined, min: number, max: number, integer = false): number {
  const x = value ?? dflt;
  if (typeof x !== 'number' || !Number.isFinite(x) || x < min || x > max || (integer && !Number.isInteger(x))) {
    const range = `in [${min}, ${max}]`;
    throw new InvalidArgumentError(`${name} must be ${integer ? 'an integer' : 'a number'} ${range}, got ${describeValue(value === undefined ? x : value)}`);
  }
  return x;
}

/**
 * Longest delay a Node timer keeps (2^31 - 1 ms, ~24.8 days). A longer one is run after 1 ms instead (with only a
 * warning), so an option that becomes a timer's delay is refused above it, and a delay computed from options is
 * clamped to it.
 */
export const MAX_DELAY_MS = 2_147_483_647;

/**
 * Longest capture-time duration an option takes, in seconds (one year): an idle timeout or linger beyond it means
 * flows never end (a table that only grows), not a setting. The CLI's duration flags take the same bound.
 */
export const MAX_DURATION_SEC = 365 * 24 * 3600;

/**
 * An options argument must be a plain object: a wrong one (an array included, whose elements would be ignored) is
 * named, not read as defaults or failing inside.
 */
export function checkOptions(where: string, options: unknown): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new InvalidArgumentError(`${where}: options must be an object, got ${describeValue(options)}`);
}

/**
 * A public door's options object names only options it knows: a misspelt one (`registred`) would otherwise be left
 * out in silence, and a list left out changes verdicts.
 */
export function checkKnownOptions(where: string, options: object, known: readonly string[]): void {
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw new InvalidArgumentError(`${where}: unknown option ${quoteText(k, 64)} (expected ${known.join(', ')})`);
  }
}

/**
 * A classifier handed to a door that drives it (the socket adapters, a job worker) must be one: checked at the call,
 * by the method the door will call, so a wrong value fails there with its name rather than on the first packet.
 */
export function checkClassifier(where: string, name: string, value: unknown, method: 'session' | 'classifyFlow'): void {
  if (value === null || typeof value !== 'object' || typeof (value as Record<string, unknown>)[method] !== 'function') {
    throw new InvalidArgumentError(`${where}: ${name} must be a Classifier (createClassifier), got ${describeValue(value)}`);
  }
}

/** Bad argument at a public door (wrong type, out of range option). */
export class InvalidArgumentError extends TunnelscopeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TS_INVALID_ARG', message, options);
  }
}

/** A CIDR/IP text that cannot be accepted. `input` is the offending text. */
export class CidrError extends TunnelscopeError {
  readonly input: string;
  constructor(
    code: 'TS_INVALID_IP' | 'TS_INVALID_CIDR' | 'TS_PREFIX_LENGTH' | 'TS_HOST_BITS' | 'TS_DUPLICATE_PREFIX',
    input: string,
    detail: string,
  ) {
    super(code, `${detail}: ${quoteText(input, 100)}`);
    this.input = input;
  }
}

/** One bad line in a list file: the whole load fails with `source:line: reason`. */
export class ListParseError extends TunnelscopeError {
  readonly source: string;
  readonly line: number;
  readonly detail: string;
  constructor(source: string, line: number, detail: string, options?: { cause?: unknown }) {
    super('TS_LIST_PARSE', `${clipText(source, MAX_SOURCE)}:${line}: ${clipText(detail, MAX_DETAIL)}`, options);
    this.source = source;
    this.line = line;
    this.detail = detail;
  }
}

/** A list file that cannot be read at all (missing, permission, not text). */
export class ListReadError extends TunnelscopeError {
  readonly source: string;
  constructor(source: string, detail: string, options?: { cause?: unknown }) {
    super('TS_LIST_READ', `${clipText(source, MAX_SOURCE)}: ${clipText(detail, MAX_DETAIL)}`, options);
    this.source = source;
  }
}

/**
 * A capture that cannot be read further: bad magic, truncated header, impossible block length.
 * `offset` is the byte offset in the input where the problem starts.
 */
export class TraceFormatError extends TunnelscopeError {
  readonly offset: number;
  readonly source: string;
  /** What is wrong at `offset`, without the location. */
  readonly detail: string;
  constructor(source: string, offset: number, detail: string, options?: { cause?: unknown }) {
    super('TS_CAPTURE_FORMAT', `${clipText(source, MAX_SOURCE)}: at byte ${offset}: ${clipText(detail, MAX_DETAIL)}`, options);
    this.offset = offset;
    this.source = source;
    this.detail = detail;
  }
}

/** A flow record that cannot be read (NDJSON line not JSON, or not a record): `source:line: detail`. */
export class RecordParseError extends TunnelscopeError {
  readonly source: string;
  readonly line: number;
  readonly detail: string;
  constructor(source: string, line: number, detail: string, options?: { cause?: unknown }) {
    super('TS_RECORD_PARSE', `${clipText(source, MAX_SOURCE)}:${line}: ${clipText(detail, MAX_DETAIL)}`, options);
    this.source = source;
    this.line = line;
    this.detail = detail;
  }
}

/**
 * Why a worker pool cannot do what was asked: `closed` (after `close()`), `ended` (a live call after `end()` and before
 * it resolved, or `end()` twice), `worker-exit` (a worker thread stopped: terminated from outside, `process.exit` in
 * it), `worker-error` (a worker thread failed: an uncaught exception, its memory limit; or a file run threw in a
 * worker, which rejects that run only). After a worker thread's failure the pool is unusable and every call rejects
 * with that same error; `close()` still releases the other workers.
 */
export type PoolErrorReason = 'closed' | 'ended' | 'worker-exit' | 'worker-error';

/** The worker pool cannot serve the call (`reason`; `worker`: the thread's index for a worker's failure). */
export class PoolError extends TunnelscopeError {
  readonly reason: PoolErrorReason;
  readonly worker: number | null;
  constructor(reason: PoolErrorReason, message: string, worker: number | null = null, options?: { cause?: unknown }) {
    super('TS_POOL', message, options);
    this.reason = reason;
    this.worker = worker;
  }
}

/**
 * Why a streaming session cannot take the call: `ended` (after `end()`), `reentrant` (a frame, clock move or foreign
 * frame given from a handler of the session's own events, while the session is inside the call that emitted it:
 * the frame being processed is half-accounted, so one given then would be accounted against the wrong state).
 */
export type SessionErrorReason = 'ended' | 'reentrant';

/** A streaming session cannot serve the call (`reason`). */
export class SessionError extends TunnelscopeError {
  readonly reason: SessionErrorReason;
  constructor(reason: SessionErrorReason, message: string) {
    super('TS_SESSION', message);
    this.reason = reason;
  }
}

/**
 * Why an input file cannot be read, in the words every subcommand prints after `cannot read <file>: `, for the
 * file-system errors that mean "bad input" (exit 2); null for any other error.
 */
export function cannotReadReason(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOENT'
    ? 'no such file'
    : code === 'EACCES' || code === 'EPERM'
      ? 'permission denied'
      : code === 'EISDIR'
        ? 'is a directory'
        : code === 'ENOTDIR'
          ? 'not a directory'
          : code === 'ELOOP'
            ? 'too many symbolic links'
            : code === 'ENAMETOOLONG'
              ? 'name too long'
              : null;
}
