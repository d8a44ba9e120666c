/**
 * Typed errors. The stable API is the `code` string; messages may change.
 * Every error that concerns a location (a list line, a capture byte offset) carries it both in the
 * message and in fields, so a caller can report it without parsing text.
 */

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
  | 'TS_BAD_BUFFER';

export class TunnelscopeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
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
    super(code, `${detail}: ${JSON.stringify(input)}`);
    this.input = input;
  }
}

/** One bad line in a list file: the whole load fails with `source:line: reason`. */
export class ListParseError extends TunnelscopeError {
  readonly source: string;
  readonly line: number;
  readonly detail: string;
  constructor(source: string, line: number, detail: string, options?: { cause?: unknown }) {
    super('TS_LIST_PARSE', `${source}:${line}: ${detail}`, options);
    this.source = source;
    this.line = line;
    this.detail = detail;
  }
}

/** A list file that cannot be read at all (missing, permission, not text). */
export class ListReadError extends TunnelscopeError {
  readonly source: string;
  constructor(source: string, detail: string, options?: { cause?: unknown }) {
    super('TS_LIST_READ', `${source}: ${detail}`, options);
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
    super('TS_CAPTURE_FORMAT', `${source}: at byte ${offset}: ${detail}`, options);
    this.offset = offset;
    this.source = source;
    this.detail = detail;
  }
}
