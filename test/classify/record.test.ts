/**
 * Flow records carry per-direction counters and the end reason (Zeek orig/resp, EVE toserver/toclient and IPFIX
 * need them): they add up to the totals, and the end reason is what `tunnelscope flows` reports for the same flow.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, SAMPLE_PCAP, sampleRecords } from '../output/sample-records.js';

describe('flow record counters and end reason', () => {
  it('directional counters add up and the end reason matches `tunnelscope flows`', async () => {
    const recs = await sampleRecords();
    const flows = execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'flows', SAMPLE_PCAP, '--format', 'ndjson', '--quiet'], { encoding: 'utf8' })
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { transport: string; src: string; dst: string; end: string; packets: number; bytes: number });
    const byKey = new Map(flows.map((f) => [`${f.transport} ${f.src} ${f.dst}`, f]));
    expect(recs.length).toBe(flows.length);
    for (const r of recs) {
      expect(r.srcPackets! + r.dstPackets!).toBe(r.packets);
      expect(r.srcBytes! + r.dstBytes!).toBe(r.bytes);
      expect(r.srcPackets).toBeGreaterThan(0);
      const f = byKey.get(`${r.transport} ${r.src} ${r.dst}`)!;
      expect(f.end).toBe(r.end);
      expect(f.packets).toBe(r.packets);
    }
    expect(new Set(recs.map((r) => r.end))).toEqual(new Set(['fin', 'eof']));
    expect(recs.some((r) => r.dstPackets! > 0 && r.dstBytes! > 0)).toBe(true);
  });
});
