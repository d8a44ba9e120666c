import { chmodSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { Plugin } from 'esbuild';
import { build, defineConfig, type Options } from 'tsup';

import { WRAP_CLOSE, WRAP_OPEN } from './src/cli/code-cache.js';

// The optional peers stay outside every bundle: they are loaded only when asked for, and may be missing.
const OPTIONAL = ['prom-client', '@nats-io/jetstream', '@nats-io/obj', '@nats-io/transport-node'];

/**
 * The executable, built after the library (onSuccess below, so the library's clean cannot race it):
 * - dist/cli-app.cjs: the whole CLI (src/cli/main.ts and everything it imports, dependencies included) as ONE
 *   CommonJS file. A fresh process reads and compiles one file (through the bin's code cache) instead of having
 *   Node's ES-module loader resolve and link ~15 chunks; see src/cli/bin.ts and bench/RESULTS.md (2026-12-06).
 * - dist/cli.cjs: the bin (src/cli/bin.ts), which loads dist/cli-app.cjs.
 * - dist/cli.js: `node dist/cli.js` as before: an ES module that requires dist/cli.cjs.
 */
/**
 * commander requires node:child_process when it loads, for executable subcommands this CLI never declares; that
 * load also brings net and dgram into every fresh process (bench/RESULTS.md, stop 28). In the CLI bundle its
 * require gets a stand-in that loads the module at the first property read.
 */
const LAZY_CHILD_PROCESS: Plugin = {
  name: 'lazy-child-process',
  setup(b): void {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (a) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(a.importer) ? { path: 'child_process', namespace: 'lazy-builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_t, k) => process.getBuiltinModule('node:child_process')[k] });",
      loader: 'js',
    }));
  },
};

const BIN: Options[] = [
  {
    entry: { 'cli-app': 'src/cli/main.ts' },
    format: ['cjs'],
    target: 'node20',
    platform: 'node',
    splitting: false,
    // Whitespace and comments dropped (names kept): one-byte ASCII text V8 reads as it is (comments with '→' or '≤'
    // made it a two-byte string), 0.65 MB instead of 0.97 MB. The bin prints an error's message, not its stack; no
    // map (it would add 2 MB to the package).
    minifyWhitespace: true,
    sourcemap: false,
    // The file is the function node:vm compiles (code-cache.ts): no wrapper to concatenate at every start.
    banner: { js: WRAP_OPEN },
    footer: { js: WRAP_CLOSE },
    shims: true,
    noExternal: [/^(?!prom-client$|@nats-io\/).*/],
    external: OPTIONAL,
    // import() of the optional packages becomes require() (they are CommonJS packages; the split CJS build did
    // the same): a script compiled by node:vm, as the bin compiles this file, cannot import() on Node 20.
    esbuildOptions(o) {
      o.supported = { ...o.supported, 'dynamic-import': false };
    },
    esbuildPlugins: [LAZY_CHILD_PROCESS],
    // tsup's own node: plugin would resolve commander's `node:child_process` before the one above sees it.
    removeNodeProtocol: false,
  },
  { entry: { cli: 'src/cli/bin.ts' }, format: ['cjs'], target: 'node20', platform: 'node', splitting: false, sourcemap: true, external: ['./cli-app.cjs'] },
];

const ESM_BIN = `#!/usr/bin/env node
// \`node dist/cli.js\`: the bin is dist/cli.cjs (one CommonJS load path; see src/cli/bin.ts).
import { createRequire } from 'node:module';
createRequire(import.meta.url)('./cli.cjs');
`;

// One config with every library entry: two configs that both clean dist/ race each other.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    node: 'src/node.ts',
    nats: 'src/nats/index.ts',
    // The side-effect-free `tunnelscope/cli` door (the bin is built below).
    'cli-main': 'src/cli/main.ts',
    report: 'src/report/index.ts',
    worker: 'src/pool/worker.ts',
    metrics: 'src/metrics/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts', node: 'src/node.ts', nats: 'src/nats/index.ts', 'cli-main': 'src/cli/main.ts', report: 'src/report/index.ts', metrics: 'src/metrics/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: true,
  // cidr-tools is ESM-only; bundling it keeps the CJS build working without require(esm).
  noExternal: ['cidr-tools'],
  // import.meta.url in the CJS build (data file paths, CLI version).
  shims: true,
  async onSuccess() {
    for (const o of BIN) await build({ ...o, config: false, silent: true, clean: false, outDir: 'dist' });
    writeFileSync('dist/cli.js', ESM_BIN);
    chmodSync('dist/cli.js', 0o755);
    // The man page is generated from the built CLI's own help (scripts/gen-man.mjs).
    execFileSync(process.execPath, ['scripts/gen-man.mjs'], { stdio: 'inherit' });
  },
});
