/**
 * V8 flags the bin sets for itself (and only the bin: the `tunnelscope/cli` door and the library never touch the
 * process's V8).
 *
 * `--max-inlined-bytecode-size=100` (V8's default 460): TurboFan still inlines small functions (byte readers,
 * getters, hashes) but not large ones into their callers. A fresh classify of the merged corpus trace then does
 * the same main-thread work with 17 % less work in all threads (the background compiler's; callgrind 2,663-2,827 M
 * against 3,295-3,350 M), and on a 2-vCPU host whose second vCPU is shared that is wall time: 0.651 s best / 0.680 s
 * median against 0.726 / 0.777 s, alternating. Warm, in one process, later passes over the same trace take the same
 * time (68-80 ms), a 500k-packet synthetic trace the same wall. `--no-turbo-inlining` gained more cold wall (0.60 s)
 * but cost 20 % warm.
 *
 * When: after the CLI's module has loaded, and back to the default before the code cache is written. A flag set
 * at run time changes V8's flag hash, and code caches are checked against it: Node's own, embedded for its
 * built-in modules (the ones loaded after the change were compiled from source: +65 M instructions on a
 * `--version`), and ours (written under the changed hash, it would never match the next start's).
 */
export interface BinFlag {
  readonly name: string;
  readonly value: number;
  /** V8's default (Node 20 and 22), restored before the code cache is written. */
  readonly v8Default: number;
}

export const BIN_V8_FLAGS: readonly BinFlag[] = [{ name: '--max-inlined-bytecode-size', value: 100, v8Default: 460 }];

/** The flags to set: those the user did not set already (on the command line or in NODE_OPTIONS). */
export function v8FlagsToSet(execArgv: readonly string[], nodeOptions: string | undefined): BinFlag[] {
  const given = ` ${execArgv.join(' ')} ${nodeOptions ?? ''} `.replace(/_/g, '-');
  return BIN_V8_FLAGS.filter((f) => !given.includes(` ${f.name}=`) && !given.includes(` ${f.name} `));
}
