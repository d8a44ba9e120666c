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
import { reportCommand } from './report.js';

export type { CliIo } from './io.js';
export { buildProgram, packageVersion, type CliContext, type Subcommand } from './program.js';

/** Every subcommand, in the order `tunnelscope --help` lists them. */
export const SUBCOMMANDS: readonly Subcommand[] = [classifyCommand, flowsCommand, synthCommand, reportCommand];

/**
 * Run one command line (without the program name). Exit codes: 0 success (and `--help`, `-V`), 2 bad usage or
 * bad input (one line on stderr naming the problem), 1 an unexpected failure.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const ctx: CliContext = { io, exitCode: 0 };
  const program = buildProgram(ctx, SUBCOMMANDS);
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
