/**
 * The fuzz campaigns (campaigns.ts) for a bounded time on every `npm test`: FUZZ_MS per campaign (default 4 s; the
 * long mode is `npm run fuzz -- --minutes N`). Each input is held to the whole contract (contract.ts); a failure
 * prints fast-check's seed and path to replay it, and the long mode saves such inputs under fixtures/fuzz/, which
 * replay.test.ts runs on every `npm test`. Needs the built dist/ (`npm test` builds first).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAMPAIGNS, closeContext, openContext, type FuzzContext } from './campaigns.js';
import { captureSeeds, corpusPresent } from './seeds.js';

const BUDGET_MS = Number(process.env['FUZZ_MS'] ?? 4000);

let ctx: FuzzContext;
beforeAll(async () => {
  ctx = await openContext();
});
afterAll(async () => {
  await closeContext(ctx);
});

describe('fuzz campaigns (bounded)', () => {
  it('has seeds (built ones always; the dev corpus when it is beside the clone)', () => {
    expect(captureSeeds().length).toBeGreaterThanOrEqual(5);
    if (!corpusPresent()) console.warn('fuzz: ../shared/corpus not found; mutating the committed seeds only');
  });

  for (const c of CAMPAIGNS) {
    it(`${c.name}: every input keeps the contract`, async () => {
      const r = await fc.check(
        fc.asyncProperty(c.arbitrary(), (input) => c.check(input, ctx)),
        { numRuns: 1_000_000, interruptAfterTimeLimit: BUDGET_MS, markInterruptAsFailure: false },
      );
      if (r.failed) {
        // The input itself can be megabytes: write it aside, report the violation, the seed and the path.
        const input = r.counterexample![0] as never;
        const { ext, data } = c.save(input);
        const file = join(mkdtempSync(join(tmpdir(), 'ts-fuzz-fail-')), `${c.name}.${ext}`);
        writeFileSync(file, data);
        const err = r.errorInstance as Error | undefined;
        throw new Error(`${c.name}: ${err?.message ?? "failed"}\ninput: ${file}\nreplay: { seed: ${r.seed}, path: ${JSON.stringify(r.counterexamplePath)} }`);
      }
      expect(r.numRuns).toBeGreaterThan(0);
      if (process.env['FUZZ_VERBOSE']) console.log(`${c.name}: ${r.numRuns} inputs`);
    }, BUDGET_MS + 120_000);
  }
});
