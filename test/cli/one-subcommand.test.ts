/**
 * main() defines only the subcommand a command line names (start-up cost, bench/RESULTS.md 2026-12-06). Whatever
 * the command line, the result — exit code, stdout, stderr — is what the whole program gives.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main, SUBCOMMANDS } from '../../src/cli/main.js';
import { runProgram } from '../../src/cli/program.js';
import { Sink } from '../helpers/sink.js';

const SAMPLE = join(import.meta.dirname, '..', '..', 'fixtures', 'sample.pcap');

type Io = { stdout: Sink; stderr: Sink; stdin: NodeJS.ReadableStream };
const io = (): Io => ({ stdout: Object.assign(new Sink(), { columns: 100 }), stderr: new Sink(), stdin: process.stdin });

/** main() as it was: every subcommand defined for every command line. */
const wholeProgram = (argv: string[], o: Io): Promise<number> => runProgram(argv, o, SUBCOMMANDS);

const run = async (f: (a: string[], o: Io) => Promise<number>, argv: string[]) => {
  const o = io();
  const code = await f(argv, o);
  return { code, out: o.stdout.text, err: o.stderr.text };
};

describe('main defines only the subcommand it runs', () => {
  const lines: string[][] = [[], ['help'], ['--help'], ['-V'], ['-v'], ['nope'], ['clasify', SAMPLE], ['help', 'fleet'], ['help', 'nope']];
  for (const s of SUBCOMMANDS) {
    lines.push([s.name, '--help'], [s.name, '--no-such-flag'], [s.name, 'a', 'b', 'c', 'd', '--format', 'nope'], ['help', s.name], [s.name]);
  }
  lines.push(
    ['classify', SAMPLE, '--format', 'ndjson', '-q'],
    ['classify', SAMPLE, '--idle-timeout', '-5'],
    ['classify', SAMPLE, '--fromat', 'ndjson'],
    ['flows', SAMPLE, '-q', '--format', 'ndjson'],
    ['fleet', 'submit', '--help'],
    ['fleet', 'nope'],
    ['lists', 'publish', '--help'],
    ['lists', '--help'],
    ['completion', 'bash'],
    ['completion', 'zsh'],
    ['synth', '--packets', 'x'],
    ['report', '--help'],
  );
  it.each(lines.map((l) => [l.join(' ') || '(none)', l]))('%s', async (_, argv) => {
    const a = await run(main, argv as string[]);
    const b = await run(wholeProgram, argv as string[]);
    expect(a).toEqual(b);
  });
});
