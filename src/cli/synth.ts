/** `tunnelscope synth` — not yet implemented (work in progress). */
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('tunnelscope synth: not implemented yet\n');
  return 1;
}
