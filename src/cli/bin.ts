#!/usr/bin/env node
/** The `tunnelscope` executable: the only CLI module with side effects. */
import module from 'node:module';
// Tiny and needed only if main fails; static imports load first anyway (ESM hoisting).
import { safeText } from '../text.js';

// Node >= 22.1: keep V8's compiled code of our modules on disk (the OS temp dir) so the next run skips parsing
// and compiling them — ~140 M of the ~250 M instructions a fresh one-packet classify spends above Node's own
// start-up (callgrind, Node 20, where this API does not exist and the call is skipped). Must run before the
// modules it should cover are loaded, hence the dynamic import below.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

// A reader that goes away (`tunnelscope help | head`) is not an error: output stops, the exit code stands.
// Record output handles this itself (OutputSink); this covers help, version and other direct writes.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

import('./main.js')
  .then(({ main }) => main(process.argv.slice(2)))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`tunnelscope: ${safeText(err instanceof Error ? err.message : String(err), 2048)}\n`);
      process.exitCode = 1;
    },
  );
