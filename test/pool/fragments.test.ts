/**
 * The pool with IP fragments: fragments carry no ports, but every fragment of a datagram has its datagram's
 * address pair, which is what the shard hash reads (src/pool/shard.ts), so a datagram is reassembled by one worker.
 * A capture of fragmented datagrams over many host pairs (IPv4 and IPv6, whole, duplicated, lost so they time out,
 * inside GRE) gives the same records with 1, 2 and 3 workers as in one session. Needs the built worker (dist/).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { createClassifierPool, type ClassifierPool } from '../../src/pool/index.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { readCaptureFile } from '../../src/trace/reader.js';
import { LINKTYPE_RAW } from '../../src/trace/types.js';
import { gre, ipv4, ipv6, udp } from '../trace/decode-helpers.js';
import { fragmentOf, ipBody, split } from '../trace/frag-helpers.js';
import { SPEC_SPI_I, SPEC_SPI_R, v2Auth } from '../detect/ipsec-builders.js';
import { rng } from '../detect/udp-vpn-builders.js';

const WORKER = join(resolve(import.meta.dirname, '..', '..'), 'dist', 'worker.js');
let dir = '';
let path = '';
const pools: ClassifierPool[] = [];

beforeAll(() => {
  if (!existsSync(WORKER)) throw new Error('dist/ is not built: run `npx tsup --silent` first');
  dir = mkdtempSync(join(tmpdir(), 'ts-pool-frag-'));
  path = join(dir, 'frag.pcap');
  const w = new PcapWriter({ linkType: LINKTYPE_RAW });
  const r = rng(19);
  let ts = 1_700_000_000_000_000;
  const pending: Uint8Array[][] = [];
  for (let d = 0; d < 600; d++) {
    const h = d % 40;
    const a4 = `10.9.${h}.1`, b4 = `198.51.100.${h + 1}`;
    const a6 = `2001:db8::${h + 1}`, b6 = `2001:db8:1::${h + 1}`;
    const body = d % 4 === 0 ? v2Auth(r, SPEC_SPI_I, SPEC_SPI_R, 1, false, true, 2000 + (d % 7) * 150) : new Uint8Array(1400 + (d % 9) * 200).fill(d & 255);
    const v6 = d % 3 === 0;
    const pkt = v6 ? ipv6(a6, b6, 17, udp(4500, 4500, body)) : ipv4(a4, b4, 17, udp(4500, 4500 + (d % 2), body));
    let frags = split(ipBody(pkt), [1232, 1232]).map((p) => fragmentOf(pkt, 1000 + d, p));
    if (d % 11 === 0) frags = frags.slice(1); // first fragment lost: unattributed
    else if (d % 7 === 0) frags = frags.slice(0, -1); // last lost: times out, still counted
    if (d % 5 === 0) frags.push(frags[0]!);
    if (d % 13 === 0) frags = frags.map((f) => ipv4(`172.16.${h}.1`, `172.16.${h}.2`, 47, gre(v6 ? 0x86dd : 0x0800, f)));
    pending.push(frags);
    if (pending.length === 3) {
      const all = pending.splice(0, 3);
      for (let k = 0; k < 4; k++) for (const fs of all) if (fs[k]) w.packet((ts += 50_000), fs[k]!);
    }
  }
  writeFileSync(path, w.toBuffer());
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function viaPool(workers: number): Promise<string[]> {
  const p = createClassifierPool({ workers, workerUrl: pathToFileURL(WORKER) });
  pools.push(p);
  const out: string[] = [];
  await p.classifyFile(path, (rec) => out.push(JSON.stringify(rec)));
  return out.sort();
}

describe('pool with IP fragments', () => {
  it('1, 2 and 3 workers give the same records as one session; fragments are reassembled and counted', async () => {
    const s = createClassifier().session();
    const ref: string[] = [];
    s.on('flow', (rec: FlowRecord) => ref.push(JSON.stringify(rec)));
    await readCaptureFile(path, (raw) => s.pushRaw(raw));
    s.end();
    expect(s.stats.reassembly.reassembled).toBeGreaterThan(300);
    expect(s.stats.reassembly.timedOut).toBeGreaterThan(0);
    expect(s.stats.fragmentsUnattributed).toBeGreaterThan(0);
    const recs = ref.map((l) => JSON.parse(l) as FlowRecord);
    expect(recs.some((x) => x.label !== 'ordinary' && x.evidence.some((e) => e.rule === 'ike.message'))).toBe(true);
    const [a, b, c] = await Promise.all([viaPool(1), viaPool(2), viaPool(3)]);
    expect(a).toEqual([...ref].sort());
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  }, 120_000);
});
