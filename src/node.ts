/**
 * `tunnelscope/node`: label connections inside a Node gateway built on node:net / node:dgram.
 *
 * TCP: `classifySocket` peeks at the client's first bytes without consuming them (they are unshifted back into
 * the socket, which is left paused), labels the connection from its addresses and those bytes, and hands the
 * verdict to the embedder, who decides what to do. UDP: `DatagramClassifier` follows each 4-tuple's first
 * datagrams (bounded LRU) and reports a verdict once per flow. Policy stays with the embedder.
 */
import type { Socket } from 'node:net';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { LRUCache } from 'lru-cache';
import type { Classifier } from './classify/classifier.js';
import type { Verdict } from './classify/types.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './detect/types.js';
import type { ArrayPacket } from './detect/array-flow.js';

export type { Verdict } from './classify/types.js';

function stripMapped(a: string | undefined): string {
  if (!a) return '0.0.0.0';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

export interface SocketClassifyOptions {
  /** How long to wait for the client's first bytes before deciding from addresses alone (ms, default 2000). */
  firstBytesTimeoutMs?: number;
  /** At most this many first bytes are inspected (default 16384). */
  maxBytes?: number;
}

/**
 * Label an accepted TCP connection (server side: the remote peer is the initiator). Resolves once; never
 * rejects for network reasons (a socket that closes or errors early is decided from what was seen).
 * The socket is left paused with its first bytes unread: call `socket.resume()`, attach 'data', or `pipe()`.
 * @example
 * server.on('connection', async (sock) => {
 *   const v = await classifySocket(classifier, sock);
 *   if (v.label === 'unregistered_vpn') return sock.destroy();
 *   sock.pipe(upstream).pipe(sock);
 * });
 */
export function classifySocket(classifier: Classifier, socket: Socket, options: SocketClassifyOptions = {}): Promise<Verdict> {
  const timeoutMs = options.firstBytesTimeoutMs ?? 2000;
  const maxBytes = options.maxBytes ?? 16384;
  return new Promise((resolve) => {
    let done = false;
    const finish = (first: Uint8Array | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('close', onClose);
      socket.off('error', onClose);
      socket.pause();
      const packets: ArrayPacket[] = first && first.length ? [{ dir: 0, bytes: first.subarray(0, maxBytes) }] : [];
      resolve(
        classifier.classifyFlow({
          transport: IPPROTO_TCP,
          src: stripMapped(socket.remoteAddress),
          dst: stripMapped(socket.localAddress),
          srcPort: socket.remotePort ?? 0,
          dstPort: socket.localPort ?? 0,
          packets,
        }),
      );
    };
    const onReadable = (): void => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null) return;
      socket.unshift(chunk);
      finish(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    };
    const onClose = (): void => finish(null);
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.on('readable', onReadable);
    socket.once('close', onClose);
    socket.once('error', onClose);
  });
}

export interface DatagramOptions {
  /** Datagrams per 4-tuple inspected at most (default 8). */
  maxPackets?: number;
  /** Tuples tracked at once (default 100000); least recently used are forgotten. */
  maxFlows?: number;
  /** Forget a tuple after this many ms without traffic (default 120000). */
  idleMs?: number;
}

interface UdpFlow {
  packets: ArrayPacket[];
  verdict: Verdict | null;
}

/**
 * Follows UDP 4-tuples and reports one verdict per tuple as soon as it is final (or after `maxPackets`).
 * Feed it every datagram in both directions with `inspect`; or `attach` it to a dgram socket (it only listens,
 * so the application's own 'message' handlers still see every datagram).
 */
export class DatagramClassifier {
  private readonly flows: LRUCache<string, UdpFlow>;
  private readonly maxPackets: number;

  constructor(private readonly classifier: Classifier, options: DatagramOptions = {}) {
    this.maxPackets = options.maxPackets ?? 8;
    this.flows = new LRUCache<string, UdpFlow>({ max: options.maxFlows ?? 100_000, ttl: options.idleMs ?? 120_000, updateAgeOnGet: true });
  }

  /**
   * Account one datagram. `from`/`to` are the sender and receiver. Returns the verdict the first time it is
   * final for this tuple, else undefined.
   */
  inspect(msg: Uint8Array, from: { address: string; port: number }, to: { address: string; port: number }): Verdict | undefined {
    const a = `${stripMapped(from.address)}|${from.port}`;
    const b = `${stripMapped(to.address)}|${to.port}`;
    const fwdKey = `${a}>${b}`;
    const revKey = `${b}>${a}`;
    let f = this.flows.get(fwdKey);
    let dir = 0;
    let key = fwdKey;
    if (!f) {
      const r = this.flows.get(revKey);
      if (r) {
        f = r;
        dir = 1;
        key = revKey;
      }
    }
    if (!f) {
      f = { packets: [], verdict: null };
      this.flows.set(key, f);
    }
    if (f.verdict || f.packets.length >= this.maxPackets) return undefined;
    f.packets.push({ dir, bytes: Uint8Array.from(msg.subarray(0, 2048)), len: msg.length });
    const [srcA, srcP] = key.split('>')[0]!.split('|');
    const [dstA, dstP] = key.split('>')[1]!.split('|');
    const v = this.classifier.classifyFlow({
      transport: IPPROTO_UDP,
      src: srcA!,
      dst: dstA!,
      srcPort: Number(srcP),
      dstPort: Number(dstP),
      packets: f.packets,
    });
    const strong = v.evidence.some((e) => e.strength === 'strong');
    if (strong || f.packets.length >= this.maxPackets) {
      f.verdict = v;
      f.packets = [];
      return v;
    }
    return undefined;
  }

  /** Listen on a bound dgram socket; `onVerdict` gets each tuple's final verdict. Returns a detach function. */
  attach(socket: UdpSocket, onVerdict: (v: Verdict, peer: RemoteInfo) => void): () => void {
    const h = (msg: Buffer, rinfo: RemoteInfo): void => {
      const local = socket.address();
      const v = this.inspect(msg, rinfo, local);
      if (v) onVerdict(v, rinfo);
    };
    socket.on('message', h);
    return () => socket.off('message', h);
  }
}
