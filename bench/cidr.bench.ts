/**
 * CidrMap vs peers, same process, same workload: BGP-shaped prefix sets (the shared peers workload, seed
 * 20241122: ~58% /24, ~30% nested more-specifics; IPv6 mostly /32–/48 in 2000::/3) and a lookup stream with
 * ~50% hits (60% of hits aimed at nested prefixes, so LPM matters).
 *
 *   node --expose-gc --import tsx bench/cidr.bench.ts [--quick] [--sizes4 10000,100000] [--sizes6 100000]
 *   PEERS_DIR=/tmp/peers  ... adds arkime-iptrie, ip-set, longest-prefix-match (installed there, never here)
 *   CIDR_IMPL=dist|src    ... which CidrMap to measure (default: dist/index.js if it exports CidrMap, else src)
 *
 * Every contender is checked against the workload oracle before timing; a wrong one gets no throughput.
 * net.BlockList is linear per lookup: its timing is capped (CIDR_BL_CAP lookups, default 2000) and it is not
 * built for sizes above 100k. Memory = Δ(heapUsed + arrayBuffers) after two gc() calls (needs --expose-gc;
 * native addons allocate outside V8, so their figure reads ~0).
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';

export interface CidrBenchOptions {
  /** IPv4 table sizes. Default [10_000, 100_000, 1_000_000]. */
  sizes4?: number[];
  /** IPv6 table sizes. Default [100_000]. */
  sizes6?: number[];
  /** Lookup stream length per workload. Default 1_000_000. */
  lookups?: number;
  /** tinybench time box per measurement, ms. Default 1000. */
  timeMs?: number;
  /** Directory holding an installed copy of the peers (node_modules inside). Default env PEERS_DIR. */
  peersDir?: string;
  /** Path of the shared workload generator. Default env CIDR_WORKLOAD or /work/shared/peers/lib/workload.mjs. */
  workload?: string;
  /** 'dist' or 'src'. Default env CIDR_IMPL, else dist when it exports CidrMap. */
  impl?: 'dist' | 'src';
  /** Print progress to stderr. Default true. */
  log?: boolean;
}

export interface Row {
  family: 4 | 6;
  size: number;
  name: string;
  buildMs: number | null;
  bytesPerPrefix: number | null;
  /** lookups per second through the string door (LPM value or membership for non-LPM peers). */
  strOps: number | null;
  /** lookups per second through a numeric door (uint32 / bytes), when the contender has one. */
  numOps: number | null;
  correct: boolean;
  /** ours only: numeric door on the hit-only / miss-only halves of the stream (bart reports these apart). */
  hitOps?: number;
  missOps?: number;
  note?: string;
}

interface Contender {
  name: string;
  /** may be skipped for big tables */
  maxSize?: number;
  /** max lookups timed on the string door */
  cap?: number;
  build(entries: [string, number][], w: Workload): unknown;
  str(s: unknown, ip: string): number | boolean | undefined;
  u32?(s: unknown, a: number): number | boolean | undefined;
  bytes?(s: unknown, b: Uint8Array, off: number): number | boolean | undefined;
  lpm: boolean;
}

interface Workload {
  family: 4 | 6;
  size: number;
  cidrs: string[];
  values: Int32Array;
  lookStr: string[];
  lookU32?: Uint32Array;
  lookBig?: bigint[];
  expect: Int32Array;
  nets?: Uint32Array;
  lens: Uint8Array;
}

interface CidrMapLike {
  lookup(ip: string): number | undefined;
  lookup4(a: number): number | undefined;
  lookup6(b: Uint8Array, off: number): number | undefined;
}
interface CidrMapCtor {
  from(e: Iterable<[string, number]>): CidrMapLike;
}

const here = path.dirname(fileURLToPath(import.meta.url));

async function loadOurs(impl: 'dist' | 'src' | undefined): Promise<{ CidrMap: CidrMapCtor; label: string }> {
  const dist = path.join(here, '..', 'dist', 'index.js');
  if (impl !== 'src' && existsSync(dist)) {
    const mod = (await import(pathToFileURL(dist).href)) as { CidrMap?: CidrMapCtor };
    if (mod.CidrMap) return { CidrMap: mod.CidrMap, label: 'CidrMap (dist)' };
    if (impl === 'dist') throw new Error(`${dist} does not export CidrMap`);
  }
  const mod = (await import('../src/trie/cidr-map.js')) as unknown as { CidrMap: CidrMapCtor };
  return { CidrMap: mod.CidrMap, label: 'CidrMap (src)' };
}

function peerContenders(peersDir: string | undefined, log: (s: string) => void): Contender[] {
  if (!peersDir) return [];
  const req = createRequire(path.join(path.resolve(peersDir), 'package.json'));
  const out: Contender[] = [];
  const tryPeer = (name: string, make: () => Contender): void => {
    try {
      out.push(make());
    } catch (e) {
      log(`  peer ${name} unavailable: ${(e as Error).message.split('\n')[0]}`);
    }
  };
  tryPeer('arkime-iptrie', () => {
    const { IPTrie } = req('arkime-iptrie') as { IPTrie: new () => { add(ip: string, len: number, v: number): void; find(ip: string): number | null | undefined } };
    return {
      name: 'arkime-iptrie',
      lpm: true,
      build(e) {
        const t = new IPTrie();
        for (const [c, v] of e) {
          const i = c.indexOf('/');
          t.add(c.slice(0, i), +c.slice(i + 1), v);
        }
        return t;
      },
      str: (t, ip) => (t as InstanceType<typeof IPTrie>).find(ip) ?? undefined,
    };
  });
  tryPeer('ip-set', () => {
    const IPSet = req('ip-set') as new () => { add(c: string): void; contains(x: string | number): boolean };
    return {
      name: 'ip-set',
      lpm: false,
      maxSize: 1_000_000,
      build(e, w) {
        const s = new IPSet();
        for (const [c] of e) s.add(c);
        return w.family === 4 ? s : null;
      },
      str: (s, ip) => (s === null ? undefined : (s as InstanceType<typeof IPSet>).contains(ip)),
      u32: (s, a) => (s as InstanceType<typeof IPSet>).contains(a),
    };
  });
  tryPeer('longest-prefix-match', () => {
    const L = req('longest-prefix-match') as new () => { addPrefix(c: string, v: number): void; getMatch(ip: string): number[] };
    return {
      name: 'longest-prefix-match',
      lpm: true,
      build(e, w) {
        const l = new L();
        for (const [c, v] of e) l.addPrefix(c, v);
        return { l, suffix: w.family === 4 ? '/32' : '/128' };
      },
      str: (s, ip) => {
        const x = s as { l: InstanceType<typeof L>; suffix: string };
        const r = x.l.getMatch(ip + x.suffix);
        return r.length ? r[0] : undefined;
      },
    };
  });
  return out;
}

function blockList(cap: number): Contender {
  return {
    name: 'net.BlockList',
    lpm: false,
    maxSize: 100_000,
    cap,
    build(e, w) {
      const b = new net.BlockList();
      const t = w.family === 4 ? 'ipv4' : 'ipv6';
      for (const [c] of e) {
        const i = c.indexOf('/');
        b.addSubnet(c.slice(0, i), +c.slice(i + 1), t);
      }
      return { b, t };
    },
    str: (s, ip) => {
      const x = s as { b: net.BlockList; t: 'ipv4' | 'ipv6' };
      return x.b.check(ip, x.t);
    },
  };
}

const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
};
const memNow = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

let sink = 0;
/** Interleaved measurement rounds per workload (best round kept). */
const ROUNDS = 4;
async function throughput<T>(input: ArrayLike<T>, n: number, fn: (x: T, i: number) => unknown, timeMs: number): Promise<number> {
  let k = 0;
  const t0 = performance.now();
  while (k < n && performance.now() - t0 < 20) if (fn(input[k]!, k++) !== undefined) sink++;
  const per = (performance.now() - t0) / Math.max(1, k);
  const chunk = Math.max(1, Math.min(n, Math.round(5 / Math.max(per, 1e-6))));
  let off = 0;
  const bench = new Bench({ time: timeMs, warmupTime: Math.min(200, timeMs / 5), iterations: 3, warmupIterations: 1 });
  bench.add('x', () => {
    let s = 0;
    for (let i = 0; i < chunk; i++) {
      const r = fn(input[off]!, off);
      if (r !== undefined && r !== false) s++;
      if (++off === n) off = 0;
    }
    sink += s;
  });
  await bench.run();
  const mean = (bench.tasks[0]!.result as { latency?: { mean: number } }).latency?.mean;
  return mean ? chunk / (mean / 1000) : NaN;
}

function toBytes(big: bigint[]): Uint8Array {
  const b = new Uint8Array(16 * big.length);
  for (let i = 0; i < big.length; i++) {
    let x = big[i]!;
    for (let k = 15; k >= 0; k--) {
      b[16 * i + k] = Number(x & 255n);
      x >>= 8n;
    }
  }
  return b;
}

/** Runs the comparison and returns one row per (workload, contender). Prints a markdown table when log is on. */
export async function runCidrBench(opts: CidrBenchOptions = {}): Promise<Row[]> {
  const logOn = opts.log ?? true;
  const log = (s: string): void => {
    if (logOn) process.stderr.write(s + '\n');
  };
  const sizes4 = opts.sizes4 ?? [10_000, 100_000, 1_000_000];
  const sizes6 = opts.sizes6 ?? [100_000];
  const nLook = opts.lookups ?? 1_000_000;
  const timeMs = opts.timeMs ?? 1000;
  const wlPath = opts.workload ?? process.env.CIDR_WORKLOAD ?? '/work/shared/peers/lib/workload.mjs';
  if (!existsSync(wlPath)) {
    log(`cidr bench skipped: workload generator ${wlPath} not found (set CIDR_WORKLOAD)`);
    return [];
  }
  const wl = (await import(pathToFileURL(wlPath).href)) as { gen(f: 4 | 6, size: number, n: number): Workload };
  const ours = await loadOurs(opts.impl ?? (process.env.CIDR_IMPL as 'dist' | 'src' | undefined));
  const cap = Number(process.env.CIDR_BL_CAP ?? 2000);
  const contenders: Contender[] = [
    {
      name: ours.label,
      lpm: true,
      build: (e) => ours.CidrMap.from(e),
      str: (m, ip) => (m as CidrMapLike).lookup(ip),
      u32: (m, a) => (m as CidrMapLike).lookup4(a),
      bytes: (m, b, off) => (m as CidrMapLike).lookup6(b, off),
    },
    ...peerContenders(opts.peersDir ?? process.env.PEERS_DIR, log),
    blockList(cap),
  ];
  if (!(globalThis as { gc?: unknown }).gc) log('warning: run with --expose-gc for memory figures');
  const rows: Row[] = [];
  const jobs: [4 | 6, number][] = [...sizes4.map((s) => [4, s] as [4, number]), ...sizes6.map((s) => [6, s] as [6, number])];
  for (const [family, size] of jobs) {
    const t0 = performance.now();
    const w = wl.gen(family, size, nLook);
    // The generator builds strings by concatenation (V8 cons strings); whoever touches them first would pay
    // for flattening and be credited with the memory it frees. Start everyone from flat copies.
    w.cidrs = JSON.parse(JSON.stringify(w.cidrs)) as string[];
    w.lookStr = JSON.parse(JSON.stringify(w.lookStr)) as string[];
    log(`workload v${family} ${size}: generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const entries: [string, number][] = w.cidrs.map((c, i) => [c, w.values[i]!]);
    const bytes = family === 6 && w.lookBig ? toBytes(w.lookBig) : null;
    const n = w.lookStr.length;
    const hitIdx = Int32Array.from({ length: n }, (_, i) => i).filter((i) => w.expect[i]! >= 0);
    const missIdx = Int32Array.from({ length: n }, (_, i) => i).filter((i) => w.expect[i]! < 0);
    // Build and check every contender first, then time them in interleaved rounds and keep each one's best
    // round: on a shared machine load drifts by 2× within a minute, and back-to-back blocks would turn that
    // drift into fake ratios.
    const live: { c: Contender; s: unknown; row: Row }[] = [];
    for (const c of contenders) {
      const row: Row = { family, size, name: c.name, buildMs: null, bytesPerPrefix: null, strOps: null, numOps: null, correct: false };
      rows.push(row);
      if (c.maxSize !== undefined && size > c.maxSize) {
        row.note = `skipped above ${c.maxSize.toLocaleString('en')} prefixes`;
        continue;
      }
      try {
        gc();
        const m0 = memNow();
        const tb = performance.now();
        const s: unknown = c.build(entries, w);
        row.buildMs = performance.now() - tb;
        gc();
        row.bytesPerPrefix = (memNow() - m0) / size;
        if (s === null) {
          row.note = 'no correct IPv6 support';
          continue;
        }
        const nCheck = Math.min(n, c.cap ?? 20_000);
        let bad = 0;
        for (let i = 0; i < nCheck; i++) {
          const exp = w.expect[i]!;
          const r = c.str(s, w.lookStr[i]!);
          if (c.lpm ? (r ?? -1) !== exp : (r === true) !== exp >= 0) bad++;
          if (c.u32 && family === 4 && w.lookU32) {
            const u = c.u32(s, w.lookU32[i]!);
            if (c.lpm ? (u ?? -1) !== exp : (u === true) !== exp >= 0) bad++;
          }
          if (c.bytes && bytes && (c.bytes(s, bytes, 16 * i) ?? -1) !== exp) bad++;
        }
        row.correct = bad === 0;
        if (!row.correct) row.note = `${bad} wrong answers in ${nCheck} checked`;
        else live.push({ c, s, row });
      } catch (e) {
        row.note = `error: ${(e as Error).message.split('\n')[0]}`;
      }
    }
    const best = (a: number | null | undefined, b: number): number => (a == null || !(a >= b) ? b : a);
    for (let round = 0; round < ROUNDS; round++) {
      for (const { c, s, row } of live) {
        const box = c.cap ? Math.min(timeMs, 300) / ROUNDS : timeMs / ROUNDS;
        const strN = Math.min(n, c.cap ?? n);
        row.strOps = best(row.strOps, await throughput(w.lookStr, strN, (ip) => c.str(s, ip), box));
        if (c.cap) row.note = `string lookups capped at ${strN}`;
        if (c.u32 && family === 4 && w.lookU32) row.numOps = best(row.numOps, await throughput(w.lookU32, n, (a) => c.u32!(s, a), box));
        if (c.bytes && bytes) row.numOps = best(row.numOps, await throughput(w.lookStr, n, (_x, i) => c.bytes!(s, bytes, 16 * i), box));
        if (c.name.startsWith('CidrMap')) {
          const f =
            family === 4 && w.lookU32
              ? (j: number): unknown => c.u32!(s, w.lookU32![j]!)
              : (j: number): unknown => c.bytes!(s, bytes!, 16 * j);
          row.hitOps = best(row.hitOps, await throughput(hitIdx, hitIdx.length, f, box / 2));
          row.missOps = best(row.missOps, await throughput(missIdx, missIdx.length, f, box / 2));
        }
      }
    }
    for (const { row } of rows.filter((r) => r.family === family && r.size === size).map((row) => ({ row }))) {
      log(`  ${row.name}: build ${row.buildMs?.toFixed(0) ?? '—'} ms, str ${fmt(row.strOps)}/s, num ${fmt(row.numOps)}/s${row.hitOps ? ` (hits ${fmt(row.hitOps)}/s, misses ${fmt(row.missOps)}/s)` : ''}${row.note ? ' — ' + row.note : ''}`);
    }
    live.length = 0;
  }
  if (logOn) process.stdout.write(renderTable(rows, { nLook, timeMs }) + '\n');
  return rows;
}

function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x >= 1e6) return (x / 1e6).toFixed(2) + 'M';
  if (x >= 1e3) return (x / 1e3).toFixed(1) + 'k';
  return x.toFixed(0);
}

/** Markdown table with ratios of ours vs the fastest correct peer, per workload. */
export function renderTable(rows: Row[], meta: { nLook: number; timeMs: number }): string {
  let md = `node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), workload seed 20241122, ` +
    `${meta.nLook.toLocaleString('en')} lookups/stream (~50% hits), tinybench box ${meta.timeMs} ms\n\n`;
  md += '| family | prefixes | contender | correct | build ms | bytes/prefix | lookup(str)/s | ×str | numeric/s | ×num | note |\n';
  md += '|---|---:|---|---|---:|---:|---:|---:|---:|---:|---|\n';
  const keys = [...new Set(rows.map((r) => `${r.family}/${r.size}`))];
  for (const k of keys) {
    const group = rows.filter((r) => `${r.family}/${r.size}` === k);
    const peers = group.filter((r) => !r.name.startsWith('CidrMap') && r.correct);
    const bestStr = Math.max(0, ...peers.map((r) => r.strOps ?? 0));
    const bestNum = Math.max(0, ...peers.map((r) => r.numOps ?? 0));
    for (const r of group) {
      const ours = r.name.startsWith('CidrMap');
      const xs = ours && bestStr && r.strOps ? (r.strOps / bestStr).toFixed(2) + '×' : '';
      const xn = ours && bestNum && r.numOps ? (r.numOps / bestNum).toFixed(2) + '×' : '';
      const hm = r.hitOps ? `numeric hits ${fmt(r.hitOps)}/s, misses ${fmt(r.missOps)}/s` : '';
      md += `| IPv${r.family} | ${r.size.toLocaleString('en')} | ${r.name} | ${r.correct ? 'ok' : 'no'} | ${r.buildMs?.toFixed(0) ?? '—'} | ${r.bytesPerPrefix?.toFixed(1) ?? '—'} | ${fmt(r.strOps)} | ${xs} | ${fmt(r.numOps)} | ${xn} | ${[hm, r.note].filter(Boolean).join('; ')} |\n`;
    }
  }
  md += '\n×str / ×num: ours ÷ the fastest correct peer on the same workload in this run (numeric peer: ip-set uint32 contains; ' +
    'our IPv6 numeric door is lookup6 on 16 bytes). Memory of native addons (arkime-iptrie) lives outside the V8 heap.\n';
  return md;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isMain) {
  const argv = process.argv.slice(2);
  const opt = (f: string): string | undefined => {
    const i = argv.indexOf(f);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const list = (s: string | undefined): number[] | undefined => s?.split(',').filter(Boolean).map(Number);
  const quick = argv.includes('--quick');
  const o: CidrBenchOptions = quick ? { sizes4: [10_000, 100_000], sizes6: [10_000], lookups: 200_000, timeMs: 300 } : {};
  const s4 = list(opt('--sizes4'));
  const s6 = list(opt('--sizes6'));
  if (s4) o.sizes4 = s4;
  if (s6) o.sizes6 = s6;
  const t = opt('--time');
  if (t) o.timeMs = Number(t);
  await runCidrBench(o);
  if (sink === 0.5) process.stdout.write('');
}
