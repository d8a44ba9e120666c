/**
 * `DatagramClassifier`: one verdict per UDP 4-tuple for a gateway built on node:dgram.
 *
 * It is a {@link ClassifierSession} fed from the socket: each datagram becomes the packet view a decoder would
 * make of its IP/UDP frame, filled in from the socket's addresses and ports with the datagram itself as payload
 * (nothing copied), and goes through the same flow table and incremental detection as a capture, so a tuple costs
 * one flow-table slot plus
 * the first bytes detectors read (48 bytes of at most `maxPackets` datagrams, released when its verdict is final),
 * each datagram is inspected once, and the verdict is the one the CLI would give for the same traffic. Tunnels
 * are never opened (a datagram's payload is the peer's to choose). Idle tuples end after `idleMs` (a timer
 * advances the session's clock when no traffic does); the tuple cap follows both `maxFlows` and `maxBytes`.
 *
 * Given a {@link ClassifierPool} instead of a Classifier, the work moves off the receiving thread: each datagram is
 * copied with the IP and UDP headers a capture would show into the pool's batch buffers, the pool's workers run
 * the same session, and verdicts come back in batches (the receiving thread's share, verdict delivery included,
 * about half of classifying here: bench/RESULTS-node.md §11). Verdicts then arrive asynchronously (within
 * `flushMs` plus the worker's time), and a datagram arriving while `queueBytes` already wait for its worker is
 * counted in `stats.lost`, not queued without bound.
 */
import { EventEmitter } from 'node:events';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import type { Classifier } from '../classify/classifier.js';
import { ClassifierPool } from '../pool/pool.js';
import type { LiveVerdict } from '../pool/protocol.js';
import type { ClassifierSession } from '../classify/session.js';
import type { Verdict } from '../classify/types.js';
import { IPPROTO_UDP } from '../detect/types.js';
import { checkClassifier, checkKnownOptions, checkOptions, describeValue, InvalidArgumentError, MAX_DURATION_SEC, numberOption } from '../errors.js';
import type { FlowHandle, PacketView } from '../trace/types.js';
import { newPacketView } from '../trace/decode.js';
import { isUnspecified, LocalAddresses, parseSockAddr, UNSPECIFIED4, UNSPECIFIED6, type SockAddr } from './address.js';

export interface DatagramOptions {
  /** Datagrams per tuple inspected at most (default 8; 1–255). */
  maxPackets?: number;
  /** Tuples tracked at once (default 100000); the least recently active is ended first. */
  maxFlows?: number;
  /**
   * Memory budget in bytes (default 256 MiB): the tuple cap is lowered to `floor((maxBytes - fixed) /
   * bytesPerTuple)` when that is below `maxFlows` (see {@link DatagramClassifier.bytesPerTuple}), ~4 KiB per tuple,
   * 2.5 times the worst measured under hostile floods (typical tuples hold 200–1400 bytes).
   */
  maxBytes?: number;
  /** End a tuple after this many ms without traffic (default 120000); its verdict is reported then if not before. */
  idleMs?: number;
  /**
   * With a ClassifierPool: ms between batches sent to the workers (default 5; 1–1000), the most a datagram waits
   * before its worker sees it. A batch that fills goes at once.
   */
  flushMs?: number;
  /**
   * With a ClassifierPool: bytes of datagrams (and their headers) waiting for each worker at most (default 16 MiB,
   * ~0.5 s at 100k datagrams/s of 300 bytes; at least one of the pool's batches). A datagram beyond it is counted
   * in `stats.lost`.
   */
  queueBytes?: number;
}

export interface AttachOptions {
  /**
   * For a socket bound to a wildcard (`0.0.0.0`, `::`): the address(es) it serves, at most one per family, matched
   * against the lists as the flows' local end (Node does not report which local address a datagram reached).
   * `'0.0.0.0'` / `'::'` match nothing on that side. Without it the host's only global address of the peer's
   * family is used (loopback peers: the loopback address); `attach` throws when the host has several.
   */
  localAddress?: string | readonly string[];
}

/** A tuple: initiator (first sender) and responder. */
export interface DatagramFlow {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
}

export interface DatagramStats {
  /** Datagrams inspected (inspect calls and attached sockets). */
  datagrams: number;
  /** Tuples tracked now, and the cap in force. */
  liveTuples: number;
  maxTuples: number;
  /** Tuples seen, verdicts reported. */
  tuples: number;
  verdicts: number;
  /** Tuples ended by idle timeout, and by eviction at the cap. */
  idle: number;
  evicted: number;
  /** Datagrams of an attached socket whose peer address could not be read (not accounted). */
  skipped: number;
  /**
   * With a ClassifierPool: datagrams not classified because the workers were behind (their batch queue full) or
   * the pool had failed. Always 0 in process.
   */
  lost: number;
}

const MiB = 1024 * 1024;
/** Snippet bytes kept per recorded datagram (the flow table's default; detectors read earlier packets below it). */
const SNIPPET_BYTES = 48;
/**
 * Bytes a tuple may hold besides its snippets: the flow table's slot records and hash index and the session's
 * per-slot arrays (~300), and the detection state of a tuple still undecided, which the engine caps (at most 16
 * evidence items and 4 names). Measured in test/node/datagram-memory.test.ts, snippets included: WireGuard
 * handshakes 330 B/tuple, random payloads 1.1 KB, DNS queries with four maximal names 0.5 KB, OpenVPN resets
 * keeping evidence 1.4 KB; this allows ~2.5 times the worst of them.
 */
const TUPLE_FIXED_BYTES = 3584;
/**
 * Held whatever the tuple count: the snippet pools' chunk granularity (1024 slots of each tier) and the session's
 * pool of 1024 spare detection objects.
 */
function fixedBytes(maxPackets: number): number {
  return 1024 * (2 + maxPackets) * (SNIPPET_BYTES + 6) + 1024 * 256;
}
/** Datagrams are at most 65535 bytes of IP payload. */
const MAX_UDP_PAYLOAD6 = 65535 - 8;
const MAX_UDP_PAYLOAD4 = 65535 - 20 - 8;

interface Attachment {
  socket: UdpSocket;
  local: LocalAddresses;
  port: number;
  v6: boolean;
  onVerdict: (v: Verdict, peer: RemoteInfo) => void;
}

/** `ip:port` / `[ipv6]:port` as the session formats endpoints. */
function splitEndpoint(text: string): { address: string; port: number } {
  const c = text.lastIndexOf(':');
  const host = text.startsWith('[') ? text.slice(1, c - 1) : text.slice(0, c);
  return { address: host, port: Number(text.slice(c + 1)) };
}

/**
 * Follows UDP 4-tuples and reports one verdict per tuple: as soon as it is final, else when the tuple ends
 * (idle, evicted at the cap, or {@link close}). Feed it every datagram, in either direction, with
 * {@link inspect}; or {@link attach} it to a dgram socket (it only listens: the application's own 'message'
 * handlers still see every datagram). Events: `verdict` (verdict, DatagramFlow) for every tuple.
 */
export class DatagramClassifier extends EventEmitter {
  /** Bytes one tuple may hold with these options (the divisor of `maxBytes`). */
  readonly bytesPerTuple: number;
  /** The tuple cap in force: min(maxFlows, floor((maxBytes - fixed) / bytesPerTuple)). */
  readonly maxTuples: number;
  /** In process: the session datagrams go through; null with a pool. */
  private readonly session: ClassifierSession | null = null;
  /** Off the receiving thread: the pool whose live input this classifier owns; null in process. */
  private readonly pool: ClassifierPool | null = null;
  /** A pooled datagram's IP and UDP headers, as a capture would show them. */
  private readonly hdr = new Uint8Array(48);
  private lost = 0;
  /** The pool's failure, once seen (reported once as an 'error' event when someone listens). */
  private poolFailure: Error | null = null;
  private deliverScheduled = false;
  /** The pushed datagram's packet view: the constant fields are set once (UDP, no VLAN, tunnel, fragment or SPI). */
  private readonly view: PacketView = udpView();
  /** An IPv6 datagram's addresses (source, destination), which the flow table reads from bytes. */
  private readonly addr6 = new Uint8Array(32);
  private readonly attachments: Attachment[] = [];
  /** Sockets attached now (bound or not yet), with their detach functions. */
  private readonly detachers = new Map<UdpSocket, () => void>();
  private skipped = 0;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private datagrams = 0;
  /** The tuple of the datagram being pushed, and its verdict if this datagram made it final. */
  private curA: SockAddr = UNSPECIFIED4;
  private curB: SockAddr = UNSPECIFIED4;
  private curAPort = 0;
  private curBPort = 0;
  private curVerdict: Verdict | undefined;
  /** The pushed datagram's time (Infinity between pushes: no verdict is a datagram's then). */
  private readonly curTs = new Float64Array([Infinity]);
  /**
   * Verdicts found during a push or a clock tick, delivered once the session is back in a consistent state (an
   * exception in an embedder's handler must not unwind through the flow table).
   */
  private pending: Pending[] = [];
  /** The attachment the pushed datagram came through (null for `inspect`), and whether its end is the sender. */
  private curAtt: Attachment | null = null;
  private curLocalIsA = false;
  /** Address parse cache of the last `inspect` texts (a flood repeats one peer address). */
  private lastText: [string, string] = ['', ''];
  private lastAddr: [SockAddr | null, SockAddr | null] = [null, null];

  constructor(classifier: Classifier | ClassifierPool, options: DatagramOptions = {}) {
    super();
    const pooled = classifier instanceof ClassifierPool;
    if (!pooled) checkClassifier('DatagramClassifier', 'the first argument', classifier, 'session');
    checkOptions('DatagramClassifier', options);
    checkKnownOptions('DatagramClassifier', options, ['maxPackets', 'maxFlows', 'maxBytes', 'idleMs', 'flushMs', 'queueBytes']);
    const flushMs = numberOption('flushMs', options.flushMs, 5, 1, 1000);
    const queueBytes = numberOption('queueBytes', options.queueBytes, 16 * MiB, 1, 2 ** 40);
    for (const k of ['flushMs', 'queueBytes'] as const) {
      if (!pooled && options[k] !== undefined) throw new InvalidArgumentError(`DatagramClassifier: ${k} applies only with a ClassifierPool`);
    }
    const maxPackets = Math.floor(numberOption('maxPackets', options.maxPackets, 8, 1, 255));
    const maxFlows = Math.floor(numberOption('maxFlows', options.maxFlows, 100_000, 1, 1 << 28));
    const maxBytes = numberOption('maxBytes', options.maxBytes, 256 * MiB, 1, Number.MAX_SAFE_INTEGER);
    const idleMs = numberOption('idleMs', options.idleMs, 120_000, 0, MAX_DURATION_SEC * 1000);
    // Snippets: a small slot (2 datagrams) and a full one (maxPackets), per tuple at most, and their lengths.
    this.bytesPerTuple = TUPLE_FIXED_BYTES + (2 + maxPackets) * (SNIPPET_BYTES + 6);
    this.maxTuples = Math.min(maxFlows, Math.floor((maxBytes - fixedBytes(maxPackets)) / this.bytesPerTuple));
    if (this.maxTuples < 1) throw new InvalidArgumentError(`maxBytes ${maxBytes} holds no tuple (${this.bytesPerTuple} bytes each)`);
    const flow = { idleTimeoutSec: idleMs / 1000, maxFlows: this.maxTuples, maxPayloadPackets: maxPackets, payloadBytes: SNIPPET_BYTES };
    if (pooled) {
      // The workers' sessions are made as the in-process one below: the same verdicts, off this thread.
      classifier.ownLive({ flow, records: false, maxDnsBindings: 0, maxTunnelDepth: 0 }, flushMs, queueBytes, false);
      this.pool = classifier;
      classifier.on('verdict', this.onPoolVerdict);
    } else {
      const session = classifier.session({ flow, decoder: { maxTunnelDepth: 0 }, records: false, maxDnsBindings: 0 });
      session.setVerdictHook((f, v) => this.onSessionVerdict(f, v));
      this.session = session;
    }
    // The session's clock is capture time: advance it when no datagram does, so idle tuples end (and are freed).
    this.timer = setInterval(() => {
      if (this.session !== null) {
        this.session.advance(nowUs());
        this.deliver();
      } else {
        try {
          this.pool!.advance(nowUs());
        } catch (e) {
          this.onPoolFailure(e);
        }
      }
    }, Math.max(50, Math.min(1000, idleMs / 2)));
    this.timer.unref();
  }

  /** With a pool, the tuple counts are the workers' as of the last batch they handed back. */
  get stats(): DatagramStats {
    if (this.session === null) {
      const c = this.pool!.liveCounters();
      return {
        datagrams: this.datagrams, liveTuples: c.liveFlows, maxTuples: this.maxTuples, tuples: c.flows, verdicts: c.verdicts,
        idle: c.idle, evicted: c.evicted, skipped: this.skipped, lost: this.lost,
      };
    }
    const t = this.session.flowStats;
    return {
      datagrams: this.datagrams,
      liveTuples: this.session.liveFlows,
      maxTuples: this.maxTuples,
      tuples: t.flows,
      verdicts: this.session.stats.verdicts,
      idle: t.idle,
      evicted: t.evicted,
      skipped: this.skipped,
      lost: 0,
    };
  }

  /**
   * Account one datagram. `from`/`to` are its sender and receiver (IPv4-mapped addresses are read as IPv4; a
   * wildcard receiver becomes the unspecified address of the sender's family). Returns the tuple's verdict when
   * this datagram made it final, else undefined (verdicts are also emitted as `verdict` events); always undefined
   * with a pool (its verdicts are events only).
   * @throws {InvalidArgumentError} when `msg` is not a Uint8Array, a port is not an integer in 0–65535, an address
   *   is not an IP address, or sender and receiver are of different
   *   families (neither can come from a socket: `attach` resolves both ends itself)
   */
  inspect(msg: Uint8Array, from: { address: string; port: number }, to: { address: string; port: number }): Verdict | undefined {
    // A datagram given after close() would be neither accounted nor reported: say so rather than return as if
    // it were merely undecided.
    if (this.closed) throw new InvalidArgumentError('inspect: the classifier is closed');
    checkBytes(msg);
    checkEnd(from);
    checkEnd(to);
    const a = this.addr(0, from.address);
    let b = this.addr(1, to.address);
    if (a.v !== b.v) {
      if (isUnspecified(b)) b = a.v === 4 ? UNSPECIFIED4 : UNSPECIFIED6;
      else throw new InvalidArgumentError(`address families differ: ${from.address} ${to.address}`);
    }
    return this.push(msg, a, from.port, b, to.port);
  }

  /**
   * Listen on a dgram socket (bound now or later); `onVerdict` gets the verdict of each tuple on this socket's
   * port, with the peer, synchronously once the datagram that decided it is accounted (or from the idle timer /
   * `close()`). Returns a detach function; a socket that closes is detached by itself.
   * @throws {InvalidArgumentError} when the socket is attached already, or bound to a wildcard on a host whose
   *   address is ambiguous and no `localAddress` says which (see {@link AttachOptions.localAddress}); for a socket bound after
   *   `attach`, that error is emitted as an `'error'` event on this classifier at 'listening'
   */
  attach(socket: UdpSocket, onVerdict: (v: Verdict, peer: RemoteInfo) => void, options: AttachOptions = {}): () => void {
    // Twice, every datagram would be accounted twice (the second time as a copy of the first).
    if (this.detachers.has(socket)) throw new InvalidArgumentError('attach: the socket is already attached (detach it first)');
    // Neither would ever let go of the socket: a closed one emits no 'close' any more, and after close() nothing
    // detaches.
    if (this.closed) throw new InvalidArgumentError('attach: the classifier is closed');
    if (isClosedSocket(socket)) throw new InvalidArgumentError('attach: the socket is closed');
    checkOptions('attach', options);
    checkKnownOptions('attach', options, ['localAddress']);
    // What can be checked before the socket is bound is checked now, not as an 'error' event at 'listening'.
    LocalAddresses.parseGiven(options.localAddress);
    let att: Attachment | null = null;
    const bind = (): void => {
      const info = socket.address();
      const local = new LocalAddresses(info.address, options.localAddress);
      att = { socket, local, port: info.port, v6: info.family === 'IPv6' || (info.family as unknown) === 6, onVerdict };
      this.attachments.push(att);
    };
    // Bound later: an ambiguous local side can only be told then, as an 'error' event on this classifier; the
    // socket is detached first (kept, it would hold a listener that accounts nothing).
    const bindLater = (): void => {
      try {
        bind();
      } catch (e) {
        detach();
        this.emit('error', e);
      }
    };
    let bound = true;
    try {
      socket.address();
    } catch {
      bound = false;
    }
    // Resolve the local side now when bound, so an ambiguous host is reported to the caller, not to a listener.
    if (bound) bind();
    else socket.once('listening', bindLater);
    const h = (msg: Buffer, rinfo: RemoteInfo): void => {
      if (!att) return;
      const peer = this.peerAddr(rinfo.address);
      if (!peer) return;
      // The sender is the peer; the socket's end is the receiver.
      this.curAtt = att;
      this.curLocalIsA = false;
      this.push(msg, peer, rinfo.port, att.local.forPeer(peer), att.port);
    };
    socket.on('message', h);
    const detach = (): void => {
      socket.off('message', h);
      socket.off('listening', bindLater);
      socket.off('close', detach);
      const i = att ? this.attachments.indexOf(att) : -1;
      if (i >= 0) this.attachments.splice(i, 1);
      // A detach called again after the socket was attached anew must not drop the new attachment's entry.
      if (this.detachers.get(socket) === detach) this.detachers.delete(socket);
    };
    this.detachers.set(socket, detach);
    // A socket the application closes is detached with it: kept, it would hold the socket (one per client, for a
    // proxy's upstream sockets) and take the verdicts of a later socket bound to its port.
    socket.once('close', detach);
    return detach;
  }

  /**
   * Account a datagram the application sent on an attached socket (a reply, or a datagram it initiated): the
   * local end is resolved as for received datagrams. Returns the tuple's verdict when this made it final.
   * @throws {InvalidArgumentError} when the socket is not attached (or not bound yet), `msg` is not a Uint8Array,
   *   a port is not an integer in 0–65535, or `to` is not an address
   */
  outbound(socket: UdpSocket, msg: Uint8Array, to: { address: string; port: number }): Verdict | undefined {
    const att = this.attachments.find((a) => a.socket === socket);
    if (!att) throw new InvalidArgumentError('outbound: the socket is not attached (or not bound yet)');
    checkBytes(msg);
    checkEnd(to);
    const peer = this.addr(1, to.address);
    this.curAtt = att;
    this.curLocalIsA = true;
    return this.push(msg, att.local.forPeer(peer), att.port, peer, to.port);
  }

  /**
   * End every tuple (undecided ones report their verdict now), stop the idle timer and detach from every socket.
   * In process that is done on return (an embedder handler's exception is thrown here); with a pool, once the
   * promise resolves (every verdict delivered; the pool's live input is free again, the pool itself stays open).
   */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    clearInterval(this.timer);
    if (this.session === null) {
      // The sockets stay attached (closed, nothing more is accounted) until the last verdicts are routed to them.
      const pool = this.pool!;
      const done = (): void => {
        pool.off('verdict', this.onPoolVerdict);
        try {
          this.deliver();
        } finally {
          for (const d of [...this.detachers.values()]) d();
        }
      };
      if (this.poolFailure !== null) {
        done();
        return Promise.resolve();
      }
      return pool.end({ reason: 'stop' }).then(done, (e: unknown) => {
        done();
        throw e;
      });
    }
    try {
      this.session.end();
      this.deliver();
    } finally {
      for (const d of [...this.detachers.values()]) d();
    }
    return Promise.resolve();
  }

  /** A socket's peer address, or null (counted) for text that is not one — never a throw in a socket handler. */
  private peerAddr(text: string): SockAddr | null {
    try {
      return this.addr(0, text);
    } catch {
      this.skipped++;
      return null;
    }
  }

  private addr(k: 0 | 1, text: string): SockAddr {
    if (text === this.lastText[k] && this.lastAddr[k]) return this.lastAddr[k]!;
    const a = parseSockAddr(text);
    if (!a) throw new InvalidArgumentError(`not an IP address: ${JSON.stringify(text)}`);
    this.lastText[k] = text;
    this.lastAddr[k] = a;
    return a;
  }

  private push(msg: Uint8Array, src: SockAddr, srcPort: number, dst: SockAddr, dstPort: number): Verdict | undefined {
    if (this.closed) return undefined;
    this.datagrams++;
    const v6 = src.v === 6;
    const n = Math.min(msg.length, v6 ? MAX_UDP_PAYLOAD6 : MAX_UDP_PAYLOAD4);
    if (this.session === null) {
      this.curAtt = null;
      this.pushPooled(msg, n, src, srcPort, dst, dstPort);
      return undefined;
    }
    this.curA = src;
    this.curB = dst;
    this.curAPort = srcPort;
    this.curBPort = dstPort;
    this.curVerdict = undefined;
    // The view a decoder would make of the datagram's frame, filled from the socket's numbers, with the datagram
    // itself as the payload: no frame, no copy, nothing of the peer's bytes kept here after the call.
    const w = this.view;
    w.data = msg;
    w.tsUs = this.curTs[0] = nowUs();
    w.wireLen = (v6 ? 48 : 28) + n;
    w.ipVersion = src.v;
    if (v6) {
      this.addr6.set(src.b16, 0);
      this.addr6.set(dst.b16, 16);
      w.addrData = this.addr6;
      w.src4 = 0;
      w.dst4 = 0;
    } else {
      w.addrData = null;
      w.src4 = src.v4 >>> 0;
      w.dst4 = dst.v4 >>> 0;
    }
    w.srcPort = srcPort;
    w.dstPort = dstPort;
    w.payloadLen = n;
    w.payloadWireLen = n;
    try {
      this.session.pushView(w);
    } finally {
      w.data = NO_BYTES;
    }
    const v = this.curVerdict;
    this.curVerdict = undefined;
    this.curTs[0] = Infinity;
    this.curAtt = null;
    this.deliver();
    return v;
  }

  /** The datagram as a raw IP frame into the pool's batches: headers built here, the payload copied once. */
  private pushPooled(msg: Uint8Array, n: number, src: SockAddr, srcPort: number, dst: SockAddr, dstPort: number): void {
    if (this.poolFailure !== null) {
      this.lost++;
      return;
    }
    const h = this.hdr;
    let u: number;
    if (src.v === 6) {
      h[0] = 0x60; h[1] = 0; h[2] = 0; h[3] = 0;
      h[4] = (8 + n) >>> 8; h[5] = (8 + n) & 255; h[6] = IPPROTO_UDP; h[7] = 64;
      h.set(src.b16, 8);
      h.set(dst.b16, 24);
      u = 40;
    } else {
      const total = 28 + n, s4 = src.v4, d4 = dst.v4;
      h[0] = 0x45; h[1] = 0; h[2] = total >>> 8; h[3] = total & 255;
      h[4] = 0; h[5] = 0; h[6] = 0; h[7] = 0; h[8] = 64; h[9] = IPPROTO_UDP; h[10] = 0; h[11] = 0;
      h[12] = s4 >>> 24; h[13] = (s4 >>> 16) & 255; h[14] = (s4 >>> 8) & 255; h[15] = s4 & 255;
      h[16] = d4 >>> 24; h[17] = (d4 >>> 16) & 255; h[18] = (d4 >>> 8) & 255; h[19] = d4 & 255;
      u = 20;
    }
    h[u] = srcPort >>> 8; h[u + 1] = srcPort & 255; h[u + 2] = dstPort >>> 8; h[u + 3] = dstPort & 255;
    h[u + 4] = (8 + n) >>> 8; h[u + 5] = (8 + n) & 255; h[u + 6] = 0; h[u + 7] = 0;
    try {
      if (!this.pool!.pushDatagram(h, u + 8, msg, n, nowUs())) this.lost++;
    } catch (e) {
      this.lost++;
      this.onPoolFailure(e);
    }
  }

  /** A pool verdict: queued, and handed to the embedder's handlers once the pool's message handling is done. */
  private readonly onPoolVerdict = (v: LiveVerdict): void => {
    const s = splitEndpoint(v.flow.src);
    const d = splitEndpoint(v.flow.dst);
    this.pending.push({ verdict: v.verdict, flow: { src: s.address, srcPort: s.port, dst: d.address, dstPort: d.port }, att: null, peerIsSrc: false });
    if (this.deliverScheduled) return;
    this.deliverScheduled = true;
    // An exception in an embedder's handler must not unwind through the pool's message loop (the rest of the
    // batch's verdicts and its flow control would be lost): it surfaces from its own turn.
    setImmediate(() => {
      this.deliverScheduled = false;
      this.deliver();
    });
  };

  private onPoolFailure(e: unknown): void {
    if (this.poolFailure !== null) return;
    this.poolFailure = e instanceof Error ? e : new Error(String(e));
    if (this.listenerCount('error') > 0) this.emit('error', this.poolFailure);
  }

  private onSessionVerdict(f: FlowHandle, verdict: Verdict): void {
    // Most verdicts are of the tuple being pushed: its texts are at hand. Others (tuples ended during a push when
    // evicted or idle, or by the timer) are read from the flow. The pushed datagram's own flow was active at its
    // time; an earlier flow of the same tuple that this datagram found idle (and ended) was not: its verdict is an
    // event, not what this datagram made final.
    const a = this.curA, b = this.curB;
    const own = f.lastSeenUs >= this.curTs[0]!;
    let flow: DatagramFlow;
    // Of the pushed tuple, which end is the attached socket's is known: the peer is the other one, whatever the
    // port numbers (peers on the socket's own port number are common: WireGuard's 51820 on both sides).
    let att: Attachment | null = null;
    let peerIsSrc = false;
    if (f.srcPort === this.curAPort && f.dstPort === this.curBPort && sameAddr(f, a, b)) {
      flow = { src: a.text, srcPort: this.curAPort, dst: b.text, dstPort: this.curBPort };
      if (own) this.curVerdict = verdict;
      att = this.curAtt;
      peerIsSrc = !this.curLocalIsA;
    } else if (f.srcPort === this.curBPort && f.dstPort === this.curAPort && sameAddr(f, b, a)) {
      flow = { src: b.text, srcPort: this.curBPort, dst: a.text, dstPort: this.curAPort };
      if (own) this.curVerdict = verdict;
      att = this.curAtt;
      peerIsSrc = this.curLocalIsA;
    } else {
      const s = splitEndpoint(f.srcText());
      const d = splitEndpoint(f.dstText());
      flow = { src: s.address, srcPort: s.port, dst: d.address, dstPort: d.port };
    }
    this.pending.push({ verdict, flow, att, peerIsSrc });
  }

  /**
   * Hand the pending verdicts to the embedder's handlers (the 'verdict' event, then the socket's onVerdict). A
   * handler that throws does not cost any other handler its call: every one is called, then the first exception
   * is thrown again (the embedder's bug, surfaced where it ran).
   */
  private deliver(): void {
    if (this.pending.length === 0) return; // the common case, once per datagram: nothing to allocate
    let failed = false;
    let failure: unknown;
    const call = (f: () => void): void => {
      try {
        f();
      } catch (e) {
        if (!failed) failure = e;
        failed = true;
      }
    };
    while (this.pending.length > 0) {
      const list = this.pending;
      this.pending = [];
      for (const p of list) {
        call(() => this.emit('verdict', p.verdict, p.flow));
        const to = this.receiverOf(p);
        if (to !== null) call(() => to[0].onVerdict(p.verdict, to[1]));
      }
    }
    if (failed) throw failure;
  }

  /** The attachment a verdict goes to, and the peer as that socket names it; null for none. */
  private receiverOf(p: Pending): [Attachment, RemoteInfo] | null {
    const { flow, att } = p;
    const v6 = flow.src.includes(':');
    let to: Attachment | null = att !== null && this.attachments.includes(att) ? att : null;
    let src = p.peerIsSrc;
    if (att === null) {
      // A tuple ended by the timer, by eviction or at close, or one fed through inspect: the attachment whose
      // own end (port and address) is one of the tuple's.
      for (const c of this.attachments) {
        if (v6 && !c.v6) continue;
        if (flow.dstPort === c.port && isLocalEnd(c, flow.dst, flow.src)) src = true;
        else if (flow.srcPort === c.port && isLocalEnd(c, flow.src, flow.dst)) src = false;
        else continue;
        to = c;
        break;
      }
    }
    if (to === null) return null;
    const address = src ? flow.src : flow.dst, port = src ? flow.srcPort : flow.dstPort;
    // The peer as the socket names it: an IPv4 peer of a dual-stack socket is IPv4-mapped there (a reply to plain
    // IPv4 text on that socket fails, and a map keyed by the 'message' event's rinfo would miss it).
    if (to.v6 && !v6) return [to, { address: `::ffff:${address}`, port, family: 'IPv6', size: 0 }];
    return [to, { address, port, family: v6 ? 'IPv6' : 'IPv4', size: 0 }];
  }

}

const NO_BYTES = new Uint8Array(0);

/**
 * What `inspect`/`outbound` are given comes from the embedder's code, not from a socket: bytes other than a
 * Uint8Array (a string, an ArrayBuffer, a Uint16Array) would be read as garbage, and a port outside 0–65535 would
 * wrap into another tuple's key.
 */
function checkBytes(msg: unknown): void {
  if (!(msg instanceof Uint8Array)) throw new InvalidArgumentError(`datagram must be a Uint8Array (or Buffer), got ${describeValue(msg)}`);
}

function checkEnd(end: unknown): void {
  if (end === null || typeof end !== 'object') throw new InvalidArgumentError(`an end must be an { address, port } object, got ${describeValue(end)}`);
  numberOption('port', (end as { port?: unknown }).port, undefined, 0, 65535, true);
}

function udpView(): PacketView {
  const w = newPacketView();
  w.proto = IPPROTO_UDP;
  w.payloadOff = 0;
  w.srcOff = 0; // in addrData (IPv6)
  w.dstOff = 16;
  return w;
}

interface Pending {
  verdict: Verdict;
  flow: DatagramFlow;
  /** The attachment whose socket is one end of the tuple, when the verdict came from a datagram through it. */
  att: Attachment | null;
  /** The peer is the tuple's initiator (`flow.src`), else its responder. */
  peerIsSrc: boolean;
}

/**
 * Whether `close()` was called on the socket. Node keeps no public flag for it: its internal state's handle is null
 * from close() on (an unbound socket not closed has one); without that state, the socket counts as open.
 */
function isClosedSocket(s: UdpSocket): boolean {
  const key = Object.getOwnPropertySymbols(s).find((k) => k.description === 'state symbol');
  const st = key === undefined ? undefined : (s as unknown as Record<symbol, unknown>)[key];
  return st !== null && typeof st === 'object' && 'handle' in st && (st as { handle: unknown }).handle === null;
}

/** Whether `address` is the end an attachment's socket has in a tuple whose other end is `other`. */
function isLocalEnd(att: Attachment, address: string, other: string): boolean {
  const o = parseSockAddr(other);
  return o !== null && att.local.forPeer(o).text === address;
}

/** Whether the flow's initiator is `src` and its responder `dst` (addresses only). */
function sameAddr(f: FlowHandle, src: SockAddr, dst: SockAddr): boolean {
  if (f.ipVersion !== src.v || src.v !== dst.v) return false;
  if (src.v === 4) return f.src4 >>> 0 === src.v4 >>> 0 && f.dst4 >>> 0 === dst.v4 >>> 0;
  const bytes = f.addrBytes(), so = f.src6Off(), doff = f.dst6Off();
  for (let i = 0; i < 16; i++) if (bytes[so + i] !== src.b16[i] || bytes[doff + i] !== dst.b16[i]) return false;
  return true;
}

const ORIGIN_US = Math.round(performance.timeOrigin * 1000);
/** Wall-clock microseconds from the monotonic clock (the session's "capture time"). */
function nowUs(): number {
  return ORIGIN_US + Math.floor(performance.now() * 1000);
}
