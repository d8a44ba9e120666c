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
 * A later tier-up (V8 11, Node 20: `--interrupt-budget` 2x its 67584; V8 12, Node 22: `--invocation-count-for-turbofan`
 * 4x its 3000): a function must run longer before TurboFan compiles it. A short run then stops paying for optimised
 * code it barely uses (functions hot for a few thousand packets, re-optimised after a deopt), and runs it in baseline
 * code instead. Fresh classify of the merged corpus trace, alternating with ndpiReader at load ~1.3: Node 20 best
 * 352-378 ms against 400-436 ms; Node 22 347-379 ms against 394-416 ms. Lower budgets were slower (16896: 492-587 ms),
 * `--no-opt` too (431-523 ms); a 1M-packet synthetic trace takes the same time (best 1.75 s against 1.78 s). These
 * tiering flags exist in one V8 line each (an unknown flag makes V8 print an error), so each is set only there.
 *
 * When: after the CLI's module has loaded, and back to the default before the code cache is written. A flag set
 * at run time changes V8's flag hash, and code caches are checked against it: Node's own, embedded for its
 * built-in modules (the ones loaded after the change were compiled from source: +65 M instructions on a
 * `--version`), and ours (written under the changed hash, it would never match the next start's).
 */
export interface BinFlag {
  readonly name: string;
  readonly value: number;
  /** V8's default, restored before the code cache is written. */
  readonly v8Default: number;
  /** Set only under this V8 major version (the flag, or its default, is that line's); absent: any version. */
  readonly v8Major?: number;
}

export const BIN_V8_FLAGS: readonly BinFlag[] = [
  { name: '--max-inlined-bytecode-size', value: 100, v8Default: 460 },
  { name: '--interrupt-budget', value: 135_168, v8Default: 67_584, v8Major: 11 },
  { name: '--invocation-count-for-turbofan', value: 12_000, v8Default: 3_000, v8Major: 12 },
];

/**
 * The flags to set: those of this V8 line (`v8Version` as in `process.versions.v8`) that the user did not set
 * already (on the command line or in NODE_OPTIONS).
 */
export function v8FlagsToSet(execArgv: readonly string[], nodeOptions: string | undefined, v8Version: string = process.versions.v8): BinFlag[] {
  const given = ` ${execArgv.join(' ')} ${nodeOptions ?? ''} `.replace(/_/g, '-');
  const major = Number.parseInt(v8Version, 10);
  return BIN_V8_FLAGS.filter((f) => (f.v8Major === undefined || f.v8Major === major) && !given.includes(` ${f.name}=`) && !given.includes(` ${f.name} `));
}
