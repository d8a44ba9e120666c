/**
 * `classify --workers 1` and `--workers 2` give the same NDJSON (after sorting) and the same end-of-run counts,
 * through the built CLI.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

describe('classify: what the detectors did not get is said at the end, any worker count', () => {
  it('a mirror-port capture (every packet twice): the copies are counted on stderr, the same for 1 and 2 workers', () => {
    // Every record of the bundled sample written twice, as a SPAN port copying ingress and egress does.
    const src = readFileSync(resolve(import.meta.dirname, '..', '..', 'fixtures', 'sample.pcap'));
    expect(src.readUInt32LE(0)).toBe(0xa1b2c3d4);
    const parts: Buffer[] = [src.subarray(0, 24)];
    let payloadPackets = 0;
    for (let o = 24; o < src.length; ) {
      const end = o + 16 + src.readUInt32LE(o + 8);
      parts.push(src.subarray(o, end), src.subarray(o, end));
      payloadPackets++;
      o = end;
    }
    const dir = mkdtempSync(join(tmpdir(), 'ts-mirror-'));
    const file = join(dir, 'mirror.pcap');
    writeFileSync(file, Buffer.concat(parts));
    const notes = [1, 2].map((w) => {
      const r = spawnSync(process.execPath, [CLI, 'classify', file, '--format', 'ndjson', '--workers', String(w)], { encoding: 'utf8', maxBuffer: 1 << 26 });
      expect(r.status).toBe(0);
      const m = /(\d+) payload packets not inspected as copies of the one before them/.exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      return Number(m![1]);
    });
    expect(notes[0]).toBeGreaterThan(0);
    expect(notes[0]).toBeLessThanOrEqual(payloadPackets);
    expect(notes[1]).toBe(notes[0]);
    // The single capture has none to report.
    const once = spawnSync(process.execPath, [CLI, 'classify', resolve(import.meta.dirname, '..', '..', 'fixtures', 'sample.pcap'), '--format', 'ndjson'], { encoding: 'utf8' });
    expect(once.stderr).not.toMatch(/copies of the one before/);
  });
});
