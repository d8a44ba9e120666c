/**
 * The CLI help's own live example, run as written on the loopback interface: the real tcpdump (`eth0` → `lo`,
 * plus a filter on this test's ports) piped into the built `tunnelscope classify - --emit verdicts --only vpn`,
 * while this process exchanges WireGuard-, OpenVPN- and ordinary-shaped datagrams over 127.0.0.1. Every VPN
 * verdict line must arrive within 1 s of the datagram completing its handshake, no ordinary flow is printed,
 * and a Ctrl-C (SIGINT to both, as a terminal sends it) ends the run with exit 0 and the summary. Only loopback,
 * our own ports; bounded in count (24 flows) and time.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { captureUnavailable, LoopbackPeers, median, sendFlows, startCapture, verdictDelays, watchVerdicts, type SentFlow } from '../helpers/live-capture.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'cli.js');
const why = captureUnavailable();

/** The live example line of `tunnelscope classify --help`, split into the tcpdump and tunnelscope commands. */
function helpExample(): { tcpdump: string[]; tunnelscope: string[] } {
  const help = spawnSync(process.execPath, [BIN, 'classify', '--help'], { encoding: 'utf8' }).stdout;
  const line = help.split('\n').map((l) => l.trim()).find((l) => l.startsWith('tcpdump ') && l.includes('| tunnelscope classify -'));
  if (!line) throw new Error(`no live example in classify --help:\n${help}`);
  const [left, right] = line.split('|').map((s) => s.trim().split(/\s+/));
  return { tcpdump: left!.slice(1), tunnelscope: right!.slice(1) };
}

describe('the CLI help’s live example on lo (tcpdump | tunnelscope classify -)', () => {
  it.skipIf(why !== null)(`each VPN verdict line within 1 s of its handshake${why ? ` — skipped: ${why}` : ''}`, async () => {
    const ex = helpExample();
    expect(ex.tcpdump).toContain('-U');
    expect(ex.tunnelscope).toEqual(expect.arrayContaining(['classify', '-', '--emit', 'verdicts']));
    const iface = ex.tcpdump.indexOf('-i');
    expect(iface).toBeGreaterThanOrEqual(0);
    const peers = await LoopbackPeers.open();
    // The example's options as written, on lo, plus a filter on our ports (the expression comes last).
    const args = ex.tcpdump.map((a, i) => (i === iface + 1 ? 'lo' : a));
    const cli = spawn(process.execPath, [BIN, ...ex.tunnelscope], { stdio: ['pipe', 'pipe', 'pipe'] });
    const cap = await startCapture(peers.ports, { args, into: cli.stdin });
    const watch = watchVerdicts(cli);
    let sent: SentFlow[] = [];
    try {
      sent = await sendFlows(peers, watch, ['wireguard', 'openvpn', 'ordinary', 'ordinary'], 24, 2000, expect);
    } finally {
      // Ctrl-C in a terminal reaches the whole pipeline.
      cli.kill('SIGINT');
      await cap.stop();
      peers.close();
    }
    expect(await watch.exit).toBe(0);
    expect(watch.stderr()).toMatch(/tunnelscope: \d+ packets, \d+ flows, \d+ VPN flows/);
    const delays = verdictDelays(sent, watch, expect);
    console.log(`CLI live (tcpdump ${args.join(' ')} | tunnelscope ${ex.tunnelscope.join(' ')}): ${delays.length} VPN verdicts, delay after the handshake median ${median(delays).toFixed(1)} ms, max ${Math.max(...delays).toFixed(1)} ms`);
    expect(delays).toHaveLength(12);
    expect(Math.max(...delays)).toBeLessThan(1000);
  });
});
