/**
 * The long fuzz mode's worker thread (started by run.ts): runs the campaigns round-robin in slices, reports inputs
 * and failures, and before every input leaves its serialized form in shared memory with a heartbeat, so the parent
 * can save the input that hung or exhausted memory after it terminates this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { CAMPAIGNS, closeContext, openContext, type Campaign } from './campaigns.js';
import { known, Violation } from './contract.js';

export interface WorkerInit {
  campaigns: string[];
  sliceMs: number;
  seed: number;
  /** Int32[0] heartbeat (inputs started), Int32[1] campaign index, Int32[2] input length, Int32[3] ext length. */
  control: SharedArrayBuffer;
  /** The current input's bytes, then its extension. */
  input: SharedArrayBuffer;
}

export type FromFuzzWorker =
  | { t: 'slice'; campaign: string; inputs: number; carrierSplit: number }
  | { t: 'fail'; campaign: string; kind: string; message: string; ext: string; data: Uint8Array; replay: string }
  | { t: 'ready' };

const init = workerData as WorkerInit;
const port = parentPort!;
const control = new Int32Array(init.control);
const inputBuf = new Uint8Array(init.input);

function remember(ci: number, c: Campaign<never>, input: never): void {
  const { ext, data } = c.save(input);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const e = Buffer.from(ext, 'utf8');
  const n = Math.min(bytes.length, inputBuf.length - e.length);
  inputBuf.set(bytes.subarray(0, n), 0);
  inputBuf.set(e, n);
  Atomics.store(control, 1, ci);
  Atomics.store(control, 2, n);
  Atomics.store(control, 3, e.length);
  Atomics.add(control, 0, 1);
}

async function main(): Promise<void> {
  const ctx = await openContext(init.seed);
  const list = CAMPAIGNS.filter((c) => init.campaigns.includes(c.name));
  port.postMessage({ t: 'ready' } satisfies FromFuzzWorker);
  for (let round = 0; ; round++) {
    for (const c of list) {
      const ci = CAMPAIGNS.indexOf(c);
      const before = known.carrierSplit;
      const r = await fc.check(
        fc.asyncProperty(c.arbitrary(), async (input) => {
          remember(ci, c, input);
          await c.check(input, ctx);
        }),
        { numRuns: 1_000_000_000, interruptAfterTimeLimit: init.sliceMs, markInterruptAsFailure: false, seed: (init.seed + round * 7919 + ci) | 0 },
      );
      port.postMessage({ t: 'slice', campaign: c.name, inputs: r.numRuns, carrierSplit: known.carrierSplit - before } satisfies FromFuzzWorker);
      if (r.failed && r.counterexample) {
        const err = r.errorInstance;
        const kind = err instanceof Violation ? err.kind : 'crash';
        const { ext, data } = c.save(r.counterexample[0] as never);
        const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
        port.postMessage({
          t: 'fail',
          campaign: c.name,
          kind,
          message: err instanceof Error ? err.message : String(err),
          ext,
          data: bytes,
          replay: `{ seed: ${r.seed}, path: ${JSON.stringify(r.counterexamplePath)} }`,
        } satisfies FromFuzzWorker);
      }
    }
    if (round > 1e9) break;
  }
  await closeContext(ctx);
}

main().catch((e: unknown) => {
  // A failure of the harness itself: let the parent see it as this thread's error.
  throw e;
});
