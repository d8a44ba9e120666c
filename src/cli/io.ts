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
  /** Exit at once (a second stop signal): process.exit by default. */
  exit?: (code: number) => void;
}

export const processIo = (): CliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  signals: process,
  exit: (code) => process.exit(code),
});
