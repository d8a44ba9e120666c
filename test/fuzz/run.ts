/**
 * The long fuzz mode: `npm run fuzz -- --minutes N [--campaign NAME …] [--hang-seconds S] [--no-save]`.
 * Runs the campaigns (campaigns.ts) round-robin in a worker thread for N minutes; every input is held to the
 * contract (contract.ts). A failing input is saved under fixtures/fuzz/<campaign>/ (replayed by `npm test` from then
 * on). A watchdog terminates the thread when an input runs longer than --hang-seconds (default 120: the machine may
 * be shared and slow) and saves that input as a hang; a thread that exhausts its heap (2 GiB) is a memory failure
 * and its input is saved too. At the end it prints the table — campaign, inputs, crashes, hangs, wrong exits, lost
 * records, memory — and appends it to bench/FUZZ.md.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CAMPAIGNS } from './campaigns.js';
import { saveFixture } from './fixtures.js';
import type { FromFuzzWorker, WorkerInit } from './fuzz-worker.js';
import { corpusPresent, captureSeeds, ROOT } from './seeds.js';

interface Row {
  inputs: number;
  crash: number;
  hang: number;
  wrongExit: number;
  lost: number;
  memory: number;
  badOutput: number;
  carrierSplit: number;
  saved: string[];
}

function args(): { minutes: number; campaigns: string[]; hangMs: number; save: boolean; sliceMs: number } {
  const a = process.argv.slice(2);
  const get = (flag: string): string | undefined => {
    const i = a.indexOf(flag);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const campaigns: string[] = [];
  a.forEach((x, i) => {
    if (x === '--campaign' && a[i + 1]) campaigns.push(a[i + 1]!);
  });
  const minutes = Number(get('--minutes') ?? 10);
  if (!(minutes > 0)) throw new Error('--minutes must be a positive number');
  for (const c of campaigns) if (!CAMPAIGNS.some((x) => x.name === c)) throw new Error(`unknown campaign ${c} (${CAMPAIGNS.map((x) => x.name).join(', ')})`);
  return {
    minutes,
    campaigns: campaigns.length ? campaigns : CAMPAIGNS.map((c) => c.name),
    hangMs: Number(get('--hang-seconds') ?? 120) * 1000,
    save: !a.includes('--no-save'),
    sliceMs: Number(get('--slice-seconds') ?? 20) * 1000,
  };
}

function rowOf(rows: Map<string, Row>, c: string): Row {
  let r = rows.get(c);
  if (!r) rows.set(c, (r = { inputs: 0, crash: 0, hang: 0, wrongExit: 0, lost: 0, memory: 0, badOutput: 0, carrierSplit: 0, saved: [] }));
  return r;
}

async function main(): Promise<void> {
  const o = args();
  const deadline = Date.now() + o.minutes * 60_000;
  const rows = new Map<string, Row>();
  for (const c of o.campaigns) rowOf(rows, c);
  const control = new SharedArrayBuffer(16);
  const input = new SharedArrayBuffer(32 << 20);
  const ctl = new Int32Array(control);
  let peakRss = 0;
  let seed = Date.now() >>> 0;
  const started = new Date();
  const commit = headCommit();
  console.log(`fuzz: ${o.minutes} min, campaigns ${o.campaigns.join(', ')}, ${captureSeeds().length} capture seeds (${corpusPresent() ? 'with' : 'without'} the dev corpus), seed ${seed}`);

  const record = (campaign: string, kind: string, message: string, ext: string, data: Uint8Array, replay: string): void => {
    const r = rowOf(rows, campaign);
    if (kind === 'crash') r.crash++;
    else if (kind === 'hang') r.hang++;
    else if (kind === 'wrong-exit') r.wrongExit++;
    else if (kind === 'lost-records') r.lost++;
    else if (kind === 'memory') r.memory++;
    else r.badOutput++;
    const where = o.save ? saveFixture(campaign, ext, data, { kind, message, replay }) : '(not saved)';
    r.saved.push(where);
    console.log(`fuzz: ${campaign}: ${kind}: ${message.split('\n')[0]!.slice(0, 300)}\n      input: ${where}`);
  };

  while (Date.now() < deadline) {
    const w = new Worker(new URL('./fuzz-worker-boot.mjs', import.meta.url), {
      workerData: { campaigns: o.campaigns, sliceMs: o.sliceMs, seed, control, input } satisfies WorkerInit,
      execArgv: process.execArgv,
      resourceLimits: { maxOldGenerationSizeMb: 2048 },
    });
    seed = (seed + 104729) >>> 0;
    let lastBeat = Atomics.load(ctl, 0);
    let lastChange = Date.now();
    const current = (): { campaign: string; ext: string; data: Uint8Array } => {
      const n = Atomics.load(ctl, 2), e = Atomics.load(ctl, 3);
      const bytes = new Uint8Array(input);
      return { campaign: CAMPAIGNS[Atomics.load(ctl, 1)]!.name, data: bytes.slice(0, n), ext: Buffer.from(bytes.subarray(n, n + e)).toString('utf8') };
    };
    let ready = false;
    const outcome = await new Promise<'deadline' | 'hang' | 'died'>((resolve) => {
      w.on('message', (m: FromFuzzWorker) => {
        if (m.t === 'ready') ready = true;
        else if (m.t === 'slice') {
          const r = rowOf(rows, m.campaign);
          r.inputs += m.inputs;
          r.carrierSplit += m.carrierSplit;
        } else if (m.t === 'fail') record(m.campaign, m.kind, m.message, m.ext, m.data, m.replay);
      });
      w.on('error', (e: Error & { code?: string }) => {
        if (!ready) throw new Error(`the fuzz thread failed to start: ${e.stack ?? e.message}`);
        const cur = current();
        record(cur.campaign, e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : 'crash', `fuzz thread died: ${e.message}`, cur.ext, cur.data, '');
        resolve('died');
      });
      w.on('exit', () => resolve('died'));
      const timer = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        const beat = Atomics.load(ctl, 0);
        if (beat !== lastBeat) {
          lastBeat = beat;
          lastChange = Date.now();
        } else if (Date.now() - lastChange > o.hangMs) {
          clearInterval(timer);
          resolve('hang');
        }
        if (Date.now() >= deadline) {
          clearInterval(timer);
          resolve('deadline');
        }
      }, 500);
    });
    if (outcome === 'hang') {
      const cur = current();
      record(cur.campaign, 'hang', `no progress for ${o.hangMs / 1000} s`, cur.ext, cur.data, '');
    }
    w.removeAllListeners('exit');
    await w.terminate();
  }

  const table = report(rows, o.minutes, peakRss, started, commit);
  console.log(`\n${table}`);
  const log = join(ROOT, 'bench', 'FUZZ.md');
  if (!existsSync(log)) writeFileSync(log, '# Fuzz runs (`npm run fuzz -- --minutes N`)\n\nEach run appends its closing table here.\n');
  appendFileSync(log, `\n${table}`);
  const failures = [...rows.values()].reduce((a, r) => a + r.crash + r.hang + r.wrongExit + r.lost + r.memory + r.badOutput, 0);
  process.exitCode = failures > 0 ? 1 : 0;
}

/** The commit the run's build came from (read at the start: a commit made during a long run is not what ran). */
function headCommit(): string {
  try {
    const c = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src'], { cwd: ROOT }).toString().trim() !== '';
    return dirty ? `${c} + uncommitted src changes` : c;
  } catch {
    return 'unknown'; // not a git checkout
  }
}

function report(rows: Map<string, Row>, minutes: number, peakRss: number, started: Date, commit: string): string {
  const lines = [
    `## ${started.toISOString()} — ${minutes} min, commit ${commit}, Node ${process.version}, ${captureSeeds().length} capture seeds (${corpusPresent() ? 'dev corpus present' : 'committed seeds only'})`,
    '',
    '| campaign | inputs | crashes | hangs | wrong exits | lost records | bad output | memory | known: tunnel flow across carriers |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const tot: Row = { inputs: 0, crash: 0, hang: 0, wrongExit: 0, lost: 0, memory: 0, badOutput: 0, carrierSplit: 0, saved: [] };
  for (const [c, r] of rows) {
    lines.push(`| ${c} | ${r.inputs} | ${r.crash} | ${r.hang} | ${r.wrongExit} | ${r.lost} | ${r.badOutput} | ${r.memory} | ${r.carrierSplit} |`);
    for (const k of ['inputs', 'crash', 'hang', 'wrongExit', 'lost', 'memory', 'badOutput', 'carrierSplit'] as const) tot[k] += r[k];
  }
  lines.push(`| **all** | **${tot.inputs}** | **${tot.crash}** | **${tot.hang}** | **${tot.wrongExit}** | **${tot.lost}** | **${tot.badOutput}** | **${tot.memory}** | ${tot.carrierSplit} |`);
  lines.push('', `Peak resident memory of the fuzz process (all threads, pools included): ${(peakRss / 2 ** 20).toFixed(0)} MiB.`);
  const saved = [...rows.values()].flatMap((r) => r.saved);
  if (saved.length) lines.push('', 'Saved inputs:', ...saved.map((s) => `- ${s.replace(`${ROOT}/`, '')}`));
  return `${lines.join('\n')}\n`;
}

main().catch((e: unknown) => {
  console.error(`fuzz: ${(e as Error)?.stack ?? String(e)}`);
  process.exitCode = 2;
});
