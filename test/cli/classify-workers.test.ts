/** `classify --workers 1` and `--workers 2` give the same NDJSON (after sorting), through the built CLI. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusAvailable, PCAP_DIR } from '../helpers/corpus.js';

const CLI = resolve(import.meta.dirname, '..', '..', 'dist', 'cli.js');

function classify(file: string, workers: number, extra: string[] = []): string[] {
  const out = execFileSync(process.execPath, [CLI, 'classify', file, '--format', 'ndjson', '--quiet', '--workers', String(workers), ...extra], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return out.split('\n').filter(Boolean).sort();
}

describe('classify --workers', () => {
  it.runIf(corpusAvailable())('identical verdicts for 1 and 2 workers on corpus captures', () => {
    for (const f of ['ipsec_isakmp_esp.pcap', 'openvpn.pcap', 'tinc.pcap', 'sites.pcapng', 'dns.pcap', 'quic-29.pcap']) {
      const one = classify(join(PCAP_DIR, f), 1);
      expect(one.length).toBeGreaterThan(0);
      expect(classify(join(PCAP_DIR, f), 2)).toEqual(one);
    }
  });

  it('identical verdicts for 1 and 2 workers on a synthetic trace with a registration list', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-workers-'));
    const trace = join(dir, 't.pcap');
    execFileSync(process.execPath, [CLI, 'synth', '--packets', '60000', '--flows', '2000', '--seed', '5', '--out', trace, '-q']);
    const reg = ['--registered', join(dir, 't.registered.txt')];
    const one = classify(trace, 1, reg);
    expect(one.length).toBe(2000);
    expect(classify(trace, 2, reg)).toEqual(one);
  });
});
