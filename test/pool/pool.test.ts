/**
 * Pool against its single-threaded reference: identical records (and order) for 1 and 2 workers, equal to one
 * in-process session; live-path list switches are atomic across workers; worker errors reject, never hang.
 * Runs the pool code from src/ with the BUILT worker (dist/worker.js): build first (`npx tsup --silent`;
 * `npm test` does).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { dtlsHello, espFlow, tlsFlow, udpFlow, type Pkt } from '../classify/flow-builders.js';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import type { VerdictEvent } from '../../src/classify/session.js';
import { createClassifierPool, type ClassifierPool } from '../../src/pool/index.js';
import { readCaptureBuffer, readCaptureFile } from '../../src/trace/reader.js';
import { DomainSet, parseDomainList } from '../../src/lists/domains.js';
import { PCAP_DIR } from '../helpers/corpus.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const WORKER = join(ROOT, 'dist', 'worker.js');
const CLI = join(ROOT, 'dist', 'cli.js');
const workerUrl = pathToFileURL(WORKER);
const CORPUS = ['4in4tunnel.pcap', '6in4tunnel.pcap', 'dns_fragmented.pcap', 'capwap.pcap', 'cloudflare-warp.pcap', '443-opvn.pcap', 'gre_no_options.pcapng']
  .map((f) => join(PCAP_DIR, f))
  .filter((p) => existsSync(p));

let dir = '';
let trace = '';
let live = '';
let registered: [string, string][] = [];
let liveRegistered: [string, string][] = [];
const pools: ClassifierPool[] = [];

function synth(out: string, packets: number, flows: number, seed: number): void {
  execFileSync(process.execPath, [CLI, 'synth', '--packets', String(packets), '--flows', String(flows), '--seed', String(seed), '--vpn-share', '0.24', '--registered-share', '0.5', '--out', out, '-q']);
}

function readList(path: string): [string, string][] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const i = l.indexOf(',');
      return [l.slice(0, i), l.slice(i + 1)] as [string, string];
    });
}

function pool(workers: number, extra: Parameters<typeof createClassifierPool>[0] = {}): ClassifierPool {
  const p = createClassifierPool({ workers, workerUrl, registered, ...extra });
  pools.push(p);
  return p;
}

async function viaPool(p: ClassifierPool, path: string): Promise<string[]> {
  const out: string[] = [];
  const st = await p.classifyFile(path, (r) => out.push(JSON.stringify(r)));
  expect(st.flows).toBe(out.length);
  expect(st.claimed.reduce((a, b) => a + b, 0)).toBe(st.packets);
  return out;
}

async function viaSession(path: string): Promise<string[]> {
  const c = createClassifier({ registered });
  const s = c.session();
  const out: string[] = [];
  s.on('flow', (r: FlowRecord) => out.push(JSON.stringify(r)));
  await readCaptureFile(path, (raw) => s.pushRaw(raw));
  s.end();
  return out;
}

beforeAll(() => {
  if (!existsSync(WORKER) || !existsSync(CLI)) throw new Error('dist/ is not built: run `npx tsup --silent` first');
  dir = mkdtempSync(join(tmpdir(), 'ts-pool-'));
  trace = join(dir, 't.pcap');
  synth(trace, 200_000, 5000, 3);
  registered = readList(join(dir, 't.registered.txt'));
  live = join(dir, 'live.pcap');
  synth(live, 40_000, 1500, 11);
  liveRegistered = readList(join(dir, 'live.registered.txt'));
}, 120_000);

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('classifyFile: any worker count gives the same records', () => {
  it('synthetic trace: 1 and 2 workers identical (same order), equal to one in-process session', async () => {
    const [a, b, ref] = await Promise.all([viaPool(pool(1), trace), viaPool(pool(2), trace), viaSession(trace)]);
    expect(a.length).toBe(5000);
    expect(b).toEqual(a);
    expect([...a].sort()).toEqual([...ref].sort());
    // The synthetic registered share shows up: the lists reached the workers.
    expect(a.some((l) => (JSON.parse(l) as FlowRecord).label === 'registered_vpn')).toBe(true);
  });

  it('the domain list (a DomainSet) reaches the workers: same records as a session using it', async () => {
    const domains = DomainSet.from(parseDomainList(readFileSync(join(ROOT, 'data', 'vpn-domains.txt'), 'utf8')).entries);
    const out: string[] = [];
    await pool(2, { vpnDomains: domains }).classifyFile(trace, (r) => out.push(JSON.stringify(r)));
    const s = createClassifier({ registered, vpnDomains: domains }).session();
    const ref: string[] = [];
    s.on('flow', (r: FlowRecord) => ref.push(JSON.stringify(r)));
    await readCaptureFile(trace, (raw) => s.pushRaw(raw));
    s.end();
    expect([...out].sort()).toEqual([...ref].sort());
    expect(out.some((l) => l.includes('vpn-domains v'))).toBe(true);
  });

  it.each(CORPUS.map((p) => [p.split('/').pop()!, p]))('corpus %s: 1, 2 and 3 workers identical, equal to a session', async (_n, path) => {
    const [a, b, c, ref] = await Promise.all([viaPool(pool(1), path), viaPool(pool(2), path), viaPool(pool(3), path), viaSession(path)]);
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect([...a].sort()).toEqual([...ref].sort());
  });

  it('flow caps are per pool: maxFlows splits over workers and still loses no packet', async () => {
    const out: FlowRecord[] = [];
    const st = await pool(2).classifyFile(trace, (r) => out.push(r), { flow: { maxFlows: 400 } });
    expect(out.reduce((s, r) => s + r.packets, 0)).toBe(st.decoded);
    expect(out.length).toBeGreaterThan(5000); // evictions split flows
  });
});

describe('classifyFile: chunking, progress, updates during a run', () => {
  it('tiny read chunks (records straddle chunks) give the same records', async () => {
    const p = pool(2);
    const path = CORPUS[0] ?? live;
    const a = await viaPool(p, path);
    const b: string[] = [];
    await p.classifyFile(path, (r) => b.push(JSON.stringify(r)), { chunkSize: 997 });
    expect(b).toEqual(a);
  });

  it('onProgress is monotone and ends at the file size', async () => {
    const seen: { packets: number; bytes: number }[] = [];
    const st = await pool(2).classifyFile(trace, () => {}, { chunkSize: 1 << 20, onProgress: (p) => seen.push(p) });
    expect(seen.length).toBeGreaterThan(3);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.bytes).toBeGreaterThanOrEqual(seen[i - 1]!.bytes);
      expect(seen[i]!.packets).toBeGreaterThanOrEqual(seen[i - 1]!.packets);
    }
    expect(seen.at(-1)!.bytes).toBe(statSync(trace).size);
    expect(seen.at(-1)!.packets).toBeGreaterThanOrEqual(st.packets);
  });

  it('an update during a run: every record names a version whose list it agrees with', async () => {
    const tagged = (t: string): [string, string][] => registered.map(([c, v]) => [c, `${t}:${v}`]);
    const p = pool(2, { registered: tagged('A') });
    const v0 = p.listVersion;
    let v1 = -1;
    const recs: FlowRecord[] = [];
    const st = await p.classifyFile(trace, (r) => recs.push(r), {
      chunkSize: 256 * 1024,
      onProgress: (pr) => {
        if (v1 < 0 && pr.bytes > 40 << 20) v1 = p.update({ registered: tagged('B') });
      },
    });
    expect(v1).toBe(v0 + 1);
    expect(st.listVersion).toBe(v1);
    const byVersion = new Map<number, number>();
    for (const r of recs) {
      expect([v0, v1]).toContain(r.listVersion);
      if (r.registrant !== null) {
        expect(r.registrant.startsWith(r.listVersion === v0 ? 'A:' : 'B:')).toBe(true);
        byVersion.set(r.listVersion, (byVersion.get(r.listVersion) ?? 0) + 1);
      }
    }
    expect(byVersion.get(v0) ?? 0).toBeGreaterThan(0);
    expect(byVersion.get(v1) ?? 0).toBeGreaterThan(0);
    expect(await p.workerVersions()).toEqual([v1, v1]);
  });
});

describe('errors surface as rejections', () => {
  it('a corrupt capture rejects with the reader message; a missing file rejects', async () => {
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, Buffer.from('definitely not a capture file'));
    const p = pool(2);
    await expect(p.classifyFile(bad, () => {})).rejects.toThrow(/not a pcap or pcapng/);
    await expect(p.classifyFile(join(dir, 'missing.pcap'), () => {})).rejects.toThrow(/ENOENT/);
    // The pool is still usable afterwards.
    expect((await viaPool(p, live)).length).toBe(1500);
  });

  it('an exception in onRecord rejects the run', async () => {
    await expect(pool(2).classifyFile(live, () => {
      throw new Error('consumer failed');
    })).rejects.toThrow('consumer failed');
  });

  it('a broken worker entry rejects instead of hanging', async () => {
    const broken = join(dir, 'broken-worker.mjs');
    writeFileSync(broken, 'throw new Error("worker boom");\n');
    const p = createClassifierPool({ workers: 2, workerUrl: pathToFileURL(broken) });
    pools.push(p);
    p.on('error', () => {});
    await expect(p.classifyFile(live, () => {})).rejects.toThrow(/worker boom|exited/);
  });

  it('custom (non built-in) detectors are refused', () => {
    expect(() => createClassifierPool({ workers: 1, workerUrl, detectors: [{ id: 'x' } as never] })).toThrow(/custom detectors/);
  });
});

describe('live path', () => {
  it('push/end gives the same records as classifyFile; update() switches every worker at one stream point', async () => {
    const frames: { b: Uint8Array; ts: bigint; lt: number }[] = [];
    readCaptureBuffer(readFileSync(live), 'live', (r) => {
      frames.push({ b: r.data.slice(r.offset, r.offset + r.capLen), ts: BigInt(r.tsUs) * 1000n, lt: r.linkType });
    });
    const tag = (t: string): [string, string][] => liveRegistered.map(([c, v]) => [c, `${t}:${v}`]);
    const lists = [tag('A'), tag('B'), [] as [string, string][]];
    const names = ['A', 'B', 'C'];
    const p = pool(2, { registered: lists[0]!, maxBatchesPerWorker: 2, batchBytes: 16 * 1024 });
    const tagOf = new Map<number, string>([[p.listVersion, 'A']]);
    const verdicts: VerdictEvent[] = [];
    const records: FlowRecord[] = [];
    p.on('verdict', (v: VerdictEvent) => verdicts.push(v));
    p.on('flow', (r: FlowRecord) => records.push(r));
    let drains = 0;
    let k = 1;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      if (!p.push(f.b, f.ts, f.lt)) {
        drains++;
        await once(p, 'drain');
      }
      if (i > 0 && i % 5000 === 0) {
        const which = k++ % 3;
        const v = p.update({ registered: lists[which]! });
        tagOf.set(v, names[which]!);
        expect(await p.workerVersions()).toEqual([v, v]);
        // A bad list throws in the main thread and changes nothing anywhere.
        expect(() => p.update({ registered: [['10.0.0.300/8', 'x']] })).toThrow();
        expect(p.listVersion).toBe(v);
      }
    }
    const st = await p.end();
    expect(st.packets).toBe(frames.length);
    expect(drains).toBeGreaterThan(0);
    expect(tagOf.size).toBeGreaterThanOrEqual(8);
    expect(records.length).toBe(1500);
    expect(verdicts.length).toBe(1500);
    const seen = new Map<string, number>();
    for (const { verdict: v } of verdicts) {
      const t = tagOf.get(v.listVersion);
      expect(t).toBeDefined();
      if (v.registrant !== null) expect(v.registrant.startsWith(`${t}:`)).toBe(true);
      if (t === 'C') {
        expect(v.registrant).toBeNull();
        expect(v.label).not.toBe('registered_vpn');
      }
      if (v.registrant !== null) seen.set(t!, (seen.get(t!) ?? 0) + 1);
    }
    // Registrants came from both tagged lists: the test saw real switches.
    expect(seen.get('A') ?? 0).toBeGreaterThan(0);
    expect(seen.get('B') ?? 0).toBeGreaterThan(0);
    // Same flows (packets, bytes, times) as the file path; labels may differ where lists changed.
    const strip = (r: FlowRecord) => `${r.transport} ${r.src} ${r.dst} ${r.packets} ${r.bytes} ${r.firstSeen} ${r.lastSeen}`;
    const ref: FlowRecord[] = [];
    await pool(1, { registered: liveRegistered }).classifyFile(live, (r) => ref.push(r));
    expect(records.map(strip).sort()).toEqual(ref.map(strip).sort());
  });

  it('pushRaw straight from a capture reader gives the same flows as classifyFile', async () => {
    const p = pool(2, { registered: liveRegistered });
    const got: string[] = [];
    p.on('flow', (r: FlowRecord) => got.push(JSON.stringify(r)));
    await readCaptureFile(live, (raw) => void p.pushRaw(raw));
    const st = await p.end();
    const ref = await viaPool(pool(1, { registered: liveRegistered }), live);
    expect(st.packets).toBe(40_000);
    // Live idle checks follow the pool-wide clock per batch, so compare as sets.
    expect([...got].sort()).toEqual([...ref].sort());
  });
});

describe('companion options reach the workers', () => {
  /** Writes builder packets (seconds) to a capture in the test dir; returns a function listing `field` per flow. */
  async function capture(name: string, pkts: Pkt[]): Promise<(p: ClassifierPool, field: 'label' | 'protocol') => Promise<string[]>> {
    const w = new PcapWriter();
    for (const q of [...pkts].sort((x, y) => x.t - y.t)) w.packet(1_700_000_000_000_000 + Math.round(q.t * 1e6), buildFrame(q));
    const path = join(dir, name);
    writeFileSync(path, w.toBuffer());
    return async (p, field) => {
      const out: string[] = [];
      await p.classifyFile(path, (r) => out.push(`${r.transport} ${r[field]}`));
      return out.sort();
    };
  }
  it('a DTLS data channel 3 s after a closed TLS flow: tied with the default 10 s window, not with 2 s', async () => {
    const list = await capture('companion.pcap', [...tlsFlow(50000, 443, 0, 1), ...udpFlow(443, 3, dtlsHello())]);
    // The TLS flow had closed (FIN both ways at 1.1 s) before its data channel appeared, but it still lingers in the
    // table (5 s): the tie labels both.
    expect(await list(pool(2), 'label')).toEqual(['tcp unregistered_vpn', 'udp unregistered_vpn']);
    expect(await list(pool(2, { companionWindowS: 2 }), 'label')).toEqual(['tcp ordinary', 'udp ordinary']);
  });
  it('sslVpnEspPorts: ESP on 4600 next to an open TLS flow is tied only when listed', async () => {
    const list = await capture('esp4600.pcap', [...tlsFlow(50000, 443, 0, 30), ...espFlow(4600, 4)]);
    expect(await list(pool(2), 'protocol')).toEqual(['tcp null', 'udp null']);
    expect(await list(pool(2, { sslVpnEspPorts: [4600] }), 'protocol')).toEqual(['tcp pulse', 'udp pulse']);
  });
});

describe('DNS answer bindings do not depend on the worker count', () => {
  it('answers seen by one shard bind flows owned by another: file and live paths equal a session', async () => {
    const { dnsResponse } = await import('../detect/names/builders.js');
    const { wgInit, rng } = await import('../detect/udp-vpn-builders.js');
    const resolver = '192.0.2.53';
    const pkts: Pkt[] = [];
    // 12 clients each resolve a provider name to their own server, then send a lone WireGuard initiation there:
    // the DNS flow (client, resolver) and the tunnel (client, server) hash to different shards for most clients.
    for (let k = 0; k < 12; k++) {
      const client = `10.1.0.${k + 1}`, server = `203.0.113.${k + 1}`;
      const name = `node${k}.nordvpn.com`;
      const q = Uint8Array.of(0, k, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0, 0, 1, 0, 1);
      pkts.push({ t: k, src: client, dst: resolver, proto: 17, srcPort: 30000 + k, dstPort: 53, payload: q });
      pkts.push({ t: k + 0.01, src: resolver, dst: client, proto: 17, srcPort: 53, dstPort: 30000 + k, payload: dnsResponse(name, [{ owner: name, type: 1, ttl: 600, data: Uint8Array.from(server.split('.').map(Number)) }]) });
      pkts.push({ t: k + 0.5, src: client, dst: server, proto: 17, srcPort: 40000 + k, dstPort: 51820, payload: wgInit(0x1000 + k, rng(k + 1)) });
    }
    pkts.sort((x, y) => x.t - y.t);
    const w = new PcapWriter();
    for (const q of pkts) w.packet(1_700_000_000_000_000 + Math.round(q.t * 1e6), buildFrame(q));
    const path = join(dir, 'dns-binding.pcap');
    writeFileSync(path, w.toBuffer());
    const vpnDomains: [string, string][] = [['nordvpn.com', 'NordVPN']];
    const s = createClassifier({ vpnDomains }).session();
    const ref: string[] = [];
    s.on('flow', (r: FlowRecord) => ref.push(JSON.stringify(r)));
    await readCaptureFile(path, (raw) => s.pushRaw(raw));
    s.end();
    const bound = (out: string[]) => out.map((l) => JSON.parse(l) as FlowRecord).filter((r) => r.label === 'unregistered_vpn' && r.evidence.some((e) => e.rule === 'dns-binding.list'));
    expect(bound(ref).length).toBe(12);
    for (const n of [2, 3]) {
      const file: string[] = [];
      await pool(n, { vpnDomains }).classifyFile(path, (r) => file.push(JSON.stringify(r)));
      expect([...file].sort()).toEqual([...ref].sort());
      const p = pool(n, { vpnDomains });
      const live: string[] = [];
      p.on('flow', (r: FlowRecord) => live.push(JSON.stringify(r)));
      await readCaptureFile(path, (raw) => void p.pushRaw(raw));
      await p.end();
      expect(bound(live).length).toBe(12);
      expect([...live].sort()).toEqual([...ref].sort());
    }
  });
});
