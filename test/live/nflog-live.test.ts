/**
 * The README's NFLOG example, live: a netfilter rule (nft, the gateway's own firewall) logs this test's UDP
 * datagrams on 127.0.0.1 to an NFLOG group, the real tcpdump captures that group (`-i nflog:G`, link type 239)
 * and pipes it into the built `tunnelscope classify - --emit verdicts --only vpn`, while this process exchanges
 * WireGuard-, OpenVPN- and ordinary-shaped datagrams. Every VPN flow gets its verdict line within 1 s of its
 * handshake, no ordinary flow is printed. Only loopback and our own ports (the rule matches nothing else); the
 * rule's table is removed afterwards; bounded in count (12 flows) and time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureUnavailable, LoopbackPeers, median, sendFlows, startCapture, verdictDelays, watchVerdicts, type SentFlow } from '../helpers/live-capture.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'cli.js');
const TABLE = `tunnelscope_test_${process.pid}`;
const GROUP = 1000 + (process.pid % 60000);

function nftBin(): string | null {
  spawnSync('bash', [resolve(ROOT, 'scripts', 'ensure-tools.sh'), 'nft'], { encoding: 'utf8', timeout: 900_000 });
  for (const p of ['nft', '/usr/sbin/nft', '/sbin/nft']) if (spawnSync(p, ['--version'], { encoding: 'utf8' }).status === 0) return p;
  return null;
}

const nft = nftBin();
const nftRun = (args: string[]): { ok: boolean; err: string } => {
  const r = spawnSync(nft!, args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: (r.stderr || '').trim() };
};

/** Why NFLOG capture cannot run here, or null (the table is created as the probe and removed again). */
function nflogUnavailable(): string | null {
  const cap = captureUnavailable();
  if (cap) return cap;
  if (!nft) return 'nft (Debian nftables) is not installed and could not be installed';
  const t = nftRun(['add', 'table', 'inet', TABLE]);
  if (!t.ok) return `nft may not add a table here (needs root or CAP_NET_ADMIN): ${t.err}`;
  nftRun(['delete', 'table', 'inet', TABLE]);
  return null;
}

const why = nflogUnavailable();

describe('NFLOG live capture (nft log group → tcpdump -i nflog:G | tunnelscope classify -)', () => {
  it.skipIf(why !== null)(`VPN verdicts from the packets a firewall rule logs, each within 1 s${why ? ` — skipped: ${why}` : ''}`, async () => {
    expect(existsSync(BIN)).toBe(true);
    const peers = await LoopbackPeers.open();
    const ports = peers.ports.join(', ');
    const setup = [
      ['add', 'table', 'inet', TABLE],
      ['add', 'chain', 'inet', TABLE, 'out', '{ type filter hook output priority 0; policy accept; }'],
      // Both directions of our flows, each datagram once (loopback traffic also passes the input hook).
      ['add', 'rule', 'inet', TABLE, 'out', 'ip', 'daddr', '127.0.0.1', 'udp', 'dport', `{ ${ports} }`, 'log', 'group', String(GROUP), 'queue-threshold', '1'],
      ['add', 'rule', 'inet', TABLE, 'out', 'ip', 'daddr', '127.0.0.1', 'udp', 'sport', `{ ${ports} }`, 'log', 'group', String(GROUP), 'queue-threshold', '1'],
    ];
    const cli = spawn(process.execPath, [BIN, 'classify', '-', '--emit', 'verdicts', '--only', 'vpn'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const watch = watchVerdicts(cli);
    let sent: SentFlow[] = [];
    let cap: Awaited<ReturnType<typeof startCapture>> | null = null;
    try {
      for (const a of setup) {
        const r = nftRun(a);
        expect(r.ok, `nft ${a.join(' ')}: ${r.err}`).toBe(true);
      }
      cap = await startCapture(peers.ports, { args: ['-i', `nflog:${GROUP}`, '-n', '-U', '--immediate-mode', '-w', '-'], into: cli.stdin, noFilter: true });
      sent = await sendFlows(peers, watch, ['wireguard', 'openvpn', 'ordinary'], 12, 3000, expect);
    } finally {
      cli.kill('SIGINT');
      await cap?.stop();
      peers.close();
      nftRun(['delete', 'table', 'inet', TABLE]);
    }
    expect(await watch.exit).toBe(0);
    const delays = verdictDelays(sent, watch, expect);
    // The whole run saw only what the rule logged: our flows, nothing skipped as undecodable.
    expect(watch.stderr()).toMatch(/tunnelscope: \d+ packets, \d+ flows, \d+ VPN flows/);
    expect(watch.stderr()).not.toMatch(/skipped:/);
    console.log(`NFLOG live (nft log group ${GROUP} | tcpdump -i nflog:${GROUP} | tunnelscope classify -): ${delays.length} VPN verdicts, delay after the handshake median ${median(delays).toFixed(1)} ms, max ${Math.max(...delays).toFixed(1)} ms`);
    expect(delays).toHaveLength(8);
    expect(Math.max(...delays)).toBeLessThan(1000);
  });
});
