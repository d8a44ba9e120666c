/** Subcommand dispatch; each subcommand lives in its own file and returns an exit code. */
import { readFileSync } from 'node:fs';

export const USAGE = `usage: tunnelscope <command> [options]

commands:
  classify <capture|->   label every flow as registered_vpn / unregistered_vpn / ordinary
  flows <capture|->      list flows (5-tuple, counters) without classification
  synth --out FILE       write a deterministic synthetic capture with truth and registration list

Run 'tunnelscope <command> --help' for the command's options.
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
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
    default:
      process.stderr.write(`tunnelscope: unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
      void rest;
      return 2;
  }
}
