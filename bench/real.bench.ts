/**
 * Speed where users feel it (issue 22), every figure a same-run ratio:
 * - the real merged trace (all Ethernet captures of ../shared/corpus merged in time order by mergecap): a fresh
 *   `tunnelscope classify` process against `ndpiReader` on the same file, wall time, alternating runs;
 * - the corpus as a directory in one `classify` run against ndpiReader run once per capture (total wall);
 * - `--workers auto` against fixed worker counts on each bench trace;
 * - a 1M-prefix registration list loaded through the CLI: wall time and peak RSS above the same run without it.
 * Standalone: `npx tsup && npx tsx bench/real.bench.ts`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const CACHE = join(ROOT, '.cache');
export const CORPUS_PCAP = [process.env['TUNNELSCOPE_CORPUS'] && join(process.env['TUNNELSCOPE_CORPUS'], 'pcap'), join(ROOT, '..', 'shared', 'corpus', 'pcap'), '/work/shared/corpus/pcap'].find(
  (d): d is string => typeof d === 'string' && existsSync(d),
);

/** True when `bash scripts/ensure-tools.sh <tools>` leaves every tool on PATH. */
export function ensureTools(...tools: string[]): boolean {
  return spawnSync('bash', [join(ROOT, 'scripts', 'ensure-tools.sh'), ...tools], { stdio: 'ignore' }).status === 0;
}

/**
 * The environment the CLI runs with here. This host sets NODE_EXTRA_CA_CERTS (144 certificates) and Node 20
 * parses that file at every process start, before any of our code: ~410 M instructions (callgrind), a third of
 * a fresh classify of the merged trace. Users' machines rarely set it; rows say which environment they used.
 */
export function cliEnv(withExtraCa: boolean): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (!withExtraCa) delete env['NODE_EXTRA_CA_CERTS'];
  return env;
}

/** Wall seconds and CPU seconds (user + system, all threads; /usr/bin/time when present) of one command. */
export function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { seconds: number; cpu: number; rssMB: number; stderr: string } {
  const useTime = existsSync('/usr/bin/time');
  const t0 = process.hrtime.bigint();
  const r = useTime
    ? spawnSync('/usr/bin/time', ['-f', 'TIMES %U %S %M', cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], env, maxBuffer: 1 << 26 })
    : spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], env, maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stderr ?? '').slice(-400)}`);
  const m = /TIMES ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr ?? '');
  return { seconds, cpu: m ? Number(m[1]) + Number(m[2]) : NaN, rssMB: m ? Number(m[3]) / 1024 : NaN, stderr: r.stderr ?? '' };
}

/** Capture files of the corpus whose packets are all Ethernet (link type 1). */
async function ethernetCaptures(dir: string): Promise<string[]> {
  const api = (await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href)) as typeof import('../src/index.js');
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (!statSync(p).isFile()) continue;
    let ether = true;
    let n = 0;
    try {
      api.readCaptureFileSync(p, (raw) => {
        n++;
        if (raw.linkType !== 1) ether = false;
      });
    } catch {
      // a damaged tail: the packets before it decide
    }
    if (ether && n > 0) out.push(p);
  }
  return out;
}

/** The real merged trace (cached): every Ethernet capture of the corpus, merged in time order by mergecap. */
export async function mergedTrace(): Promise<string | null> {
  if (!CORPUS_PCAP || !ensureTools('mergecap')) return null;
  mkdirSync(CACHE, { recursive: true });
  const out = join(CACHE, 'corpus-merged.pcap');
  if (existsSync(out)) return out;
  const files = await ethernetCaptures(CORPUS_PCAP);
  const tmp = `${out}.tmp`;
  execFileSync('mergecap', ['-F', 'pcap', '-w', tmp, ...files], { stdio: 'ignore' });
  renameSync(tmp, out);
  return out;
}

export interface ColdRow {
  trace: string;
  packets: number;
  /** Best and median wall seconds of fresh `classify` processes (NDJSON to /dev/null). */
  oursBest: number;
  oursMedian: number;
  oursCpu: number;
  /** The same with the host's NODE_EXTRA_CA_CERTS left set. */
  oursCaBest: number;
  nativeBest: number;
  nativeMedian: number;
  nativeCpu: number;
  /** nDPI wall / ours wall, best against best and median against median (≥ 1: we are faster). */
  ratioBest: number;
  ratioMedian: number;
  ratioCa: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Fresh-process classify against ndpiReader on the same file, `rounds` alternating rounds. */
export function coldVsNative(trace: string, rounds: number): ColdRow {
  const ours: number[] = [], oursCa: number[] = [], nat: number[] = [], oCpu: number[] = [], nCpu: number[] = [];
  let packets = 0;
  for (let k = 0; k < rounds; k++) {
    const o = timed(process.execPath, [CLI, 'classify', trace, '--format', 'ndjson'], cliEnv(false));
    ours.push(o.seconds);
    oCpu.push(o.cpu);
    packets = Number(/(\d+) packets/.exec(o.stderr)?.[1] ?? 0);
    const n = timed('ndpiReader', ['-i', trace, '-v', '0']);
    nat.push(n.seconds);
    nCpu.push(n.cpu);
    oursCa.push(timed(process.execPath, [CLI, 'classify', trace, '--format', 'ndjson', '-q'], cliEnv(true)).seconds);
  }
  const ob = Math.min(...ours), nb = Math.min(...nat);
  return {
    trace: trace.split('/').pop()!,
    packets,
    oursBest: ob,
    oursMedian: median(ours),
    oursCpu: Math.min(...oCpu),
    oursCaBest: Math.min(...oursCa),
    nativeBest: nb,
    nativeMedian: median(nat),
    nativeCpu: Math.min(...nCpu),
    ratioBest: nb / ob,
    ratioMedian: median(nat) / median(ours),
    ratioCa: nb / Math.min(...oursCa),
  };
}

export interface DirRow {
  captures: number;
  /** One `classify DIR` run, wall seconds (best of rounds). */
  oursBest: number;
  oursMedian: number;
  jobs2Best: number;
  /** ndpiReader once per capture, total wall seconds (best of rounds). */
  nativeBest: number;
  nativeMedian: number;
  ratioBest: number;
  ratioMedian: number;
}

/** The corpus directory in one classify run against ndpiReader run once per capture. */
export function directoryVsNative(dir: string, rounds: number): DirRow {
  const files = readdirSync(dir).map((f) => join(dir, f)).filter((p) => statSync(p).isFile()).sort();
  const ours: number[] = [], two: number[] = [], nat: number[] = [];
  for (let k = 0; k < rounds; k++) {
    ours.push(timed(process.execPath, [CLI, 'classify', dir, '--format', 'ndjson', '-q'], cliEnv(false)).seconds);
    let total = 0;
    for (const f of files) {
      const t0 = process.hrtime.bigint();
      // A capture nDPI cannot read still costs its start-up: count it, ignore its exit status.
      spawnSync('ndpiReader', ['-i', f, '-v', '0'], { stdio: 'ignore' });
      total += Number(process.hrtime.bigint() - t0) / 1e9;
    }
    nat.push(total);
    two.push(timed(process.execPath, [CLI, 'classify', dir, '--format', 'ndjson', '-q', '--jobs', '2'], cliEnv(false)).seconds);
  }
  return {
    captures: files.length,
    oursBest: Math.min(...ours),
    oursMedian: median(ours),
    jobs2Best: Math.min(...two),
    nativeBest: Math.min(...nat),
    nativeMedian: median(nat),
    ratioBest: Math.min(...nat) / Math.min(...ours),
    ratioMedian: median(nat) / median(ours),
  };
}

export interface AutoRow {
  trace: string;
  /** Best wall seconds per setting ('1', '2', 'auto'). */
  best: Record<string, number>;
  autoPicks: number;
  /** The fixed count that was fastest (best of rounds). */
  bestFixed: string;
  /** best fixed count's best time / auto's best time. */
  autoVsBestOfBest: number;
  /**
   * Median over rounds of (that round's fastest fixed count / that round's auto run): every round runs the three
   * settings back to back in a rotated order, so a burst of load on a shared host hits one round's three runs alike
   * rather than one setting's best run (≥ 0.95 required).
   */
  autoVsBest: number;
}

/** `--workers auto` against fixed counts, back to back in a rotated order each round. */
export function workersAuto(trace: string, rounds: number): AutoRow {
  const settings = ['1', '2', 'auto'];
  const times: Record<string, number[]> = { '1': [], '2': [], auto: [] };
  const ratios: number[] = [];
  for (let k = 0; k < rounds; k++) {
    const round: Record<string, number> = {};
    for (let j = 0; j < settings.length; j++) {
      const w = settings[(j + k) % settings.length]!;
      round[w] = timed(process.execPath, [CLI, 'classify', trace, '--format', 'ndjson', '-q', '--workers', w], cliEnv(false)).seconds;
      times[w]!.push(round[w]!);
    }
    ratios.push(Math.min(round['1']!, round['2']!) / round['auto']!);
  }
  const best: Record<string, number> = {};
  for (const w of settings) best[w] = Math.min(...times[w]!);
  const bestFixed = best['1']! <= best['2']! ? '1' : '2';
  const api = spawnSync(process.execPath, ['-e', `import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'index.js')).href)}).then((m) => console.log(m.autoWorkers(${statSync(trace).size}).workers))`], { encoding: 'utf8' });
  return { trace: trace.split('/').pop()!, best, autoPicks: Number(api.stdout.trim()), bestFixed, autoVsBestOfBest: best[bestFixed]! / best['auto']!, autoVsBest: median(ratios) };
}

export interface ListRow {
  prefixes: number;
  fileMB: number;
  /** Wall seconds of `classify` on a one-packet capture with / without the list (best of rounds). */
  withList: number;
  without: number;
  /** CPU seconds (all threads) with / without the list. */
  cpuWith: number;
  cpuWithout: number;
  /** Peak RSS (MB) with / without the list. */
  rssWith: number;
  rssWithout: number;
}

/**
 * A registration list of `n` prefixes (cached): 90% IPv4 /24 and /32, 10% IPv6 /64, 5,000 registrants; in address
 * order (as lists exported from an address-management database usually are) or, `shuffled`, the same lines in a
 * fixed random order (the loader then has to sort).
 */
export function bigList(n: number, shuffled = false): string {
  mkdirSync(CACHE, { recursive: true });
  const out = join(CACHE, `registered-${n}${shuffled ? '-shuffled' : ''}.txt`);
  if (existsSync(out)) return out;
  const lines: string[] = ['# synthetic registration list (bench/real.bench.ts)'];
  let x = 0x0b000000;
  for (let i = 0; i < n; i++) {
    const org = `org-${(i * 7919) % 5000}`;
    if (i % 10 === 9) lines.push(`2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64,${org}`);
    else {
      x = (x + 256) >>> 0;
      const host = i % 7 === 0;
      const v = host ? x + 5 : x;
      lines.push(`${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${host ? 32 : 24},${org}`);
    }
  }
  if (shuffled) {
    let seed = 12345;
    for (let i = lines.length - 1; i > 1; i--) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const j = 1 + (seed % i); // the header comment stays first
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
    }
  }
  writeFileSync(out, lines.join('\n') + '\n');
  return out;
}

/** The smallest capture: one packet of the bundled sample (so the run is start-up + list load). */
function onePacket(): string {
  const out = join(CACHE, 'one-packet.pcap');
  if (!existsSync(out)) {
    const b = execFileSync(process.execPath, ['-e', `const fs=require('fs');const b=fs.readFileSync(${JSON.stringify(join(ROOT, 'fixtures', 'sample.pcap'))});const n=b.readUInt32LE(32);process.stdout.write(b.subarray(0,24+16+n))`]);
    writeFileSync(out, b);
  }
  return out;
}

export function listLoad(n: number, rounds: number, shuffled = false): ListRow {
  const list = bigList(n, shuffled);
  const cap = onePacket();
  const w: number[] = [], wo: number[] = [], rw: number[] = [], rwo: number[] = [], cw: number[] = [], cwo: number[] = [];
  for (let k = 0; k < rounds; k++) {
    const a = timed(process.execPath, [CLI, 'classify', cap, '--format', 'ndjson', '-q', '--registered', list], cliEnv(false));
    const b = timed(process.execPath, [CLI, 'classify', cap, '--format', 'ndjson', '-q'], cliEnv(false));
    w.push(a.seconds);
    cw.push(a.cpu);
    cwo.push(b.cpu);
    rw.push(a.rssMB);
    wo.push(b.seconds);
    rwo.push(b.rssMB);
  }
  return { prefixes: n, fileMB: statSync(list).size / 2 ** 20, withList: Math.min(...w), without: Math.min(...wo), cpuWith: Math.min(...cw), cpuWithout: Math.min(...cwo), rssWith: Math.min(...rw), rssWithout: Math.min(...rwo) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const merged = await mergedTrace();
  if (merged) console.log(coldVsNative(merged, 5));
  if (CORPUS_PCAP) console.log(directoryVsNative(CORPUS_PCAP, 3));
  console.log(listLoad(1_000_000, 3));
}
