import { defineConfig } from 'tsup';

// One config with every entry: two configs that both clean dist/ race each other.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    node: 'src/node.ts',
    // The bin (side effects: runs the command line) and the side-effect-free `tunnelscope/cli` door.
    cli: 'src/cli/bin.ts',
    'cli-main': 'src/cli/main.ts',
    report: 'src/report/index.ts',
    worker: 'src/pool/worker.ts',
  },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts', node: 'src/node.ts', 'cli-main': 'src/cli/main.ts', report: 'src/report/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: true,
  // cidr-tools is ESM-only; bundling it keeps the CJS build working without require(esm).
  noExternal: ['cidr-tools'],
  // import.meta.url in the CJS build (data file paths, CLI version).
  shims: true,
});
