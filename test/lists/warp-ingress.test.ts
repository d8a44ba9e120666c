/**
 * data/warp-ingress.txt: Cloudflare WARP's ingress ranges from the reference (part 1, "Cloudflare WARP"), shipped as
 * an operator-updatable endpoint list. It must load as one, and with it the official client's data seen mid-stream
 * (the C4 structure, medium on its own) is WARP; without it, or towards another address, it stays ordinary.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/classify/record.js';
import { run } from '../../src/cli/classify.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { rng, wgData } from '../detect/udp-vpn-builders.js';
import { Sink } from '../helpers/sink.js';

const LIST = resolve(import.meta.dirname, '..', '..', 'data', 'warp-ingress.txt');
const dir = mkdtempSync(join(tmpdir(), 'ts-warp-'));

/** Official-client data only (C4, the 3-byte device value at 1–3, a receiver value per direction, counters +1), 5 each way. */
function capture(server: string): string {
  const r = rng(3);
  const w = new PcapWriter();
  let t = 1_767_225_600_000_000;
  for (let k = 0; k < 5; k++) {
    w.packet((t += 1000), buildFrame({ src: '192.0.2.10', dst: server, proto: 17, srcPort: 60555, dstPort: 2408, payload: wgData(0x000c3b9a, 100 + k, 84, r, 0xc4 | (0x07215e << 8)) }));
    w.packet((t += 1000), buildFrame({ src: server, dst: '192.0.2.10', proto: 17, srcPort: 2408, dstPort: 60555, payload: wgData(0x01839068, 200 + k, 72, r, 0xc4 | (0x07215e << 8)) }));
  }
  const path = join(dir, `warp-${server}.pcap`);
  writeFileSync(path, w.toBuffer());
  return path;
}

async function classify(argv: string[]): Promise<FlowRecord[]> {
  const stdout = new Sink(), stderr = new Sink();
  const code = await run([...argv, '--format', 'ndjson', '-q'], { stdout, stderr, stdin: new PassThrough() });
  expect(code, stderr.text).toBe(0);
  return stdout.text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as FlowRecord);
}

describe('data/warp-ingress.txt', () => {
  it('is a dated endpoint list of the reference\'s five ranges', () => {
    const entries = readFileSync(LIST, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(entries).toEqual(['162.159.192.0/24', '162.159.193.0/24', '162.159.197.0/24', '2606:4700:100::/48', '2606:4700:102::/48'].map((p) => `${p},Cloudflare WARP`));
    expect(readFileSync(LIST, 'utf8')).toMatch(/^# Compiled 20\d\d-\d\d /m);
  });

  it('with it, WARP data seen mid-stream is WARP (structure + list); without it, or to another address, ordinary', async () => {
    const warp = capture('162.159.192.7');
    const [listed] = await classify([warp, '--vpn-endpoints', LIST]);
    expect([listed!.label, listed!.protocol, listed!.confidence]).toEqual(['unregistered_vpn', 'cloudflare-warp', 0.9]);
    expect(listed!.evidence.map((e) => e.rule).sort()).toEqual(['endpoint.list', 'warp.data']);
    expect(listed!.evidence.find((e) => e.rule === 'endpoint.list')!.reason).toContain('162.159.192.0/24 (Cloudflare WARP)');
    const [unlisted] = await classify([warp]);
    expect([unlisted!.label, unlisted!.evidence.map((e) => e.rule)]).toEqual(['ordinary', ['warp.data']]);
    const [elsewhere] = await classify([capture('198.51.100.7'), '--vpn-endpoints', LIST]);
    expect(elsewhere!.label).toBe('ordinary');
  });
});
