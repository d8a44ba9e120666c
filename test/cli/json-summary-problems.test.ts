/**
 * The JSON document's summary says what the end-of-run line says about packets the run could not use: skipped by
 * reason (`skipped`) and counted as their tunnel's carrier flow (`tunnelFallback`), the report's names for them.
 * Found with `tunnelscope flows cut.pcap --format json`: the summary had packets, flows and ends only, while stderr
 * said "1 malformed skipped" and "5 packets counted as their tunnel's carrier flow" (classify's JSON the same).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { run as classify } from '../../src/cli/classify.js';
import { run as flows } from '../../src/cli/flows.js';
import { buildFrame, buildIpPacket } from '../../src/trace/frame-builder.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { Sink } from '../helpers/sink.js';

const dir = mkdtempSync(join(tmpdir(), 'ts-json-summary-'));
const VXLAN = Uint8Array.of(0x08, 0, 0, 0, 0, 0, 0x2a, 0);

/** 3 VXLAN and 2 6in4 frames cut to 68 bytes (inner headers cut: carrier fallback), 1 frame with half an IPv4 header. */
function capture(): string {
  const w = new PcapWriter({ snapLen: 68 });
  const payload = new Uint8Array(200).fill(0x41);
  let t = 1_700_000_000_000_000;
  const put = (f: Uint8Array): void => w.packet((t += 1000), f.subarray(0, Math.min(68, f.length)), f.length);
  for (let i = 0; i < 3; i++) {
    const inner = buildFrame({ src: '10.1.0.1', dst: '10.1.0.2', proto: 6, srcPort: 40000, dstPort: 443, seq: 1 + i * 200, payload });
    put(buildFrame({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17, srcPort: 50000, dstPort: 4789, payload: Uint8Array.from([...VXLAN, ...inner]) }));
  }
  for (let i = 0; i < 2; i++) {
    put(buildFrame({ src: '192.0.2.5', dst: '192.0.2.6', proto: 41, payload: buildIpPacket({ src: '2001:db8::1', dst: '2001:db8::2', proto: 17, srcPort: 5000, dstPort: 6000, payload }) }));
  }
  const whole = buildFrame({ src: '192.0.2.7', dst: '192.0.2.8', proto: 17, srcPort: 1, dstPort: 2, payload: new Uint8Array(4) });
  const half = whole.slice(0, 14 + 10);
  w.packet((t += 1000), half, half.length);
  const path = join(dir, 'cut.pcap');
  writeFileSync(path, w.toBuffer());
  return path;
}
const CUT = capture();
const BIN = resolve(import.meta.dirname, '..', '..', 'dist', 'cli.js');

async function summaryOf(run: typeof classify, argv: string[]): Promise<{ summary: Record<string, unknown>; err: string }> {
  const stdout = new Sink(), stderr = new Sink();
  const code = await run([...argv, '--format', 'json'], { stdout, stderr, stdin: new PassThrough() });
  expect(code, stderr.text).toBe(0);
  return { summary: (JSON.parse(stdout.text) as { summary: Record<string, unknown> }).summary, err: stderr.text };
}

describe('JSON summaries carry the skipped and tunnel-fallback counts the end line gives', () => {
  it('flows: one capture and several', async () => {
    const one = await summaryOf(flows, [CUT]);
    expect(one.err).toContain('1 malformed skipped (');
    expect(one.err).toContain("5 packets counted as their tunnel's carrier flow");
    const skipped = one.summary.skipped as Record<string, number>;
    expect(Object.values(skipped).reduce((a, n) => a + n, 0)).toBe(1);
    expect(one.summary.tunnelFallback).toEqual({ 'vxlan-inner': 3, 'ipip-inner': 2 });
    const two = await summaryOf(flows, [CUT, CUT]);
    expect(two.summary.skipped).toEqual(Object.fromEntries(Object.entries(skipped).map(([k, n]) => [k, 2 * n])));
    expect(two.summary.tunnelFallback).toEqual({ 'vxlan-inner': 6, 'ipip-inner': 4 });
  });

  it('classify: one session, a pool and several captures say the same', async () => {
    const one = await summaryOf(classify, [CUT]);
    const skipped = one.summary.skipped as Record<string, number>;
    expect(Object.values(skipped).reduce((a, n) => a + n, 0)).toBe(1);
    expect(one.err).toContain(`skipped: ${Object.entries(skipped).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    expect(one.summary.tunnelFallback).toEqual({ 'vxlan-inner': 3, 'ipip-inner': 2 });
    // Workers run the built CLI (a worker thread loads dist/).
    const r = spawnSync(process.execPath, [BIN, 'classify', CUT, '--workers', '2', '--format', 'json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const pool = JSON.parse(r.stdout) as { summary: Record<string, unknown> };
    expect({ skipped: pool.summary.skipped, tunnelFallback: pool.summary.tunnelFallback }).toEqual({ skipped, tunnelFallback: one.summary.tunnelFallback });
    const two = await summaryOf(classify, [CUT, CUT]);
    expect(two.summary.tunnelFallback).toEqual({ 'vxlan-inner': 6, 'ipip-inner': 4 });
    expect(two.summary.skipped).toEqual(Object.fromEntries(Object.entries(skipped).map(([k, n]) => [k, 2 * n])));
  });
});
