/**
 * Shared argument handling for subcommands: a `node:util` parseArgs wrapper whose failures are
 * {@link UsageError}s (exit code 2, one line plus the usage line on stderr, never a stack trace), and small
 * validators for numeric and enumerated flags.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad command line: unknown flag, missing/extra operand, bad flag value. The CLI exits with code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs<O extends Options> {
  values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values'];
  positionals: string[];
}

/**
 * Parse `argv` strictly (unknown flags and missing values are usage errors). Positionals are checked against
 * `min`/`max`. A lone `-` is a positional (stdin).
 * @throws {UsageError}
 */
export function parseCli<O extends Options>(argv: string[], options: O, positionals: { min: number; max: number; name?: string }): ParsedArgs<O> {
  let parsed: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs messages are one line and name the flag ("Unknown option '--x'").
    const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    throw new UsageError(msg.replace(/\. To specify a positional argument.*$/, ''));
  }
  const name = positionals.name ?? 'operand';
  if (parsed.positionals.length < positionals.min) throw new UsageError(`missing ${name}`);
  if (parsed.positionals.length > positionals.max) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[positionals.max])}`);
  }
  return parsed as ParsedArgs<O>;
}

/**
 * A numeric flag value: finite, within [min, max], integer when asked. Undefined passes through.
 * @throws {UsageError}
 */
export function numberFlag(
  flag: string,
  text: string | undefined,
  opts: { min?: number; max?: number; integer?: boolean } = {},
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

/**
 * An enumerated flag value; `fallback` when absent.
 * @throws {UsageError}
 */
export function choiceFlag<C extends string>(flag: string, text: string | undefined, choices: readonly C[], fallback: C): C {
  if (text === undefined) return fallback;
  if ((choices as readonly string[]).includes(text)) return text as C;
  throw new UsageError(`--${flag} must be one of ${choices.join(', ')}; got ${JSON.stringify(text)}`);
}

/** Print a usage error as `tunnelscope <cmd>: <message>` plus the usage line; returns exit code 2. */
export function reportUsage(stderr: NodeJS.WritableStream, cmd: string, err: UsageError, usage: string): number {
  stderr.write(`tunnelscope ${cmd}: ${err.message}\n${usage.trimEnd()}\n`);
  return 2;
}

/**
 * Why an input file cannot be read, in the words both subcommands print after `cannot read <file>: `, for the
 * file-system errors that mean "bad input" (exit 2); null for any other error.
 */
export function cannotReadReason(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : code === 'ENOTDIR' ? 'not a directory' : null;
}
