/**
 * Tunnelled packets whose inner header the capture cut (snap length) are counted as their carrier flow (UDP 4789,
 * protocol 41): the decoder counted them in `stats.fallback`, but no session stats, pool stats, end-of-run line or
 * metric read that, so the inner flows went missing without a word. Each surface now says how many and why.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { run as classify } from '../../src/cli/classify.js';
import { run as flows } from '../../src/cli/flows.js';
import { run as report } from '../../src/cli/report.js';
import { fallbackNote } from '../../src/cli/fallback-note.js';
import { createClassifier } from '../../src/classify/classifier.js';
import { readCaptureFileSync } from '../../src/trace/reader.js';
import { buildFrame, buildIpPacket } from '../../src/trace/frame-builder.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { Sink } from '../helpers/sink.js';

const dir = mkdtempSync(join(tmpdir(), 'ts-fallback-'));
const T0 = 1_700_000_000_000_000;
const VXLAN = Uint8Array.of(0x08, 0, 0, 0, 0, 0, 0x2a, 0); // I flag, VNI 42

/** 3 VXLAN frames (outer UDP 4789, inner TCP 443) and 2 6in4 frames (protocol 41, inner UDP), every frame cut to `snap`. */
function capture(snap: number): string {
  const w = new PcapWriter({ snapLen: snap });
  const outer = { src: '192.0.2.1', dst: '192.0.2.2', proto: 17, srcPort: 50000, dstPort: 4789 };
  const payload = new Uint8Array(200).fill(0x41);
  let t = T0;
  for (let i = 0; i < 3; i++) {
    const inner = buildFrame({ src: '10.1.0.1', dst: '10.1.0.2', proto: 6, srcPort: 40000, dstPort: 443, seq: 1 + i * 200, payload });
    const f = buildFrame({ ...outer, payload: Uint8Array.from([...VXLAN, ...inner]) });
    w.packet((t += 1000), f.subarray(0, Math.min(snap, f.length)), f.length);
  }
  for (let i = 0; i < 2; i++) {
    const inner = buildIpPacket({ src: '2001:db8::1', dst: '2001:db8::2', proto: 17, srcPort: 5000, dstPort: 6000, payload });
    const f = buildFrame({ src: '192.0.2.5', dst: '192.0.2.6', proto: 41, payload: inner });
    w.packet((t += 1000), f.subarray(0, Math.min(snap, f.length)), f.length);
  }
  const path = join(dir, `tunnels-${snap}.pcap`);
  writeFileSync(path, w.toBuffer());
  return path;
}
// 68 bytes: Ethernet + IPv4 + UDP + VXLAN (50) + inner Ethernet (14) leave 4 bytes of the inner IPv4 header;
// Ethernet + IPv4 (34) leave 34 of the inner IPv6 header's 40.
const CUT = capture(68);
const WHOLE = capture(65535);
const NOTE = "5 packets counted as their tunnel's carrier flow, the inner packet cut by the capture or malformed (vxlan-inner 3, ipip-inner 2)";

async function inProcess(run: typeof classify, argv: string[]) {
  const stdout = new Sink(), stderr = new Sink();
  const code = await run(argv, { stdout, stderr, stdin: new PassThrough() });
  return { code, out: stdout.text, err: stderr.text };
}
const BIN = resolve(import.meta.dirname, '..', '..', 'dist', 'cli.js');

describe('packets counted as their tunnel carrier are reported', () => {
  it('session stats count them by reason; a whole capture counts none', () => {
    for (const [path, want] of [[CUT, { 'vxlan-inner': 3, 'ipip-inner': 2 }], [WHOLE, {}]] as const) {
      const s = createClassifier().session();
      readCaptureFileSync(path, (p) => s.pushRaw(p));
      s.end();
      expect(s.stats.fallback).toEqual(want);
      expect(s.stats.decoded).toBe(5);
    }
  });

  it('classify end line names them (in process, several captures)', async () => {
    const one = await inProcess(classify, [CUT]);
    expect(one.code).toBe(0);
    expect(one.err).toContain(NOTE);
    // The carrier flows stand in for the inner ones: UDP 4789 and protocol 41.
    expect(one.out).toContain('"dst":"192.0.2.2:4789"');
    const whole = await inProcess(classify, [WHOLE]);
    expect(whole.err).not.toContain('carrier');
    const several = await inProcess(classify, [CUT, CUT]);
    expect(several.err).toContain("10 packets counted as their tunnel's carrier flow, the inner packet cut by the capture or malformed (vxlan-inner 6, ipip-inner 4)");
  });

  it.each([['file', CUT], ['stdin', '-']])('classify --workers 2 (%s) merges the workers\' counts', (_, input) => {
    const p = spawnSync(process.execPath, [BIN, 'classify', '--workers', '2', input], { encoding: 'utf8', input: input === '-' ? readFileBytes(CUT) : undefined });
    expect(p.status).toBe(0);
    expect(p.stderr).toContain(NOTE);
  });

  it('flows end line names them', async () => {
    const r = await inProcess(flows, [CUT]);
    expect(r.code).toBe(0);
    expect(r.err).toContain(`; ${NOTE}`);
    expect((await inProcess(flows, [WHOLE])).err).not.toContain('carrier');
  });

  it.each([1, 2])('the report page header lists them (--workers %i)', async (workers) => {
    // A pool's workers load dist/: 2 workers run the built CLI.
    const page = async (input: string, out: string): Promise<string> => {
      const argv = [input, '--out', out, '--quiet', '--workers', String(workers)];
      const code = workers === 1 ? (await inProcess(report, argv)).code : spawnSync(process.execPath, [BIN, 'report', ...argv]).status;
      expect(code).toBe(0);
      return readFileSync(out, 'utf8');
    };
    expect(await page(CUT, join(dir, `report-${workers}.html`))).toMatch(/data-meta="tunnel-fallback">vxlan-inner 3, ipip-inner 2</);
    expect(await page(WHOLE, join(dir, `report-whole-${workers}.html`))).not.toContain('tunnel-fallback');
  });

  it('the note says why for each reason and is empty without one', () => {
    expect(fallbackNote({})).toBe('');
    expect(fallbackNote({ 'gtp-inner': 0 })).toBe('');
    expect(fallbackNote({ 'too-deep': 2 })).toBe("2 packets counted as their tunnel's carrier flow, tunnels nested past the depth limit (too-deep 2)");
    expect(fallbackNote({ 'gre-inner': 1, 'too-deep': 2 })).toBe(
      "3 packets counted as their tunnel's carrier flow, the inner packet cut by the capture or malformed or tunnels nested past the depth limit (gre-inner 1, too-deep 2)",
    );
  });
});

function readFileBytes(path: string): Buffer {
  return spawnSync('cat', [path]).stdout;
}
