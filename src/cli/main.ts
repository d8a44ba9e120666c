/**
 * The CLI as a function: `main(argv, io)` runs one command line and resolves to its exit code. Importing this
 * module (the `tunnelscope/cli` door) runs nothing; the `tunnelscope` bin is bin.ts.
 */
import { CommanderError } from 'commander';
import { processIo, type CliIo } from './io.js';
import { buildProgram, type CliContext, type Subcommand } from './program.js';
import { classifyCommand } from './classify.js';
import { flowsCommand } from './flows.js';
import { synthCommand } from './synth.js';
import { fleetCommand, listsCommand } from './fleet.js';
import { completionCommand } from './completion.js';
import { reportCommand } from './report.js';

export type { CliIo } from './io.js';
export { buildProgram, packageVersion, type CliContext, type Subcommand } from './program.js';
export { bashCompletion } from './completion.js';
export { manPage, type ManOptions } from './manpage.js';

/** Every subcommand, in the order `tunnelscope --help` lists them. */
export const SUBCOMMANDS: readonly Subcommand[] = [classifyCommand, flowsCommand, synthCommand, reportCommand, completionCommand, listsCommand, fleetCommand];

/**
 * Run one command line (without the program name). Exit codes: 0 success (and `--help`, `-V`), 2 bad usage or
 * bad input (one line on stderr naming the problem), 1 an unexpected failure.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const ctx: CliContext = { io, exitCode: 0 };
  // A command line that names a subcommand needs only that one: commander parses, validates and prints help for a
  // subcommand without its siblings. Defining all seven (~150 options) cost a fresh process 10-30 ms of cold
  // commander code. Anything else (no command, help, -V, an unknown or misspelt command) gets the whole program,
  // and so does `completion`, whose script lists every command.
  const named = SUBCOMMANDS.find((s) => s.name === argv[0] && s !== completionCommand);
  const program = buildProgram(ctx, named === undefined ? SUBCOMMANDS : [named]);
  if (argv.length === 0) {
    // Usage on stderr: stdout may be a pipe that expects records.
    io.stderr.write(program.helpInformation());
    return 2;
  }
  // `-v` was the version flag before commander; keep it working.
  const args = argv[0] === '-v' ? ['--version', ...argv.slice(1)] : [...argv];
  try {
    await program.parseAsync(args, { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    // commander already printed its message (help, version, or a usage error through outputError).
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
}
