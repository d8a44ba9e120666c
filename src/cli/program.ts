/**
 * The command line as one commander program: global `-V/--version`, `-h/--help`, `help <command>`, and one
 * module per subcommand (SUBCOMMANDS). commander parses (unknown flags, missing operands, negative numbers as
 * option values: `--idle-timeout -5` reaches the validator and is refused there with a reason); the modules
 * validate values and run. Nothing here writes to the real process streams: everything goes through the
 * context's `io`, so tests and embedders can run the CLI in-process.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, type Help } from 'commander';
import { safeText } from '../text.js';
import { UsageError } from './args.js';
import { OutputWriteError } from './output.js';
import type { CliIo } from './io.js';

/** Shared by every subcommand of one run. */
export interface CliContext {
  io: CliIo;
  /** The exit code the action chose (0 unless it says otherwise). */
  exitCode: number;
}

/** A subcommand module: adds its command (options, help, action) to the program. */
export interface Subcommand {
  readonly name: string;
  define(program: Command, ctx: CliContext): Command;
}

/** The package version, from package.json beside dist/ (or the repo root when run from src/). */
export function packageVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tunnelscope' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      /* try the next place */
    }
  }
  return '0.0.0';
}

/** The hint printed under a usage error. */
export const helpHint = (name: string): string => `(run 'tunnelscope ${name === '' ? '' : `${name} `}--help' for the options)`;

/** Print a usage error the house way: `tunnelscope <cmd>: <message>` and the help hint, on stderr; exit 2. */
export function reportUsage(io: CliIo, name: string, message: string): number {
  io.stderr.write(`tunnelscope${name === '' ? '' : ` ${name}`}: ${safeText(message, 1024)}\n${helpHint(name)}\n`);
  return 2;
}

/**
 * A subcommand with the house conventions: commander's errors re-worded as `tunnelscope <cmd>: …` (exit 2),
 * `-h/--help`, no excess operands, and an action wrapper that turns a {@link UsageError} into exit code 2 and
 * stores the action's exit code in the context.
 */
export function subcommand(program: Command, ctx: CliContext, name: string, summary: string): Command {
  const cmd = program.command(name).description(summary).allowExcessArguments(false);
  cmd.configureOutput({
    writeOut: (s) => ctx.io.stdout.write(s),
    writeErr: (s) => ctx.io.stderr.write(s),
    outputError: (s, write) => write(`tunnelscope ${name}: ${safeText(s.replace(/^error: /, '').trimEnd(), 1024)}\n${helpHint(name)}\n`),
  });
  return cmd;
}

/**
 * What to say of an error that is a service's refusal, not a fault of ours (exit 1 is for those): the NATS
 * client's JetStream and permission errors, by the names its classes give them (this module loads no NATS code).
 * Null for anything else.
 */
export function serviceRefusal(e: unknown): string | null {
  if (!(e instanceof Error)) return null;
  if (e.name === 'JetStreamNotEnabled') return `NATS server has no JetStream (start nats-server with -js, or enable jetstream in its configuration): ${e.message}`;
  if (/^JetStream\w*Error$|^PermissionViolationError$|^NoRespondersError$|^AuthorizationError$/.test(e.name)) return `NATS: ${e.message}`;
  return null;
}

/** Wrap an action: its resolved number is the exit code; a UsageError is reported and exits 2, a service's refusal too. */
export function action<A extends unknown[]>(ctx: CliContext, name: string, fn: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      ctx.exitCode = await fn(...args);
    } catch (e) {
      if (e instanceof UsageError) ctx.exitCode = reportUsage(ctx.io, name, e.message);
      else if (e instanceof OutputWriteError) {
        ctx.io.stderr.write(`tunnelscope ${name}: ${e.message}\n`);
        ctx.exitCode = 2;
      } else {
        const said = serviceRefusal(e);
        if (said === null) throw e;
        ctx.io.stderr.write(`tunnelscope ${name}: ${safeText(said, 1024)}\n`);
        ctx.exitCode = 2;
      }
    }
  };
}

/** Help layout: option terms wide enough for the longest flag, text wrapped to the terminal (or 120 columns). */
function helpConfig(io: CliIo): Partial<Help> {
  return { helpWidth: io.stdout.isTTY === true && io.stdout.columns ? Math.min(io.stdout.columns, 120) : 120, sortSubcommands: false };
}

export function buildProgram(ctx: CliContext, subcommands: readonly Subcommand[]): Command {
  const { io } = ctx;
  const program = new Command('tunnelscope')
    .description('Label network flows at a gateway as registered VPN, unregistered VPN or ordinary traffic, with evidence.')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .configureHelp(helpConfig(io))
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`tunnelscope: ${safeText(s.replace(/^error: /, '').trimEnd(), 1024)}\n${helpHint('')}\n`),
    });
  program.addHelpText('after', `\nRun 'tunnelscope help <command>' or 'tunnelscope <command> --help' for a command's options.\n`);
  for (const s of subcommands) s.define(program, ctx);
  return program;
}

/** Run one command line (without the program name) on a program with `subcommands` defined; resolves to the exit code. */
export async function runProgram(argv: readonly string[], io: CliIo, subcommands: readonly Subcommand[]): Promise<number> {
  const ctx: CliContext = { io, exitCode: 0 };
  const program = buildProgram(ctx, subcommands);
  if (argv.length === 0) {
    // Usage on stderr: stdout may be a pipe that expects records.
    io.stderr.write(program.helpInformation());
    return 2;
  }
  // `-v` was the version flag before commander; keep it working.
  let args = argv[0] === '-v' ? ['--version', ...argv.slice(1)] : [...argv];
  // `help fleet stats` is `fleet stats --help` (commander's help command reads only its first word), and
  // `help nosuch` names the problem as any usage error does (commander printed the whole usage, saying nothing).
  if (args[0] === 'help' && args.length > 1) {
    let cmd: Command = program;
    const path: string[] = [];
    for (const name of args.slice(1)) {
      const sub = cmd.commands.find((c) => c.name() === name && name !== 'help');
      if (sub === undefined) {
        const of = path.length > 0 ? ` of '${path.join(' ')}'` : '';
        io.stderr.write(`tunnelscope help: unknown command '${safeText(name, 64)}'${of}\n${helpHint(path.join(' '))}\n`);
        return 2;
      }
      cmd = sub;
      path.push(name);
    }
    args = [...path, '--help'];
  }
  try {
    await program.parseAsync(args, { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    // commander already printed its message (help, version, or a usage error through outputError).
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
}
