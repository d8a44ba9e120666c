/**
 * Every input the fuzz suite ever broke something with (fixtures/fuzz/, saved by `npm run fuzz`) is held to the
 * contract again on every `npm test`: a fixed bug stays fixed. Needs the built dist/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaign, closeContext, openContext, type FuzzContext } from './campaigns.js';
import { listFixtures } from './fixtures.js';

let ctx: FuzzContext;
beforeAll(async () => {
  // Replays run every check a campaign may sample (pools, multi-worker CLI), not a random share of them.
  ctx = { ...(await openContext(18)), cliWorkersShare: 1, poolShare: 1 };
});
afterAll(async () => {
  await closeContext(ctx);
});

describe('fuzz regression fixtures', () => {
  const fixtures = listFixtures();
  it('there are saved inputs, each of a known campaign', () => {
    expect(fixtures.length).toBeGreaterThan(0);
    for (const f of fixtures) expect(campaign(f.campaign), f.file).toBeDefined();
  });
  for (const f of fixtures) {
    it(`${f.campaign}/${f.file.split('/').pop()}`, async () => {
      const c = campaign(f.campaign)!;
      await c.check(c.load(f.data, f.ext) as never, ctx);
    }, 180_000);
  }
});
