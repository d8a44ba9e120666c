/**
 * The fleet options' usage rules (exit 2, one line naming the option, nothing sent anywhere), `--since` parsing,
 * and `lists publish` refusing a bad file: every bad file named as file:line, nothing published.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseSince } from '../../src/cli/fleet-run.js';
import { connectNats } from '../../src/nats/connect.js';
import { loadFleetLists } from '../../src/nats/lists.js';
import { checkSensorId, checkSubject, defaultSensorId, recordMsgId } from '../../src/nats/names.js';
import { Sink } from '../helpers/sink.js';
import { runCli } from './cli-helpers.js';
import { natsServerBinary, startNatsServer, type NatsServer } from '../helpers/nats-server.js';

async function cli(argv: string[]) {
  const stdout = new Sink(), stderr = new Sink();
  const code = await main(argv, { stdout, stderr, stdin: process.stdin });
  return { code, out: stdout.text, err: stderr.text };
}

const dir = mkdtempSync(join(tmpdir(), 'ts-fleet-usage-'));

describe('fleet options: usage', () => {
  const cases: [string[], RegExp][] = [
    [['classify', 'fixtures/sample.pcap', '--publish'], /--publish needs --nats URL/],
    [['classify', 'fixtures/sample.pcap', '--lists-from'], /--lists-from needs --nats URL/],
    [['classify', 'fixtures/sample.pcap', '--sensor', 'x'], /--sensor needs --nats URL/],
    [['classify', 'fixtures/sample.pcap', '--nats', 'nats://127.0.0.1:1'], /--nats needs --lists-from and\/or --publish/],
    [['classify', 'fixtures/sample.pcap', '--nats', 'nats://127.0.0.1:1', '--lists-from', '--registered', 'fixtures/sample-registered.txt'], /--registered cannot be combined with --lists-from/],
    [['classify', 'fixtures/sample.pcap', '--nats', 'nats://127.0.0.1:1', '--lists-from', '--no-default-domains'], /--no-default-domains cannot be combined/],
    [['classify', 'fixtures/sample.pcap', '--nats', 'nats://127.0.0.1:1', '--lists-from', '--quiet-records'], /--quiet-records needs --publish/],
    [['classify', 'fixtures/sample.pcap', '--nats', 'nats://127.0.0.1:1', '--publish', '--sensor', 'gw.1'], /--sensor must be 1-64 letters/],
    [['classify', 'fixtures/sample.pcap', '--nats', 'nats://127.0.0.1:1', '--publish', '--publish-buffer', '0'], /--publish-buffer must be an integer in \[1, 100000000\]/],
    [['classify', 'fixtures/sample.pcap', '--shard', '3/3'], /--shard must be I\/N with 0 <= I < N/],
    [['classify', 'fixtures/sample.pcap', '--shard', '0/2', '--workers', '2'], /--shard works with --workers 1/],
    [['lists', 'publish', '--registered', 'fixtures/sample-registered.txt'], /required option '--nats <URL>' not specified/],
    [['lists', 'publish', '--nats', 'nats://127.0.0.1:1'], /name at least one list/],
    [['fleet', 'stats', '--nats', 'nats://127.0.0.1:1', '--format', 'csv'], /--format must be one of table, json, ndjson/],
    [['fleet', 'submit', '--nats', 'nats://127.0.0.1:1', '--format', 'ndjson', 'x.pcap'], /--format needs --wait/],
    [['fleet', 'submit', '--nats', 'nats://127.0.0.1:1', '--one-trace', 'x.pcap', '-'], /--one-trace reads capture files; stdin is one stream already/],
    [['fleet', 'submit', '--nats', 'nats://127.0.0.1:1', 'x.pcap', '-'], /stdin \('-'\) cannot be submitted/],
    [['fleet', 'work', '--nats', 'nats://127.0.0.1:1', '--id', 'a b'], /--id must be 1-64/],
    [['fleet', 'work', '--nats', 'nats://127.0.0.1:1', '--ack-wait', '1e7'], /--ack-wait must be a number in \[1, 2147483\]/],
  ];
  for (const [argv, re] of cases) {
    it(argv.slice(0, 2).join(' ') + ' ' + argv.slice(2).filter((a) => a.startsWith('--')).join(' '), async () => {
      const r = await cli(argv);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(re);
      expect(r.err).toMatch(/^tunnelscope [a-z ]+: /);
    });
  }

  it('fleet submit --one-trace: a piece that is a pipe or FIFO is this process\'s, refused before anything is sent (exit 2)', async () => {
    const fifo = join(dir, 'piece.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = await cli(['fleet', 'submit', '--nats', 'nats://127.0.0.1:1', '--one-trace', fifo]);
    expect([r.code, r.out]).toEqual([2, '']);
    expect(r.err).toBe(`tunnelscope fleet submit: cannot read ${fifo}: not a regular file (a pipe or FIFO cannot go to a worker; decompress to a file the workers see)\n`);
  });

  it('sensor ids, subjects and message ids', () => {
    expect(defaultSensorId('gw1.example.net')).toBe('gw1_example_net');
    expect(defaultSensorId('')).toBe('sensor');
    expect(checkSensorId(defaultSensorId('x'.repeat(100)))).toHaveLength(64);
    for (const bad of ['', 'a.b', 'a b', 'a*', 'a>', 'x'.repeat(65)]) expect(() => checkSensorId(bad)).toThrow(/sensor id/);
    for (const bad of ['a..b', 'a.*', 'a.>', '.a', 'a.', 'a b']) expect(() => checkSubject(bad)).toThrow(/not a subject/);
    expect(checkSubject('tunnelscope.records.gw-1')).toBe('tunnelscope.records.gw-1');
    const r = { transport: 'udp', src: '10.0.0.1:1', dst: '192.0.2.1:2', firstSeen: '2026-12-05T10:00:00.000001Z' };
    expect(recordMsgId('gw1', r)).toBe('gw1|udp|10.0.0.1:1|192.0.2.1:2|||2026-12-05T10:00:00.000001Z|r');
    // Every part of the flow key separates two flows.
    expect(new Set([recordMsgId('gw1', r), recordMsgId('gw2', r), recordMsgId('gw1', { ...r, vlan: 7 }), recordMsgId('gw1', { ...r, encap: 'gre' }), recordMsgId('gw1', { ...r, firstSeen: '2026-12-05T10:00:00.000002Z' }), recordMsgId('gw1', r, 'v')]).size).toBe(6);
    // The verdict's fingerprint: another version, label, protocol or registrant is another judgement; the same one
    // the same id.
    const v = { ...r, listVersion: 1, label: 'unregistered_vpn', protocol: 'wireguard', registrant: null };
    expect(recordMsgId('gw1', v)).toMatch(/^gw1\|udp\|10\.0\.0\.1:1\|192\.0\.2\.1:2\|\|\|2026-12-05T10:00:00\.000001Z\|r@[0-9a-f]{8}$/);
    expect(recordMsgId('gw1', { ...v })).toBe(recordMsgId('gw1', v));
    expect(new Set([v, { ...v, listVersion: 2 }, { ...v, label: 'registered_vpn' }, { ...v, protocol: 'openvpn' }, { ...v, registrant: 'corp' }].map((x) => recordMsgId('gw1', x))).size).toBe(5);
  });

  it('--since: ISO times and durations back from now', () => {
    const now = Date.parse('2026-12-05T12:00:00Z');
    expect(parseSince('15m', now).toISOString()).toBe('2026-12-05T11:45:00.000Z');
    expect(parseSince('2h', now).toISOString()).toBe('2026-12-05T10:00:00.000Z');
    expect(parseSince('1d', now).toISOString()).toBe('2026-12-04T12:00:00.000Z');
    expect(parseSince('2026-12-01T08:00:00Z', now).toISOString()).toBe('2026-12-01T08:00:00.000Z');
    for (const bad of ['yesterday', '15', '-2h', '2026-13-45', '']) expect(() => parseSince(bad, now)).toThrow(/--since must be/);
    // A duration past 1970 made an Invalid Date that went on to the server.
    for (const far of ['99999999999d', '1e400s'.replace('1e400', '9'.repeat(400))]) expect(() => parseSince(far, now)).toThrow(/--since reaches back before 1970/);
  });
});

const nats = natsServerBinary();
describe.skipIf(!nats.bin)(`lists publish against a server${nats.bin ? '' : ` (skipped: ${nats.why})`}`, () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('a bad line in any file: file:line: reason for each bad file, exit 2, nothing published', async () => {
    const reg = join(dir, 'reg.txt');
    const dom = join(dir, 'dom.txt');
    const ep = join(dir, 'ep.txt');
    writeFileSync(reg, '10.0.0.0/8,acme\n192.0.2.0/24,b\n10.0.0.0/8,other\n');
    writeFileSync(dom, 'ok.example,A\n\n*.bad*.example,B\n');
    writeFileSync(ep, '198.51.100.0/24,vpn\n');
    const r = await cli(['lists', 'publish', '--nats', server.url, '--registered', reg, '--vpn-endpoints', ep, '--vpn-domains', dom]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.split('\n').filter((l) => l !== '')).toEqual([
      expect.stringMatching(new RegExp(`^tunnelscope lists publish: ${reg}:3: duplicate prefix 10\\.0\\.0\\.0/8`)),
      expect.stringMatching(new RegExp(`^tunnelscope lists publish: ${dom}:3: `)),
      'tunnelscope lists publish: nothing published',
    ]);
    const nc = await connectNats(server.url);
    try {
      expect(await loadFleetLists(nc)).toBeNull();
      writeFileSync(reg, '10.0.0.0/8,acme\n');
      const ok = await cli(['lists', 'publish', '--nats', server.url, '--registered', reg]);
      expect(ok.code, ok.err).toBe(0);
      const out = JSON.parse(ok.out) as { revision: number; entries: Record<string, number> };
      expect((await loadFleetLists(nc))!.revision).toBe(out.revision);
      expect(out.entries.registered).toBe(1);
      expect(out.entries.vpnDomains).toBeGreaterThan(10); // the bundled list, as classify would use
    } finally {
      await nc.close();
    }
  }, 60_000);

  it('classify --workers 2 with fleet lists and publishing: the same records as one worker, all acked', async () => {
    const reg = join(dir, 'reg2.txt');
    writeFileSync(reg, '10.24.46.0/24,org-1\n');
    expect((await cli(['lists', 'publish', '--nats', server.url, '--bucket', 'w2', '--registered', reg])).code).toBe(0);
    const outs: string[][] = [];
    for (const [w, sensor] of [['1', 'one'], ['2', 'two']] as const) {
      // The built CLI (the pool's workers are dist/worker.js).
      const r = await runCli(['classify', 'fixtures/sample.pcap', '--workers', w, '--nats', server.url, '--lists-from', 'w2', '--publish', '--sensor', sensor, '--format', 'ndjson']);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(new RegExp(`nats: 40 records published to "tunnelscope.records.${sensor}" as sensor "${sensor}"; none lost`));
      outs.push(r.out.split('\n').filter((l) => l !== '').sort());
    }
    expect(outs[1]).toEqual(outs[0]);
    expect(outs[0]!.some((l) => l.includes('"registrant":"org-1"'))).toBe(true);
  }, 60_000);
});
