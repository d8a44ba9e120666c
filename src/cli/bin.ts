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
import { cannotWriteReason } from './args.js';
import { CACHED_COMMANDS, requireWithCodeCache } from './code-cache.js';
import { v8FlagsToSet } from './v8-flags.js';

// Node >= 22.1: V8's compiled code of the modules loaded the usual way (the pool's worker, optional packages)
// is kept in the OS temp dir. The bundle itself goes through our own cache, on Node 20 too.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const argv = process.argv.slice(2);

// A reader that goes away (`tunnelscope help | head`) is not an error: output stops, the exit code stands. Any
// other write error (a full disk, EIO) is said in one line and exits 2, as record output's is (OutputSink, which
// reports its own: it listens too); this covers help, version, completion and other direct writes.
let outputFailed = false;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE' || process.stdout.listenerCount('error') > 1) return;
  if (!outputFailed) {
    const cmd = CACHED_COMMANDS.has(argv[0] ?? '') ? ` ${argv[0]}` : '';
    process.stderr.write(`tunnelscope${cmd}: cannot write output: ${cannotWriteReason(err) ?? safeText(err.message, 256)}\n`);
  }
  outputFailed = true;
  process.exitCode = 2;
});
// Nor is one that stops reading diagnostics (`2>&1 | head -1`, `2> /dev/full`): they are lost, the run and its exit
// code stand (there is nowhere left to say more).
process.stderr.on('error', () => {});

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
    process.exitCode = outputFailed ? Math.max(code, 2) : code;
  }, fail);
} catch (e) {
  fail(e);
}
