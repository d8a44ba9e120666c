/**
 * The fuzz campaigns: each generates inputs with fast-check, holds every input to the contract (contract.ts), and
 * can write a failing input as a regression fixture and read it back (fixtures/fuzz/<campaign>/).
 * - captures: mutated seeds (container fields, lengths, timestamps, if_tsresol/if_tsoffset, bit flips, splices)
 *   through one session (and a random chunking), the CLI, and now and then pools of 2 and 3 workers;
 * - truncations: a seed cut at a unit boundary, inside a header or inside a unit — every one through pools of 1, 2
 *   and 3 workers (file and stream) and the CLI, which must all give one session's records and error;
 * - frames: mutated frames through session.push with hostile timestamps and link types, under a small flow cap;
 * - lists: mutated list files (line endings, control and bidi characters, long lines, duplicates, bad entries,
 *   invalid UTF-8) through the loaders and the CLI;
 * - updates: random list updates (good, bad and garbage) interleaved with traffic.
 */
import fc from 'fast-check';
import { Classifier, type ClassifierOptions } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { ListParseError, ListReadError, MAX_MESSAGE, TunnelscopeError } from '../../src/errors.js';
import { loadCidrList } from '../../src/lists/cidr-list.js';
import { loadDomainList } from '../../src/lists/domains.js';
import { checkCli, checkPool, checkRecord, cliLikeOptions, PoolSet, reference, runCli, scratchDir, session, UNSAFE, Violation } from './contract.js';
import { capturePlan, listOp, mutateCapture, mutateList, truncationPoints, type ListOp } from './mutate.js';
import { captureSeeds, listSeeds, ROOT, seedFrames } from './seeds.js';
import { join } from 'node:path';

/** Shared by the inputs of one run: pools, lists, a scratch directory, a random source for sampling. */
export interface FuzzContext {
  options: ClassifierOptions;
  pools: PoolSet;
  scratch: ReturnType<typeof scratchDir>;
  rnd: () => number;
  /** Run the (slow) multi-worker CLI on this fraction of capture inputs. */
  cliWorkersShare: number;
  /** Run pools on this fraction of mutated (not truncated) captures. */
  poolShare: number;
}

export async function openContext(seed = Date.now()): Promise<FuzzContext> {
  const options = await cliLikeOptions();
  let s = seed >>> 0 || 1;
  const rnd = (): number => {
    // xorshift32: sampling decisions reproducible from the run's seed
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  return { options, pools: new PoolSet(options), scratch: scratchDir(), rnd, cliWorkersShare: 0.05, poolShare: 0.1 };
}

export async function closeContext(ctx: FuzzContext): Promise<void> {
  await ctx.pools.close();
  ctx.scratch.close();
}

/** What a fixture file holds, and how to read it back. */
export interface Campaign<I> {
  name: string;
  arbitrary(): fc.Arbitrary<I>;
  check(input: I, ctx: FuzzContext): Promise<void>;
  /** File extension and bytes of an input, for fixtures/fuzz/<campaign>/. */
  save(input: I): { ext: string; data: Uint8Array | string };
  load(data: Buffer, ext: string): I;
}

// ---- captures -------------------------------------------------------------------------------------------------

async function checkCapture(bytes: Uint8Array, ctx: FuzzContext, pools: readonly number[], cliWorkers: readonly number[]): Promise<void> {
  const ref = reference(ctx.options, bytes, ctx.rnd);
  const path = ctx.scratch.file('input.cap', bytes);
  for (const n of pools) await checkPool(ctx.pools, n, path, bytes, ref, 1024 + Math.floor(ctx.rnd() * 64 * 1024));
  await checkCli(path, bytes, ref, 1, false);
  for (const n of cliWorkers) await checkCli(path, bytes, ref, n, ctx.rnd() < 0.5);
}

const captureIo = {
  save: (b: Uint8Array) => ({ ext: 'cap', data: b }),
  load: (d: Buffer) => new Uint8Array(d),
};

export const capturesCampaign: Campaign<Uint8Array> = {
  name: 'captures',
  arbitrary() {
    const seeds = captureSeeds();
    return capturePlan(seeds.length).map((p) => mutateCapture(seeds[p.seed]!.bytes, p.ops, seeds));
  },
  async check(bytes, ctx) {
    const pools = ctx.rnd() < ctx.poolShare ? [2, 3] : [];
    const cli = ctx.rnd() < ctx.cliWorkersShare ? [2 + Math.floor(ctx.rnd() * 2)] : [];
    await checkCapture(bytes, ctx, pools, cli);
  },
  ...captureIo,
};

export const truncationsCampaign: Campaign<Uint8Array> = {
  name: 'truncations',
  arbitrary() {
    const seeds = captureSeeds();
    // Cut points: unit boundaries, inside headers, inside units (truncationPoints), drawn by index.
    const points = seeds.map((s) => truncationPoints(s.bytes, Math.random, 2));
    return fc.record({ seed: fc.nat(seeds.length - 1), at: fc.nat() }).map(({ seed, at }) => {
      const pts = points[seed]!;
      return seeds[seed]!.bytes.slice(0, pts[at % pts.length]);
    });
  },
  async check(bytes, ctx) {
    // Every truncated capture: pools of 1, 2 and 3 workers, file and stream, and the CLI (multi-worker runs sampled:
    // they start threads each time; the pools above are the same code behind `--workers N`).
    await checkCapture(bytes, ctx, [1, 2, 3], ctx.rnd() < ctx.cliWorkersShare * 4 ? [2, 3] : []);
  },
  ...captureIo,
};

// ---- frames through session.push --------------------------------------------------------------------------------

export interface FramesInput {
  frames: { hex: string; ts: number | string; lt: number }[];
}

const BAD_TIMES = [NaN, Infinity, -Infinity, -1, 1e22, 2 ** 53 * 1000 + 5000, 8.64e21, -1e15];
const LINK_TYPES = [1, 1, 1, 101, 113, 276, 239, 117, 0, 108, 228, 229, 12, 127, 9, 147, 0xffff];

export const framesCampaign: Campaign<FramesInput> = {
  name: 'frames',
  arbitrary() {
    const frames = seedFrames();
    const frameArb = fc.record({
      i: fc.nat(frames.length - 1),
      flips: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }),
      cut: fc.option(fc.nat(), { freq: 4 }),
      ts: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 600_000_000 }) }, { weight: 1, arbitrary: fc.constantFrom(...BAD_TIMES.map((t) => String(t)), 'bigint:-1', 'bigint:99999999999999999999999') }),
      lt: fc.oneof({ weight: 6, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.constantFrom(...LINK_TYPES) }),
    });
    return fc.array(frameArb, { minLength: 1, maxLength: 120 }).map((fs) => ({
      frames: fs.map((f) => {
        const src = frames[f.i]!;
        let b = src.bytes.slice();
        for (const [at, v] of f.flips) if (b.length) b[at % b.length] = v;
        if (f.cut !== null) b = b.slice(0, f.cut % (b.length + 1));
        return { hex: Buffer.from(b).toString('hex'), ts: typeof f.ts === 'number' ? 1_700_000_000_000_000 + f.ts : f.ts, lt: f.lt < 0 ? src.linkType : f.lt };
      }),
    }));
  },
  async check(input, ctx) {
    const maxFlows = 16;
    const s = new Classifier(ctx.options).session({ flow: { maxFlows, idleTimeoutSec: 5 } });
    const recs: FlowRecord[] = [];
    s.on('flow', (r: FlowRecord) => recs.push(r));
    let pushed = 0;
    for (const f of input.frames) {
      const t = typeof f.ts === 'number' ? f.ts * 1000 : f.ts.startsWith('bigint:') ? BigInt(f.ts.slice(7)) : Number(f.ts);
      try {
        s.push(Buffer.from(f.hex, 'hex'), t, f.lt);
      } catch (e) {
        throw new Violation('crash', `session.push threw ${(e as Error)?.message}`);
      }
      pushed++;
      if (s.liveFlows > maxFlows) throw new Violation('memory', `${s.liveFlows} live flows over the cap of ${maxFlows}`);
    }
    try {
      s.end();
    } catch (e) {
      throw new Violation('crash', `session.end threw ${(e as Error)?.message}`);
    }
    const st = s.stats;
    if (st.packets !== pushed) throw new Violation('bad-output', `stats.packets ${st.packets} != ${pushed} pushed`);
    const skipped = Object.values(st.malformed).reduce((a, b) => a + b, 0);
    if (st.decoded + skipped !== pushed) throw new Violation('bad-output', `decoded ${st.decoded} + skipped ${skipped} != ${pushed} pushed`);
    for (const r of recs) checkRecord(r);
    if (recs.length !== st.flows) throw new Violation('lost-records', `${recs.length} records for ${st.flows} flows`);
  },
  save: (input) => ({ ext: 'json', data: JSON.stringify(input) }),
  load: (d) => JSON.parse(d.toString('utf8')) as FramesInput,
};

// ---- list files -------------------------------------------------------------------------------------------------

export interface ListInput {
  kind: 'cidr' | 'domain';
  bytes: Uint8Array;
}

export const listsCampaign: Campaign<ListInput> = {
  name: 'lists',
  arbitrary() {
    const seeds = listSeeds();
    return fc.record({ seed: fc.nat(seeds.length - 1), ops: fc.array(listOp, { minLength: 1, maxLength: 6 }) }).map(({ seed, ops }) => ({
      kind: seeds[seed]!.kind,
      bytes: mutateList(seeds[seed]!.text, ops as ListOp[]),
    }));
  },
  async check(input, ctx) {
    const path = ctx.scratch.file(`list-${input.kind}.txt`, input.bytes);
    let err: unknown = null;
    let entries = 0;
    try {
      entries = (input.kind === 'cidr' ? await loadCidrList({ path }) : await loadDomainList({ path })).entries.length;
    } catch (e) {
      err = e;
    }
    if (err !== null) {
      if (!(err instanceof ListParseError) && !(err instanceof ListReadError)) throw new Violation('crash', `list load threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
      const m = err.message;
      if (m.length > MAX_MESSAGE || UNSAFE.test(m) || !m.startsWith(`${path}:`)) throw new Violation('bad-output', `list error not one bounded line naming the file: ${JSON.stringify(m.slice(0, 200))}`);
      if (err instanceof ListParseError) {
        const lines = 1 + (Buffer.from(input.bytes).toString('utf8').match(/\r\n|\n|\r/g)?.length ?? 0);
        if (!(err.line >= 1 && err.line <= lines)) throw new Violation('bad-output', `line ${err.line} outside 1..${lines}`);
      }
    }
    // The CLI on a small capture (sampled: each run loads the bundled list too).
    if (ctx.rnd() < 0.25) {
      const flag = input.kind === 'cidr' ? '--registered' : '--vpn-domains';
      const r = await runCli(['classify', join(ROOT, 'fixtures', 'sample.pcap'), flag, path, '--format', 'ndjson', '-q']);
      if (err === null && r.code !== 0) throw new Violation('wrong-exit', `a list that loads (${entries} entries) gave exit ${r.code}: ${r.err.slice(0, 200)}`);
      if (err !== null && (r.code !== 2 || r.err !== `tunnelscope classify: ${(err as Error).message}\n`)) {
        throw new Violation('wrong-exit', `a bad list gave exit ${r.code} and ${JSON.stringify(r.err.slice(0, 200))}, want 2 and the loader's one line`);
      }
    }
  },
  save: (input) => ({ ext: `${input.kind}.txt`, data: input.bytes }),
  load: (d, ext) => ({ kind: ext.startsWith('cidr') ? 'cidr' : 'domain', bytes: new Uint8Array(d) }),
};

// ---- list updates during traffic ----------------------------------------------------------------------------------

export interface UpdatesInput {
  steps: { frames: number; update: unknown }[];
}

const goodCidr = fc.tuple(fc.nat(255), fc.nat(255), fc.integer({ min: 8, max: 32 })).map(([a, b, l]) => {
  const n = (((10 << 24) | (a << 16) | (b << 8)) >>> 0) & (l === 32 ? 0xffffffff : ~((1 << (32 - l)) - 1));
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${l}`;
});
const value = fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,10}$/), fc.string({ maxLength: 6 }), fc.constantFrom('', 'a\u001bb', '\u202e', 'x'.repeat(300)));
const pair = fc.oneof({ weight: 6, arbitrary: fc.tuple(goodCidr, value) }, { weight: 1, arbitrary: fc.jsonValue() });
const domainPair = fc.oneof({ weight: 6, arbitrary: fc.tuple(fc.constantFrom('nordvpn.com', 'surfshark.com', '*.vpn.example', 'a.b', 'com', 'bad..name'), value) }, { weight: 1, arbitrary: fc.jsonValue() });
const updateArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ registered: fc.array(pair, { maxLength: 6 }), vpnEndpoints: fc.array(pair, { maxLength: 3 }), vpnDomains: fc.array(domainPair, { maxLength: 3 }) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.record({ registered: fc.jsonValue(), names: fc.jsonValue() }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.jsonValue() },
);

export const updatesCampaign: Campaign<UpdatesInput> = {
  name: 'updates',
  arbitrary() {
    return fc.record({ steps: fc.array(fc.record({ frames: fc.integer({ min: 0, max: 60 }), update: updateArb }), { minLength: 1, maxLength: 12 }) });
  },
  async check(input, ctx) {
    const frames = seedFrames();
    const c = new Classifier(ctx.options);
    const s = c.session();
    const recs: FlowRecord[] = [];
    s.on('flow', (r: FlowRecord) => recs.push(r));
    const versions = new Set([c.listVersion]);
    let k = Math.floor(ctx.rnd() * frames.length);
    for (const step of input.steps) {
      for (let i = 0; i < step.frames; i++) {
        const f = frames[k++ % frames.length]!;
        s.push(f.bytes, f.tsUs * 1000, f.linkType);
      }
      const before = c.listVersion;
      try {
        const v = c.update(step.update as never);
        if (v !== before + 1) throw new Violation('bad-output', `update returned version ${v} after ${before}`);
        versions.add(v);
      } catch (e) {
        if (e instanceof Violation) throw e;
        if (!(e instanceof TunnelscopeError)) throw new Violation('crash', `update threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
        if (c.listVersion !== before) throw new Violation('bad-output', 'a rejected update changed the list version');
        if (e.message.length > MAX_MESSAGE || UNSAFE.test(e.message)) throw new Violation('bad-output', 'update error message not one bounded line');
      }
    }
    s.end();
    for (const r of recs) {
      checkRecord(r);
      if (!versions.has(r.listVersion)) throw new Violation('bad-output', `record names list version ${r.listVersion}, never in force`);
      if (r.registrant !== null && typeof r.registrant !== 'string') throw new Violation('bad-output', 'registrant not a string');
    }
  },
  save: (input) => ({ ext: 'json', data: JSON.stringify(input) }),
  load: (d) => JSON.parse(d.toString('utf8')) as UpdatesInput,
};

export const CAMPAIGNS: readonly Campaign<never>[] = [capturesCampaign, truncationsCampaign, framesCampaign, listsCampaign, updatesCampaign] as unknown as Campaign<never>[];

export function campaign(name: string): Campaign<never> | undefined {
  return CAMPAIGNS.find((c) => c.name === name);
}

export { session };
