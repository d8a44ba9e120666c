/** The streams a CLI run reads and writes: the process's by default, a test's own in tests. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream;
  /**
   * Where SIGINT/SIGTERM (clean stop, a second one exits at once) and SIGHUP (reload lists) come from during a
   * long run: the process by default; a test passes its own emitter; absent, the run installs no handlers.
   */
  signals?: {
    on(event: NodeJS.Signals, fn: () => void): unknown;
    removeListener(event: NodeJS.Signals, fn: () => void): unknown;
  };
  /** Exit at once (a second stop signal): {@link exitAtOnce} by default. */
  exit?: (code: number) => void;
}

export const processIo = (): CliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  signals: process,
  exit: exitAtOnce,
});

/** The signal whose default action a second-signal exit code stands for (128 + its number). */
const SIGNAL_OF_EXIT: Readonly<Record<number, NodeJS.Signals>> = { 130: 'SIGINT', 143: 'SIGTERM' };

/**
 * End the process now with `code`; for 130/143, as the signal's default action does (the signal raised again with
 * this process's handlers gone). process.exit alone can hang: it waits for the threads of Node's pool, and one
 * blocked in a system call (opening a named pipe nobody writes to) never returns.
 */
export function exitAtOnce(code: number): void {
  const sig = SIGNAL_OF_EXIT[code];
  if (sig !== undefined) {
    process.removeAllListeners(sig);
    process.kill(process.pid, sig);
  }
  process.exit(code);
}
