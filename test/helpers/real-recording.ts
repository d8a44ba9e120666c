/**
 * Recordings of real VPN implementations made on this host by scripts/record/<impl>.sh (Debian's packages, client
 * and server on loopback or in network namespaces of their own, the real tcpdump), then classified in process by
 * the CLI. They check the detectors against what implementations put on the wire, not against bytes we built from
 * the specification ourselves.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, expect } from 'vitest';
import type { FlowRecord } from '../../src/classify/record.js';
import { run } from '../../src/cli/classify.js';
import { Sink } from './sink.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

export interface Recording {
  /** Why the recorder could not run here (its exit 77 "skip: …" line), or null. */
  skip: string | null;
  dir: string;
  /** Variant name → pcap path (`<impl>-<variant>.pcap`). */
  pcaps: Map<string, string>;
}

/** Run `scripts/record/<impl>.sh` into a fresh directory; a failure throws with the recorder's own words. */
export function record(impl: string, timeoutMs = 120_000): Recording {
  const dir = mkdtempSync(join(tmpdir(), `ts-rec-${impl}-`));
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'record', `${impl}.sh`), dir], { encoding: 'utf8', timeout: timeoutMs });
  if (r.status === 77) return { skip: r.stderr.trim().split('\n').pop() ?? 'skip', dir, pcaps: new Map() };
  if (r.status !== 0) {
    throw new Error(`scripts/record/${impl}.sh exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim()} (logs in ${dir})`);
  }
  const pcaps = new Map<string, string>();
  for (const f of readdirSync(dir).sort()) {
    const m = new RegExp(`^${impl}-(.+)\\.pcap$`).exec(f);
    if (m) pcaps.set(m[1]!, join(dir, f));
  }
  if (pcaps.size === 0) throw new Error(`scripts/record/${impl}.sh wrote no capture into ${dir}`);
  return { skip: null, dir, pcaps };
}

/**
 * Record `impl` once for the test file (before its tests) and remove the recording after them; a recorder that
 * failed keeps its directory and logs (named in the error). The returned object is filled in before the tests run.
 */
export function useRecording(impl: string, timeoutMs = 180_000): Recording {
  const rec: Recording = { skip: 'not recorded yet', dir: '', pcaps: new Map() };
  beforeAll(() => {
    Object.assign(rec, record(impl, timeoutMs - 10_000));
  }, timeoutMs);
  afterAll(() => {
    if (rec.dir !== '') rmSync(rec.dir, { recursive: true, force: true });
  });
  return rec;
}

/** A record as the CLI prints it (NDJSON): the library's FlowRecord. */
export type { FlowRecord };

/**
 * Classify one capture in process (NDJSON records); `registered`: lines of a registration list, `endpoints`: lines
 * of an operator VPN endpoint list.
 */
export async function classifyRecording(pcap: string, registered?: string[], endpoints?: string[]): Promise<FlowRecord[]> {
  const argv = [pcap, '--format', 'ndjson', '-q'];
  const lists = mkdtempSync(join(tmpdir(), 'ts-rec-list-'));
  try {
    for (const [flag, lines] of [['--registered', registered], ['--vpn-endpoints', endpoints]] as const) {
      if (!lines) continue;
      const file = join(lists, `${flag.slice(2)}.txt`);
      writeFileSync(file, lines.join('\n') + '\n');
      argv.push(flag, file);
    }
    const stdout = new Sink(), stderr = new Sink();
    const code = await run(argv, { stdout, stderr, stdin: new PassThrough() });
    if (code !== 0) throw new Error(`classify ${pcap} exited ${code}: ${stderr.text}`);
    return stdout.text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as FlowRecord);
  } finally {
    rmSync(lists, { recursive: true, force: true });
  }
}

/**
 * The packets of a recording that a tcpdump filter keeps (a session cut to its data phase, one direction…),
 * classified: what a gateway that saw only those would say.
 */
export async function classifyCut(rec: Recording, variant: string, filter: string): Promise<FlowRecord[]> {
  const cut = join(rec.dir, `${variant}-cut-${filter.replace(/[^a-z0-9]+/gi, '_')}.pcap`);
  const r = spawnSync('tcpdump', ['-r', rec.pcaps.get(variant)!, '-w', cut, filter], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tcpdump -r … '${filter}' exited ${r.status}: ${r.stderr}`);
  return classifyRecording(cut);
}

/** One line per record, for a failure message that shows what the classifier said. */
export function describeRecords(records: readonly FlowRecord[]): string {
  return records.map((r) => `${r.transport} ${r.src} → ${r.dst}: ${r.label} ${r.protocol ?? '-'} ${r.confidence} [${r.evidence.map((e) => e.rule).join(', ')}]`).join('\n');
}

/**
 * The common check of a recording whose capture holds one tunnel flow: that flow (and nothing else) labelled
 * `unregistered_vpn` with `protocol`, on a rule of the detector's own (`rulePrefix`); then, with the server's
 * address registered, `registered_vpn` with the registrant.
 */
export async function expectOneTunnel(
  pcap: string,
  want: { transport: string; protocol: string; rulePrefix: string; server: string },
): Promise<void> {
  const flows = await classifyRecording(pcap);
  const seen = describeRecords(flows);
  expect(flows, seen).toHaveLength(1);
  const f = flows[0]!;
  expect([f.transport, f.label, f.protocol], seen).toEqual([want.transport, 'unregistered_vpn', want.protocol]);
  expect(f.evidence.some((e) => e.rule.startsWith(want.rulePrefix)), seen).toBe(true);
  const reg = await classifyRecording(pcap, [`${want.server},Loopback Org`]);
  expect(reg.map((r) => [r.label, r.protocol, r.registrant]), describeRecords(reg)).toEqual([['registered_vpn', want.protocol, 'Loopback Org']]);
}
