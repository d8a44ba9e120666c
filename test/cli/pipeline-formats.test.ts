/**
 * `classify --format zeek|zeek-json|eve|csv` writes the record formats of src/output/ (the golden files of the
 * sample capture, Zeek's #open/#close stamped with the run's wall clock), and `--ipfix` rejects what is not
 * udp://HOST:PORT as a usage error.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { zeekStamp } from '../../src/output/zeek.js';
import { Sink } from '../helpers/sink.js';
import { GOLDEN_DIR, GOLDEN_FILES } from '../output/sample-records.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Sink(), stderr = new Sink();
  const code = await main(argv, { stdout, stderr, stdin: process.stdin });
  return { code, out: stdout.text, err: stderr.text };
}

const stamp = (s: string) => s.replace(/^#(open|close)\t.*$/gm, '#$1\tSTAMP');

describe('classify --format for other tools', () => {
  it.each(Object.entries(GOLDEN_FILES))('--format %s writes fixtures/golden/%s', async (format, file) => {
    const t0 = Date.now();
    const { code, out, err } = await run(['classify', 'fixtures/sample.pcap', '--registered', 'fixtures/sample-registered.txt', '--format', format, '-q']);
    expect([code, err]).toEqual([0, '']);
    expect(stamp(out)).toBe(stamp(readFileSync(join(GOLDEN_DIR, file), 'utf8')));
    if (format === 'zeek') {
      const open = /^#open\t(.*)$/m.exec(out)![1]!;
      expect(open >= zeekStamp(t0 - 1000) && open <= zeekStamp(Date.now())).toBe(true);
      expect(out.endsWith(`\n`) && /\n#close\t\d{4}(-\d\d){5}\n$/.test(out)).toBe(true);
    }
  });

  it('--only vpn keeps the header and drops ordinary rows', async () => {
    const { out } = await run(['classify', 'fixtures/sample.pcap', '--format', 'csv', '--only', 'vpn', '-q']);
    const rows = out.trimEnd().split('\r\n');
    expect(rows[0]!.startsWith('firstSeen,')).toBe(true);
    expect(rows.length).toBe(1 + 16);
    expect(rows.slice(1).every((r) => /,(registered|unregistered)_vpn,/.test(r))).toBe(true);
  });

  it('--ipfix takes udp://HOST:PORT only', async () => {
    for (const bad of ['tcp://127.0.0.1:4739', 'localhost:4739', 'udp://127.0.0.1:99999']) {
      const { code, err } = await run(['classify', 'fixtures/sample.pcap', '--ipfix', bad, '-q']);
      expect(code).toBe(2);
      expect(err).toMatch(/^tunnelscope classify: --ipfix: /);
    }
  });
});
