/**
 * `classify --metrics HOST:PORT` through the built bin: a real process on a slowly fed stdin, scraped over HTTP
 * with fetch while it runs; a real SIGHUP reload shows in the list metrics. A bad address is a usage error.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PcapFeed, tcpExchange, wgHandshake } from '../helpers/pcap-feed.js';
import { sleep } from '../helpers/live-capture.js';
import { onText } from '../helpers/text-stream.js';
import { parseHostPort } from '../../src/cli/classify.js';

const BIN = join(resolve(import.meta.dirname, '..', '..'), 'dist', 'cli.js');

function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/**
 * `tunnelscope classify - --metrics 127.0.0.1:0 …args` fed through stdin; resolves once the metrics address is
 * printed. `until(pred, what)` polls (20 ms, 20 s at most), naming `what` and the stderr so far on a timeout.
 */
async function startLive(args: string[]) {
  const p = spawn(process.execPath, [BIN, 'classify', '-', '--metrics', '127.0.0.1:0', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const io = { out: '', err: '' };
  onText(p.stdout, (d) => (io.out += d));
  onText(p.stderr, (d) => (io.err += d));
  const exit = new Promise<number | null>((ok) => p.once('exit', ok));
  const until = async (pred: () => boolean, what: string): Promise<void> => {
    for (let i = 0; !pred(); i++) {
      if (i > 1000) throw new Error(`timed out waiting for ${what}; stderr: ${io.err}`);
      await sleep(20);
    }
  };
  const address = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/;
  await until(() => address.test(io.err), 'the metrics address');
  return { p, io, exit, until, url: address.exec(io.err)![1]!, feed: new PcapFeed(p.stdin) };
}

describe('--metrics HOST:PORT', () => {
  it('takes names, IPv4, IPv6 in brackets and a scoped IPv6 address (a link-local management interface)', () => {
    expect(parseHostPort('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseHostPort('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseHostPort('[fe80::1%eth0]:9464')).toEqual({ host: 'fe80::1%eth0', port: 9464 });
    expect(parseHostPort('[fe80::1%eth 0]:9464')).toBeNull();
    expect(parseHostPort('fe80::1%eth0:9464')).toBeNull();
    expect(parseHostPort('[::1]:65536')).toBeNull();
  });
});

describe('classify --metrics', () => {
  it('serves the run’s metrics while it runs; a SIGHUP reload shows in them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-metrics-'));
    const reg = join(dir, 'registered.txt');
    writeFileSync(reg, '10.4.0.0/16,org-1\n');
    // --tcp-linger 0: the TCP exchange's record (flows_total) is due at its close, not after 5 s of capture time.
    const { p, io, exit, until, url, feed } = await startLive(['--emit', 'verdicts', '--format', 'ndjson', '--registered', reg, '--tcp-linger', '0']);
    try {
      await feed.send(...wgHandshake('10.4.0.1', '198.51.100.9', 40001, 1), ...tcpExchange('10.4.0.2', '198.51.100.10', 40002, 2));
      await until(() => io.out.includes('"event":"verdict"') && io.out.includes('10.4.0.2:40002'), 'the verdicts');
      await sleep(100);
      const res = await fetch(url);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(sample(text, 'tunnelscope_packets_total')).toBe(9);
      expect(sample(text, 'tunnelscope_bytes_total')).toBeGreaterThan(9 * 54);
      expect(sample(text, 'tunnelscope_live_flows')).toBe(1);
      expect(sample(text, 'tunnelscope_verdicts_total{label="registered_vpn",protocol="wireguard"}')).toBe(1);
      expect(sample(text, 'tunnelscope_verdicts_total{label="ordinary",protocol="none"}')).toBe(1);
      expect(sample(text, 'tunnelscope_flows_total{label="ordinary",protocol="none"}')).toBe(1);
      expect(sample(text, 'tunnelscope_verdict_payload_packets_bucket{le="2",label="registered_vpn"}')).toBe(1);
      expect(sample(text, 'tunnelscope_output_lag_seconds_count')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'tunnelscope_list_version')).toBe(1);
      expect(sample(text, 'tunnelscope_list_loads_total{result="ok"}')).toBe(1);

      writeFileSync(reg, '10.4.0.0/16,org-2\n');
      p.kill('SIGHUP');
      await until(() => io.err.includes('list version 2'), 'the reload');
      const after = await (await fetch(url)).text();
      expect(sample(after, 'tunnelscope_list_version')).toBe(2);
      expect(sample(after, 'tunnelscope_list_loads_total{result="ok"}')).toBe(2);
      expect(sample(after, 'tunnelscope_list_load_seconds')).toBeGreaterThan(0);
    } finally {
      p.stdin.end();
    }
    expect(await exit).toBe(0);
  });

  it('with --workers 2 the live flows and evictions are scraped while the run goes on, not known only at its end', async () => {
    // --max-flows 2 over two workers: one flow each; a third pair of addresses evicts a flow in its worker.
    const { p, io, exit, until, url, feed } = await startLive(['--workers', '2', '--emit', 'verdicts', '--format', 'ndjson', '--max-flows', '2']);
    try {
      const hosts = ['198.51.100.9', '198.51.100.10', '198.51.100.11', '198.51.100.12', '198.51.100.13', '198.51.100.14'];
      for (let k = 0; k < hosts.length; k++) await feed.send(...wgHandshake(`10.4.0.${k + 1}`, hosts[k]!, 40001 + k, k + 1));
      await until(() => io.out.split('"event":"verdict"').length - 1 >= hosts.length, 'the verdicts');
      let text = '';
      await until(() => {
        void fetch(url).then((r) => r.text()).then((t) => (text = t), () => {});
        return (sample(text, 'tunnelscope_live_flows') ?? 0) > 0 && (sample(text, 'tunnelscope_flows_evicted_total') ?? 0) > 0;
      }, 'live flows and evictions in a scrape');
      expect(sample(text, 'tunnelscope_live_flows')).toBeLessThanOrEqual(2);
      expect(sample(text, 'tunnelscope_flows_evicted_total')).toBe(hosts.length - (sample(text, 'tunnelscope_live_flows') ?? 0));
    } finally {
      p.stdin.end();
    }
    expect(await exit).toBe(0);
  });

  it('a bad HOST:PORT is a usage error; a port in use is reported', async () => {
    const bad = spawnSync(process.execPath, [BIN, 'classify', 'fixtures/sample.pcap', '--metrics', 'localhost'], { encoding: 'utf8', cwd: resolve(import.meta.dirname, '..', '..') });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--metrics must be HOST:PORT');
    const { createServer } = await import('node:net');
    const srv = createServer();
    await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
    const port = (srv.address() as { port: number }).port;
    const r = await new Promise<{ code: number | null; err: string }>((ok) => {
      const c = spawn(process.execPath, [BIN, 'classify', 'fixtures/sample.pcap', '--metrics', `127.0.0.1:${port}`], { cwd: resolve(import.meta.dirname, '..', '..') });
      let e = '';
      onText(c.stderr, (d) => (e += d));
      c.once('exit', (code) => ok({ code, err: e }));
    });
    srv.close();
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot listen: .*EADDRINUSE/);
  });
});
