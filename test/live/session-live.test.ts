/**
 * Live capture into a classifier session: the real tcpdump on lo (our own ports only) streams pcap into
 * readCaptureStream while this process exchanges WireGuard-, OpenVPN- and ordinary-shaped datagrams over
 * 127.0.0.1. Each VPN flow's verdict event must come within 1 s of the datagram that completes its handshake
 * (the label is final there); ordinary flows stay ordinary. Prints the measured delays.
 */
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import type { VerdictEvent } from '../../src/classify/session.js';
import { readCaptureStream } from '../../src/trace/reader.js';
import { captureUnavailable, flowKey, LoopbackPeers, median, sleep, startCapture, type FlowKind, type SentFlow } from '../helpers/live-capture.js';

const why = captureUnavailable();

describe('live capture into a session (tcpdump on lo)', () => {
  it.skipIf(why !== null)(`each VPN verdict within 1 s of its handshake${why ? ` — skipped: ${why}` : ''}`, async () => {
    const peers = await LoopbackPeers.open();
    const cap = await startCapture(peers.ports);
    const session = createClassifier().session();
    const arrived = new Map<string, { at: number; v: VerdictEvent }>();
    const records: FlowRecord[] = [];
    session.on('verdict', (v: VerdictEvent) => arrived.set(flowKey(v.flow), { at: performance.now(), v }));
    session.on('flow', (r: FlowRecord) => records.push(r));
    const reading = readCaptureStream(cap.stdout!, 'tcpdump', (raw) => session.pushRaw(raw));
    const sent: SentFlow[] = [];
    const kinds: FlowKind[] = ['wireguard', 'openvpn', 'ordinary', 'ordinary'];
    try {
      for (let i = 0; i < 24; i++) {
        sent.push(await peers.flow(kinds[i % kinds.length]!, 1000 + i));
        await sleep(40);
      }
      await sleep(1200);
    } finally {
      await cap.stop();
      await reading;
      session.end();
      peers.close();
    }
    const delays: number[] = [];
    for (const f of sent.filter((x) => x.kind !== 'ordinary')) {
      const a = arrived.get(flowKey(f));
      expect(a, `verdict for ${f.kind} ${f.src}`).toBeDefined();
      expect(a!.v.verdict).toMatchObject({ label: 'unregistered_vpn', protocol: f.kind, decidedAtPacket: 2 });
      delays.push(a!.at - f.handshakeAt);
    }
    for (const f of sent.filter((x) => x.kind === 'ordinary')) expect(records.find((r) => flowKey(r) === flowKey(f))?.label).toBe('ordinary');
    console.log(`session, live: ${delays.length} VPN verdicts, delay after the handshake median ${median(delays).toFixed(1)} ms, max ${Math.max(...delays).toFixed(1)} ms`);
    expect(Math.max(...delays)).toBeLessThan(1000);
  });
});
