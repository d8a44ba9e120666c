/** Frame-level flow builders for session tests (TLS, DTLS, ESP-in-UDP flows between two fixed hosts). */
import { createClassifier, type ClassifierOptions } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import type { VerdictEvent } from '../../src/classify/session.js';
import { buildFrame, TCP_ACK, TCP_FIN, TCP_SYN, type FrameSpec } from '../../src/trace/frame-builder.js';
import { alpnExt, dtlsRecord, ext, helloBody, sniExt, tlsRecord } from '../detect/names/builders.js';

export const CLIENT = '192.0.2.10';
export const SERVER = '198.51.100.7';
export const OTHER = '198.51.100.99';

export interface Pkt extends FrameSpec {
  t: number; // seconds
}

export function classify(pkts: Pkt[], verdicts: VerdictEvent[] = [], options: { companionWindowS?: number; sslVpnEspPorts?: number[]; sideConnectionWindowS?: number } = {}): FlowRecord[] {
  const s = createClassifier(options).session();
  const out: FlowRecord[] = [];
  s.on('flow', (r: FlowRecord) => out.push(r));
  s.on('verdict', (v: VerdictEvent) => verdicts.push(v));
  for (const p of [...pkts].sort((a, b) => a.t - b.t)) s.push(buildFrame(p), BigInt(Math.round(p.t * 1e6)) * 1000n);
  s.end();
  return out;
}

/** A TCP connection CLIENT:sport → SERVER:dport: the three-way handshake, then `payloads` 10 ms apart (dir 0 = client). */
export function tcpConnection(sport: number, dport: number, payloads: readonly { dir: 0 | 1; payload: Uint8Array }[], t0 = 1): Pkt[] {
  const c = { src: CLIENT, dst: SERVER, proto: 6, srcPort: sport, dstPort: dport };
  const s = { src: SERVER, dst: CLIENT, proto: 6, srcPort: dport, dstPort: sport };
  return [
    { ...c, t: t0, tcpFlags: TCP_SYN }, { ...s, t: t0 + 0.01, tcpFlags: TCP_SYN | TCP_ACK }, { ...c, t: t0 + 0.02, tcpFlags: TCP_ACK },
    ...payloads.map((p, k) => ({ ...(p.dir === 0 ? c : s), t: t0 + 0.03 + k * 0.01, payload: p.payload })),
  ];
}

export const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 17 + 7) & 255);

/** A TLS connection: handshake, 12 application-data records spread over `dur` seconds, then FIN both ways. */
export function tlsFlow(cport: number, sport: number, t0: number, dur: number, server = SERVER): Pkt[] {
  const c = { src: CLIENT, dst: server, proto: 6, srcPort: cport, dstPort: sport };
  const s = { src: server, dst: CLIENT, proto: 6, srcPort: sport, dstPort: cport };
  const hello = tlsRecord(helloBody({ exts: [sniExt('vpn.example.com')] }));
  const out: Pkt[] = [
    { ...c, t: t0, tcpFlags: TCP_SYN },
    { ...s, t: t0 + 0.01, tcpFlags: TCP_SYN | TCP_ACK },
    { ...c, t: t0 + 0.02, tcpFlags: TCP_ACK },
    { ...c, t: t0 + 0.03, payload: hello },
  ];
  for (let i = 0; i < 12; i++) {
    const t = t0 + 0.05 + (dur * i) / 12;
    out.push({ ...(i % 2 ? c : s), t, payload: Uint8Array.from([0x17, 0x03, 0x03, 0, 64, ...bytes(64, i)]) });
  }
  out.push({ ...c, t: t0 + dur + 0.1, tcpFlags: TCP_FIN | TCP_ACK }, { ...s, t: t0 + dur + 0.11, tcpFlags: TCP_FIN | TCP_ACK }, { ...c, t: t0 + dur + 0.12, tcpFlags: TCP_ACK });
  return out;
}

export function dtlsHello(opts: { srtp?: boolean } = {}): Uint8Array {
  const exts = [sniExt('vpn.example.com'), alpnExt(['x'])];
  if (opts.srtp) exts.push(ext(14, [0, 2, 0, 1, 0]));
  return dtlsRecord(helloBody({ version: 0xfefd, cookie: [], suites: [0xc02b, 0xc02f], exts }));
}

/** A UDP flow client→server:dport whose first datagram is `first`, then encrypted-looking records. */
export function udpFlow(dport: number, t0: number, first: Uint8Array, server = SERVER): Pkt[] {
  const c = { src: CLIENT, dst: server, proto: 17, srcPort: 40001, dstPort: dport };
  const s = { src: server, dst: CLIENT, proto: 17, srcPort: dport, dstPort: 40001 };
  const out: Pkt[] = [{ ...c, t: t0, payload: first }];
  for (let i = 0; i < 10; i++) out.push({ ...(i % 2 ? c : s), t: t0 + 0.01 * (i + 1), payload: Uint8Array.from([0x17, 0xfe, 0xfd, 0, 1, ...bytes(80, i)]) });
  return out;
}

/** ESP-in-UDP packets client→server:dport: constant SPI, sequence 1, 2, 3… */
export function espFlow(dport: number, t0: number, n = 10, server = SERVER): Pkt[] {
  const out: Pkt[] = [];
  for (let i = 0; i < n; i++) {
    const p = new Uint8Array(100);
    p.set([0x4a, 0x11, 0x22, 0x33, 0, 0, 0, i + 1], 0);
    p.set(bytes(92, i), 8);
    out.push({ src: CLIENT, dst: server, proto: 17, srcPort: 40002, dstPort: dport, t: t0 + 0.02 * i, payload: p });
  }
  return out;
}


/** A companion-index flow given as plain fields (no flow table): IPv4 `src4` → 198.51.100.7, with texts for reasons. */
export function stubFlow(transport: number, src4: number, srcPort: number, dstPort: number, srcText = '', dstText = '') {
  return {
    transport, ipVersion: 4 as const, src4, dst4: 0xc6336407, srcPort, dstPort, firstSeenUs: 0, lastSeenUs: 1,
    addrBytes: () => new Uint8Array(0), src6Off: () => 0, dst6Off: () => 0, srcText: () => srcText, dstText: () => dstText,
  };
}

/** The record of one ESP flow (UDP 4500) classified with `options`: what a list hit on its endpoints names. */
export function espFlowRecord(options: ClassifierOptions): FlowRecord {
  const s = createClassifier(options).session();
  const out: FlowRecord[] = [];
  s.on('flow', (r: FlowRecord) => out.push(r));
  for (const p of espFlow(4500, 1)) s.push(buildFrame(p), BigInt(Math.round(p.t * 1e6)) * 1000n);
  s.end();
  if (out.length !== 1) throw new Error(`one ESP flow gave ${out.length} records`);
  return out[0]!;
}
