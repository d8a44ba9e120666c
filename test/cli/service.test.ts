/**
 * The built CLI run as a service is ("Running as a service" in the README): output appended to a log file that
 * logrotate's copytruncate empties mid-run, an odd time zone and locale, no home.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, SAMPLE_PCAP } from '../output/sample-records.js';
import { sleep } from '../helpers/live-capture.js';

const BIN = join(ROOT, 'dist', 'cli.js');
const ENV = { ...process.env, TUNNELSCOPE_CODE_CACHE: '0' };

describe('running as a service', () => {
  it('appended output survives copytruncate: the emptied file goes on with whole lines, no NUL run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-service-'));
    const log = join(dir, 'verdicts.ndjson');
    try {
      const fd = openSync(log, 'a');
      const child = spawn(process.execPath, [BIN, 'classify', '-', '--emit', 'both', '-q'], { stdio: ['pipe', fd, 'inherit'], env: ENV });
      closeSync(fd);
      const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      child.stdin!.write(readFileSync(SAMPLE_PCAP));
      // Verdicts come while the input is open; the records of the flows still live come when it closes.
      for (let i = 0; i < 100 && statSync(log).size === 0; i++) await sleep(50);
      const before = statSync(log).size;
      expect(before).toBeGreaterThan(0);
      truncateSync(log, 0);
      child.stdin!.end();
      expect(await exited).toBe(0);
      const text = readFileSync(log, 'utf8');
      expect(text.length).toBeGreaterThan(0);
      expect(text.includes('\0')).toBe(false);
      for (const line of text.trimEnd().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an odd TZ, LANG and LC_ALL change nothing: the same bytes, Zeek stamps in UTC', () => {
    const run = (env: NodeJS.ProcessEnv) => spawnSync(process.execPath, [BIN, 'classify', SAMPLE_PCAP, '-q', '--format', 'zeek'], { env: { ...ENV, ...env }, encoding: 'utf8' });
    const utc = run({ TZ: 'UTC', LANG: 'C', LC_ALL: 'C' });
    const odd = run({ TZ: 'Pacific/Chatham', LANG: 'de_DE.UTF-8', LC_ALL: 'tr_TR.UTF-8' });
    expect(odd.status).toBe(0);
    const body = (t: string) => t.split('\n').filter((l) => !/^#(open|close)\t/.test(l)).join('\n');
    expect(body(odd.stdout)).toBe(body(utc.stdout));
    const open = /^#open\t(\d{4})-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$/m.exec(odd.stdout)!;
    const stamp = Date.UTC(+open[1]!, +open[2]! - 1, +open[3]!, +open[4]!, +open[5]!, +open[6]!);
    expect(Math.abs(Date.now() - stamp)).toBeLessThan(5 * 60_000);
  });

  it('HOME that does not exist: runs, writes nothing there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-service-'));
    try {
      const home = join(dir, 'nonexistent');
      const r = spawnSync(process.execPath, [BIN, 'classify', SAMPLE_PCAP, '-q'], { env: { PATH: process.env.PATH, HOME: home }, encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout.trimEnd().split('\n')).toHaveLength(40);
      expect(existsSync(home)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
