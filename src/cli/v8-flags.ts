/**
 * V8 flags the bin sets for itself before it loads the CLI (and only the bin: the `tunnelscope/cli` door and the
 * library never touch the process's V8).
 *
 * `--max-inlined-bytecode-size=100` (V8's default 460): TurboFan still inlines small functions (byte readers,
 * getters, hashes) but not large ones into their callers. A fresh classify of the merged corpus trace then does
 * the same main-thread work (callgrind: 1,298-1,312 M instructions against 1,285-1,298 M) with 17 % less work in
 * all (2,663-2,827 M against 3,295-3,350 M: the background compiler's), and on a 2-vCPU host whose second vCPU is
 * shared that is wall time: 0.651 s best / 0.680 s median against 0.726 / 0.777 s, alternating. Warm, in one
 * process, later passes over the same trace take the same time (68-80 ms), and a 500k-packet synthetic trace the
 * same wall (2.27 s against 2.34 s best). `--no-turbo-inlining` gained more cold wall (0.60 s) but cost 20 % warm.
 */
export const BIN_V8_FLAGS: readonly string[] = ['--max-inlined-bytecode-size=100'];

/** The flags to set: those the user did not set already (on the command line or in NODE_OPTIONS). */
export function v8FlagsToSet(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = ` ${execArgv.join(' ')} ${nodeOptions ?? ''} `.replace(/_/g, '-');
  return BIN_V8_FLAGS.filter((f) => {
    const name = f.slice(0, f.indexOf('='));
    return !given.includes(` ${name}=`) && !given.includes(` ${name} `);
  });
}
