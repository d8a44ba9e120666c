#!/usr/bin/env node
/**
 * The `tunnelscope` executable: the only CLI module with side effects. Built as CommonJS only (dist/cli.cjs, the
 * package's bin; dist/cli.js is a small ES module that requires it).
 *
 * A fresh process's start-up is most of what a short run costs, so the CLI is one CommonJS file
 * (dist/cli-app.cjs: src/cli/main.ts with everything it imports, commander included) loaded through a V8 code
 * cache (code-cache.ts). Measured on Node 20 against the split ES-module build it replaced: Node's ESM loader
 * resolves, reads and links ~15 chunk files asynchronously (~0.1 s of a --version), where one CommonJS file is
 * read and compiled in one step.
 */
import module from 'node:module';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { safeText } from '../text.js';
import { requireWithCodeCache } from './code-cache.js';
import { v8FlagsToSet } from './v8-flags.js';

// Node >= 22.1: V8's compiled code of the modules loaded the usual way (the pool's worker, optional packages)
// is kept in the OS temp dir. The bundle itself goes through our own cache, on Node 20 too.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

// A reader that goes away (`tunnelscope help | head`) is not an error: output stops, the exit code stands.
// Record output handles this itself (OutputSink); this covers help, version and other direct writes.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});
// Nor is one that stops reading diagnostics (`2>&1 | head -1`): they are lost, the run and its exit code stand.
process.stderr.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

const argv = process.argv.slice(2);

function fail(err: unknown): void {
  process.stderr.write(`tunnelscope: ${safeText(err instanceof Error ? err.message : String(err), 2048)}\n`);
  process.exitCode = 1;
}

try {
  const flags = v8FlagsToSet(process.execArgv, process.env.NODE_OPTIONS);
  // Registered before the code cache's writer, so it runs first (v8-flags.ts: why the defaults come back).
  if (flags.length > 0) process.once('exit', () => flags.forEach((f) => setFlagsFromString(`${f.name}=${f.v8Default}`)));
  const app = join(__dirname, 'cli-app.cjs');
  const { main } = requireWithCodeCache(app, module.createRequire(app), { argv }) as typeof import('./main.js');
  // The CLI and the built-ins it imports are loaded: from here on TurboFan compiles our hot code.
  for (const f of flags) setFlagsFromString(`${f.name}=${f.value}`);
  main(argv).then((code) => {
    process.exitCode = code;
  }, fail);
} catch (e) {
  fail(e);
}
