/**
 * Validators for option values, shared by subcommands. Parsing itself is commander's (program.ts); what it hands
 * over is text, checked here into numbers and choices. Every failure is a {@link UsageError}: exit code 2, one
 * line naming the option, never a stack trace.
 */
import { cannotReadReason, MAX_DELAY_MS, MAX_DURATION_SEC } from '../errors.js';
import { safeText } from '../text.js';

/** A bad command line: unknown flag, missing/extra operand, bad flag value. The CLI exits with code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Bounds every numeric flag takes its `max` from. `max` is required: an unbounded flag accepted `1e308`, and a
 * time that large means flows never time out (a flow table that only grows) or a timer Node fires at once.
 */
/** Capture-time durations in seconds (idle timeouts, linger, windows): one year of capture time. */
export const MAX_CAPTURE_SECONDS = MAX_DURATION_SEC;
/** Wall-clock waits in seconds that become a timer: the longest delay a Node timer holds (about 24.8 days). */
export const MAX_TIMER_SECONDS = Math.floor(MAX_DELAY_MS / 1000);
/** Counts of jobs or deliveries: a signed 32-bit integer, as NATS JetStream takes max_deliver. */
export const MAX_COUNT = 2 ** 31 - 1;

/**
 * A numeric flag value: finite, within [min, max], integer when asked. Undefined passes through.
 * @throws {UsageError}
 */
export function numberFlag(
  flag: string,
  text: string | undefined,
  opts: { min?: number; max: number; integer?: boolean },
): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  const x = t === '' ? NaN : Number(t);
  const min = opts.min ?? -Infinity, max = opts.max ?? Infinity;
  if (!Number.isFinite(x) || x < min || x > max || (opts.integer === true && !Number.isInteger(x))) {
    const kind = opts.integer === true ? 'an integer' : 'a number';
    const range = Number.isFinite(min) && Number.isFinite(max) ? ` in [${min}, ${max}]` : Number.isFinite(min) ? ` >= ${min}` : '';
    throw new UsageError(`--${flag} must be ${kind}${range}, got ${JSON.stringify(text)}`);
  }
  return x;
}

/** A comma-separated list of numbers, each checked as {@link numberFlag} does. */
export function numberListFlag(flag: string, text: string | undefined, opts: { min?: number; max: number; integer?: boolean }): number[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((p) => numberFlag(flag, p.trim(), opts)!);
}

/**
 * Value sets of enumerated flags that are not output-format registries, shared by the flag's check and the shell
 * completion so the two cannot disagree.
 */
export const EMIT_VALUES = ['records', 'verdicts', 'both'] as const;
export const FLEET_STATS_FORMATS = ['table', 'json', 'ndjson'] as const;
export const FLEET_SUBMIT_FORMATS = ['ndjson'] as const;

/**
 * An enumerated flag value; `fallback` when absent.
 * @throws {UsageError}
 */
export function choiceFlag<C extends string>(flag: string, text: string | undefined, choices: readonly C[], fallback: C): C {
  if (text === undefined) return fallback;
  if ((choices as readonly string[]).includes(text)) return text as C;
  throw new UsageError(`--${flag} must be one of ${choices.join(', ')}; got ${JSON.stringify(text)}`);
}

// Moved to errors.ts (the fleet worker, a library, says the same of a piece it cannot open); kept here for the CLI.
export { cannotReadReason };

/** What a directory walk could not examine (findCaptures' `unreadable`), one line each, as an unreadable capture is reported. */
export function writeUnreadable(stderr: NodeJS.WritableStream, command: string, unreadable: readonly { path: string; error: Error }[]): void {
  for (const u of unreadable) stderr.write(`tunnelscope ${command}: cannot read ${safeText(u.path, 256)}: ${cannotReadReason(u.error) ?? safeText(u.error.message)}\n`);
}

/** Why a file could not be written, in a few words, or null for an error that is not the file system's refusal. */
export function cannotWriteReason(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    cannotReadReason(err) ??
    (code === 'ENOSPC'
      ? 'no space left on the device'
      : code === 'EDQUOT'
        ? 'disk quota exceeded'
        : code === 'EROFS'
          ? 'read-only file system'
          : code === 'EFBIG'
            ? 'file too large'
            : code === 'EIO'
              ? 'input/output error'
              : code === 'EEXIST'
                ? 'exists'
                : code === 'ENXIO'
                  ? 'no such device or address (a socket cannot be opened as a file)'
                  : null)
  );
}

/** The trace-layer flags `classify` and `flows` share: TCP linger and IP reassembly limits (FlowTableOptions). */
export function traceFlags(opts: { tcpLinger?: string; reassemblyTimeout?: string; maxReassemblies?: string; reassemblyMaxBytes?: string; maxLongInspections?: string }): {
  tcpLingerSec?: number;
  reassemblyTimeoutSec?: number;
  maxReassemblies?: number;
  reassemblyMaxBytes?: number;
  maxLongCapturingFlows?: number;
} {
  const linger = numberFlag('tcp-linger', opts.tcpLinger, { min: 0, max: MAX_CAPTURE_SECONDS });
  const timeout = numberFlag('reassembly-timeout', opts.reassemblyTimeout, { min: 0, max: MAX_CAPTURE_SECONDS });
  const max = numberFlag('max-reassemblies', opts.maxReassemblies, { min: 0, max: 1 << 20, integer: true });
  const bytes = numberFlag('reassembly-max-bytes', opts.reassemblyMaxBytes, { min: 131072, max: 1 << 30, integer: true });
  const long = numberFlag('max-long-inspections', opts.maxLongInspections, { min: 0, max: 1 << 24, integer: true });
  return {
    ...(long !== undefined ? { maxLongCapturingFlows: long } : {}),
    ...(linger !== undefined ? { tcpLingerSec: linger } : {}),
    ...(timeout !== undefined ? { reassemblyTimeoutSec: timeout } : {}),
    ...(max !== undefined ? { maxReassemblies: max } : {}),
    ...(bytes !== undefined ? { reassemblyMaxBytes: bytes } : {}),
  };
}
