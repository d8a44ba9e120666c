/**
 * The CLI as a function: `main(argv, io)` runs one command line and resolves to its exit code. Importing this
 * module (the `tunnelscope/cli` door) runs nothing; the `tunnelscope` bin is bin.ts.
 */
import { processIo, type CliIo } from './io.js';
import { runProgram, type Subcommand } from './program.js';
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
  // A command line that names a subcommand needs only that one: commander parses, validates and prints help for a
  // subcommand without its siblings. Defining all seven (~150 options) cost a fresh process 10-30 ms of cold
  // commander code. Anything else (no command, help, -V, an unknown or misspelt command) gets the whole program,
  // and so does `completion`, whose script lists every command.
  const named = SUBCOMMANDS.find((s) => s.name === argv[0] && s !== completionCommand);
  return runProgram(argv, io, named === undefined ? SUBCOMMANDS : [named]);
}
