/** Real-socket fixtures for the node adapter tests: servers on loopback (random ports), hostile clients, payloads. */
import net from 'node:net';
import dgram from 'node:dgram';
import v8 from 'node:v8';
import vm from 'node:vm';
import { once } from 'node:events';
import fc from 'fast-check';
import { classifySocket, type SocketClassifyOptions, type SocketVerdict } from '../../src/node.js';
import type { Classifier } from '../../src/classify/classifier.js';
import { clientHello, record } from '../../src/synth/tls.js';
import { Rng } from '../../src/synth/rng.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Loopback hosts every test runs on; `::` is the dual-stack wildcard (IPv4 clients arrive IPv4-mapped). */
export const HOSTS = ['127.0.0.1', '::1'] as const;

export interface Accepted {
  verdict: SocketVerdict;
  /** remoteAddress read by the embedder before classifying (as gateways do for logging). */
  remote: string | undefined;
  /** Everything the application read after classification, and whether the stream ended cleanly. */
  read: Promise<{ bytes: Buffer; ended: boolean }>;
  ms: number;
}

/**
 * A TCP server that classifies each connection, then reads the socket to its end. Listens on `host` (port 0).
 * Errors on accepted sockets are recorded, never thrown (a reset client is normal).
 */
export async function classifyingServer(classifier: Classifier, host: string, options: SocketClassifyOptions = {}) {
  const accepted: Promise<Accepted>[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    const remote = sock.remoteAddress;
    const t0 = performance.now();
    accepted.push(
      classifySocket(classifier, sock, options).then((verdict) => {
        const ms = performance.now() - t0;
        const read = new Promise<{ bytes: Buffer; ended: boolean }>((resolve) => {
          const chunks: Buffer[] = [];
          let ended = false;
          sock.on('data', (c: Buffer) => chunks.push(c));
          sock.on('end', () => {
            ended = true;
            sock.end();
          });
          sock.on('close', () => resolve({ bytes: Buffer.concat(chunks), ended }));
          sock.resume();
        });
        return { verdict, remote, read, ms };
      }),
    );
  });
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Connect, send `segments` with a pause before each (one write each; TCP_NODELAY so writes leave at once). */
export async function sendSegments(host: string, port: number, segments: Uint8Array[], pausesMs: number[] = [], then: 'end' | 'reset' | 'wait' = 'end'): Promise<net.Socket> {
  const c = net.connect({ port, host, noDelay: true });
  c.on('error', () => {});
  await once(c, 'connect');
  for (let i = 0; i < segments.length; i++) {
    const p = pausesMs[i] ?? 0;
    if (p > 0) await sleep(p);
    if (segments[i]!.length > 0) c.write(segments[i]!);
  }
  if (then === 'end') c.end();
  else if (then === 'reset') c.resetAndDestroy();
  return c;
}

/** Cut `bytes` at the given offsets (sorted, deduplicated, inside). */
export function cut(bytes: Uint8Array, at: readonly number[]): Uint8Array[] {
  const pts = [...new Set(at.filter((x) => x > 0 && x < bytes.length))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let s = 0;
  for (const p of pts) {
    out.push(bytes.subarray(s, p));
    s = p;
  }
  out.push(bytes.subarray(s));
  return out;
}

/** A TLS 1.3 ClientHello record to `host` (deterministic). */
export function tlsHello(host: string, seed = 1): Uint8Array {
  return record(22, 0x0301, clientHello({ host, alpn: ['h2', 'http/1.1'] }, new Rng(seed)));
}

/** The same ClientHello split over two handshake records (RFC 8446 §5.1 allows it; large hellos do it). */
export function tlsHelloTwoRecords(host: string, seed = 1): Uint8Array {
  const hs = clientHello({ host, alpn: ['h2'] }, new Rng(seed));
  const k = Math.floor(hs.length / 2);
  const a = record(22, 0x0301, hs.subarray(0, k));
  const b = record(22, 0x0301, hs.subarray(k));
  return Uint8Array.from([...a, ...b]);
}

export function httpRequest(host: string, body = ''): Uint8Array {
  const cl = body ? `Content-Length: ${body.length}\r\n` : '';
  return Buffer.from(`GET /index.html HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: t\r\n${cl}\r\n${body}`, 'latin1');
}

export function sstpRequest(): Uint8Array {
  return Buffer.from(
    'SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nHost: vpn.example.net\r\nContent-Length: 18446744073709551615\r\nSSTPCORRELATIONID: {11111111-2222-3333-4444-555555555555}\r\n\r\n',
    'latin1',
  );
}

/** OpenVPN over TCP: a client hard reset V2 (mode N: no tls-auth) with its 2-byte length prefix. */
export function openvpnTcpReset(seed = 3): Uint8Array {
  const r = new Rng(seed);
  const pkt = [0x38, ...r.bytes(8), 0, 0, 0, 0, 0];
  return Uint8Array.from([pkt.length >> 8, pkt.length & 255, ...pkt]);
}

/** PPTP Start-Control-Connection-Request (RFC 2637 §2.1): 156 bytes. */
export function pptpSccrq(): Uint8Array {
  const b = new Uint8Array(156);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, 156);
  dv.setUint16(2, 1);
  dv.setUint32(4, 0x1a2b3c4d);
  dv.setUint16(8, 1);
  dv.setUint16(12, 0x0100);
  dv.setUint32(16, 3);
  dv.setUint32(20, 3);
  dv.setUint16(26, 1);
  b.set(Buffer.from('client'), 28);
  b.set(Buffer.from('vendor'), 92);
  return b;
}

/** tinc meta connection ID line (protocol 17.7). */
export function tincId(name = 'node_a'): Uint8Array {
  return Buffer.from(`0 ${name} 17.7\n`, 'latin1');
}

/** A UDP socket bound on `host` (port 0), closed by the returned function. */
export async function udpSocket(type: 'udp4' | 'udp6', host: string, opts: { ipv6Only?: boolean } = {}): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type, ...(opts.ipv6Only !== undefined ? { ipv6Only: opts.ipv6Only } : {}) });
  s.bind(0, host);
  await once(s, 'listening');
  return s;
}

export function wgInit(sender: number): Buffer {
  const b = Buffer.alloc(148);
  b[0] = 1;
  b.writeUInt32LE(sender, 4);
  for (let i = 8; i < 116; i++) b[i] = (i * 37 + 11) & 255;
  return b;
}
export function wgResp(sender: number, receiver: number): Buffer {
  const b = Buffer.alloc(92);
  b[0] = 2;
  b.writeUInt32LE(sender, 4);
  b.writeUInt32LE(receiver, 8);
  for (let i = 12; i < 60; i++) b[i] = (i * 53 + 7) & 255;
  return b;
}

/** heapUsed + arrayBuffers after two full collections (exposes gc in this process). */
export function usedAfterGc(): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Datagram payloads for the UDP adapter's oracle properties: random bytes, WireGuard initiations and responses, an
 * OpenVPN hard reset (its UDP form), and an OpenVPN-looking opcode byte on a short datagram.
 */
export const datagramPayload = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 300 }),
  fc.integer({ min: 0, max: 0xffff }).map((x) => wgInit(x)),
  fc.integer({ min: 0, max: 0xffff }).map((x) => wgResp(x + 1, x)),
  fc.constant(openvpnTcpReset().subarray(2)),
  fc.constant(Uint8Array.from([0x38, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0])),
);
