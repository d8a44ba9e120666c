/**
 * A capture taken with a snap length (or sliced by a packet broker): the CLI says which verdicts stand on payload
 * the capture cut short, in the records, the table, the summary and the end-of-run line, with 1 and 2 workers.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/classify.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { ext, helloBody, sniExt, tlsRecord } from '../detect/names/builders.js';
import { ovpnDataV2, rng } from '../detect/udp-vpn-builders.js';
import { Sink } from '../helpers/sink.js';

const dir = mkdtempSync(join(tmpdir(), 'ts-snaplen-'));
const T0 = 1_700_000_000_000_000;

/** Two TLS connections to a listed name and one to an unlisted one; every frame cut to `snap` bytes. */
function capture(snap: number): string {
  const w = new PcapWriter({ snapLen: snap });
  const hello = (name: string) => tlsRecord(helloBody({ exts: [sniExt(name), ext(21, new Array<number>(64).fill(0))] }));
  const conns: [number, string][] = [[50001, 'gw.vpn.example'], [50002, 'gw.vpn.example'], [50003, 'www.example.org']];
  let t = T0;
  for (const [port, name] of conns) {
    const c = { src: '192.0.2.10', dst: '198.51.100.7', proto: 6, srcPort: port, dstPort: 443 };
    const s = { src: '198.51.100.7', dst: '192.0.2.10', proto: 6, srcPort: 443, dstPort: port };
    const frames = [buildFrame({ ...c, payload: hello(name) })];
    for (let i = 0; i < 8; i++) frames.push(buildFrame({ ...(i % 2 ? c : s), payload: Uint8Array.from({ length: 120 }, (_, k) => (k === 0 ? 0x17 : k < 3 ? 3 : (k * 7 + i) & 255)) }));
    for (const f of frames) w.packet((t += 1000), f.subarray(0, Math.min(snap, f.length)), f.length);
  }
  const path = join(dir, `tls-${snap}.pcap`);
  writeFileSync(path, w.toBuffer());
  return path;
}

const domains = join(dir, 'domains.txt');
writeFileSync(domains, 'vpn.example,Example VPN\n');

async function inProcess(argv: string[]) {
  const stdout = new Sink(), stderr = new Sink();
  const code = await run(argv, { stdout, stderr, stdin: new PassThrough() });
  return { code, out: stdout.text, err: stderr.text };
}

/** The built CLI, for a worker pool (its workers load dist/). */
const BIN = resolve(import.meta.dirname, '..', '..', 'dist', 'cli.js');
async function built(argv: string[]) {
  const p = spawnSync(process.execPath, [BIN, 'classify', ...argv], { encoding: 'utf8' });
  return { code: p.status, out: p.stdout, err: p.stderr };
}

describe('classify on a capture with a snap length', () => {
  it.each([1, 2])('records, summary and end line say which flows were judged on cut payload (--workers %i)', async (workers) => {
    const cli = workers === 1 ? inProcess : built;
    const whole = await cli([capture(65535), '--vpn-domains', domains, '--no-default-domains', '--workers', String(workers), '--summary']);
    expect(whole.code).toBe(0);
    const w = whole.out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(w.map((r) => r.label).sort()).toEqual(['ordinary', 'unregistered_vpn', 'unregistered_vpn']);
    expect(w.every((r) => !('payloadCut' in r))).toBe(true);
    expect(whole.err).not.toMatch(/cut short/);

    const cut = await cli([capture(96), '--vpn-domains', domains, '--no-default-domains', '--workers', String(workers), '--summary']);
    expect(cut.code).toBe(0);
    const c = cut.out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    // The names lie past byte 96: every flow is ordinary, none at the confidence of a flow seen whole.
    expect(c.map((r) => [r.label, r.confidence])).toEqual([['ordinary', 0.6], ['ordinary', 0.6], ['ordinary', 0.6]]);
    expect(c.every((r) => typeof r.payloadCut === 'number' && r.payloadCut > 0)).toBe(true);
    // --summary goes to stderr when records go to stdout.
    expect(cut.err).toMatch(/payload cut by the capture \(snap length\): 3 flows, 3 of them ordinary at confidence 0\.6/);
    expect(cut.err).toMatch(/3 flows inspected on payload the capture cut short/);
  });

  it('the table names the cut where the evidence goes', async () => {
    const { code, out } = await inProcess([capture(96), '--vpn-domains', domains, '--no-default-domains', '--format', 'table']);
    expect(code).toBe(0);
    const rows = out.split('\n').filter((l) => l.startsWith('ordinary'));
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r).toMatch(/0\.60 .* payload of \d+ inspected packet\(s\) cut short by the capture$/);
  });
});

describe('classify when the flow table caps inspection (--max-long-inspections)', () => {
  /** OpenVPN seen mid-stream: 10 P_DATA_V2 packets each way on two tuples (the strong rule needs 8 each way). */
  function midStream(): string {
    const w = new PcapWriter();
    const r = rng(5);
    let t = T0;
    for (let i = 0; i < 10; i++) {
      for (const port of [40001, 40002]) {
        const data = (dir: number) => ovpnDataV2(0x48, 0x00a1b2, (dir ? 70_000 : 50_000) + i, 100, r);
        w.packet((t += 1000), buildFrame({ src: '192.0.2.10', dst: '198.51.100.7', proto: 17, srcPort: port, dstPort: 1194, payload: data(0) }));
        w.packet((t += 1000), buildFrame({ src: '198.51.100.7', dst: '192.0.2.10', proto: 17, srcPort: 1194, dstPort: port, payload: data(1) }));
      }
    }
    const path = join(dir, 'ovpn-mid.pcap');
    writeFileSync(path, w.toBuffer());
    return path;
  }

  it('records, summary, table and end line say which flows were judged on fewer packets than their detectors asked for', async () => {
    const path = midStream();
    const free = await inProcess([path, '--summary']);
    expect(free.code).toBe(0);
    const f = free.out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(f.map((r) => r.protocol)).toEqual(['openvpn', 'openvpn']);
    expect(free.err).not.toMatch(/table's cap/);

    const capped = await inProcess([path, '--summary', '--max-long-inspections', '1']);
    expect(capped.code).toBe(0);
    const c = capped.out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(c.map((r) => [r.label, r.captureCapped ?? false]).sort()).toEqual([['ordinary', true], ['unregistered_vpn', false]]);
    expect(capped.err).toMatch(/inspection cut by a flow-table cap \(--max-long-inspections\): 1 flows, 1 of them ordinary at confidence 0\.6/);
    expect(capped.err).toMatch(/1 flows inspected short by the table's cap/);
    const table = await inProcess([path, '--format', 'table', '--max-long-inspections', '1']);
    expect(table.out.split('\n').find((l) => l.startsWith('ordinary'))).toMatch(/0\.60 .*inspection cut short by the flow table's cap$/);
    // Flows the live-flow cap evicted are counted on the same line (their records say end: evicted).
    const evicted = await inProcess([path, '--max-flows', '1']);
    const e = evicted.out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const n = e.filter((r) => r.end === 'evicted').length;
    expect(n).toBeGreaterThan(0);
    expect(evicted.err).toContain(`${n} flows evicted at the live-flow cap (--max-flows)`);
    expect(free.err).not.toMatch(/evicted/);
    // A bad value is refused with the flag's name.
    const bad = await inProcess([path, '--max-long-inspections', '-1']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/max-long-inspections/);
  });
});
