#!/usr/bin/env node
/** The `tunnelscope` executable: the only CLI module with side effects. */
import { safeText } from '../text.js';
import { main } from './main.js';

// A reader that goes away (`tunnelscope help | head`) is not an error: output stops, the exit code stands.
// Record output handles this itself (OutputSink); this covers help, version and other direct writes.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tunnelscope: ${safeText(err instanceof Error ? err.message : String(err), 2048)}\n`);
    process.exitCode = 1;
  },
);
