/** Subcommand dispatch; each subcommand lives in its own file and returns an exit code. */
import { readFileSync } from 'node:fs';

export const USAGE = `usage: tunnelscope <command> [options]

commands:
  classify <capture|->   label every flow as registered_vpn / unregistered_vpn / ordinary
  flows <capture|->      list flows (5-tuple, counters) without classification
  synth --out FILE       write a deterministic synthetic capture with truth and registration list

Run 'tunnelscope <command> --help' for the command's options.
`;

/** Each subcommand module exports `run(argv): Promise<number>` (the exit code). */
type Sub = { run(argv: string[]): Promise<number> };

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  let sub: Sub;
  switch (cmd) {
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    case '--version':
    case '-v': {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`${pkg.version}\n`);
      return 0;
    }
    case 'flows':
      sub = await import('./flows.js');
      break;
    case 'classify':
      sub = await import('./classify.js');
      break;
    case 'synth':
      sub = await import('./synth.js');
      break;
    default:
      process.stderr.write(`tunnelscope: unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
      return 2;
  }
  return sub.run(rest);
}
