/**
 * IPFIX export over UDP (RFC 7011 §10.3): `createIpfixExporter('udp://collector:4739')` takes flow records and
 * sends IPFIX messages to a collector (nfcapd, nProbe/ntopng, pmacct, Elastic's NetFlow input…).
 *
 * The transport edge of the exporter: encoding is encoder.ts. Records are batched into messages of at most
 * `maxMessageSize` bytes; a partly filled message goes out after `flushMs` (default 1000 ms) or at `close()`.
 * Templates go first and are re-sent on the encoder's schedule; with no data for a while, a timer re-sends them
 * every `templateRefreshMs` so a collector that restarts learns them again. Send errors are counted, never
 * thrown into the classifier (UDP export is best-effort by design: RFC 7011 §10.3.3).
 *
 * A collector named by a host name is resolved once, then again on each template refresh (a changed address is
 * followed, a failed lookup keeps the last one): not once per message, which made every message a lookup and,
 * with a resolver that does not answer, held every message and kept `close()` waiting for ever. Messages wait for
 * the first address only up to a bound, sends in flight are bounded too, and what is over either is dropped and
 * counted (`dropped`).
 */
import type { Socket } from 'node:dgram';
import { builtin } from '../builtins.js';
import type { FlowRecord } from '../classify/record.js';
import { checkKnownOptions, checkOptions, describeValue, InvalidArgumentError, MAX_DELAY_MS, numberOption } from '../errors.js';
import { IPFIX_OPTIONS, IpfixEncoder, type IpfixOptions, type IpfixStats } from './encoder.js';

/** IANA's IPFIX port. */
export const IPFIX_PORT = 4739;

export interface IpfixExporterOptions extends IpfixOptions {
  /** Send a partly filled message after this long (default 1000 ms). */
  flushMs?: number;
  /** Wall clock for export times and template refresh (default Date.now). */
  now?: () => number;
}

export interface IpfixExporterStats extends IpfixStats {
  /** Messages the socket failed to send, and failed lookups of the collector's name. */
  sendErrors: number;
  lastError: string | null;
  /** Messages dropped: over the bound while the collector's name had no address yet, or of sends in flight. */
  dropped: number;
}

/** Messages kept while the collector's name has no address yet (a message is at most maxMessageSize bytes). */
const MAX_WAITING = 256;
/** Sends handed to the socket and not yet done. */
const MAX_IN_FLIGHT = 1024;
/** `close()` waits at most this long for a first address and for sends in flight. */
const CLOSE_WAIT_MS = 2000;

/**
 * `udp://HOST:PORT` (`udp://[2001:db8::9]:4739`; the port defaults to 4739) to host and port.
 * @throws {InvalidArgumentError} another scheme, a bad port, or extra parts (path, query, user)
 */
export function parseIpfixUrl(url: string): { host: string; port: number } {
  // A scoped IPv6 address (a link-local collector on a management interface): the WHATWG URL parser has no zone
  // ids, so `[fe80::1%eth0]` (and RFC 6874's `%25` form) is read here; Node's sockets take `fe80::1%eth0`.
  const scoped = /^udp:\/\/\[([0-9A-Fa-f:.]+)%(?:25)?([A-Za-z0-9_.-]{1,64})\](?::(\d{1,5}))?\/?$/.exec(url);
  if (scoped && builtin('node:net').isIPv6(scoped[1]!)) {
    const port = scoped[3] === undefined ? IPFIX_PORT : Number(scoped[3]);
    if (port < 1 || port > 65535) throw new InvalidArgumentError(`--ipfix: bad port in ${JSON.stringify(url)}`);
    return { host: `${scoped[1]}%${scoped[2]}`, port };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidArgumentError(`--ipfix: not a URL: ${JSON.stringify(url)} (expected udp://HOST:PORT)`);
  }
  if (u.protocol !== 'udp:') throw new InvalidArgumentError(`--ipfix: only udp:// is supported, got ${JSON.stringify(u.protocol)}`);
  if (u.username || u.password || (u.pathname && u.pathname !== '/') || u.search || u.hash) {
    throw new InvalidArgumentError(`--ipfix: expected udp://HOST:PORT, got ${JSON.stringify(url)}`);
  }
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  if (host === '') throw new InvalidArgumentError(`--ipfix: missing host in ${JSON.stringify(url)}`);
  const port = u.port === '' ? IPFIX_PORT : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`--ipfix: bad port in ${JSON.stringify(url)}`);
  return { host, port };
}

export class IpfixExporter {
  readonly encoder: IpfixEncoder;
  private readonly socket: Socket;
  private readonly now: () => number;
  private readonly flushMs: number;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly refreshTimer: NodeJS.Timeout;
  private inFlight = 0;
  private closed = false;
  private drained: (() => void) | null = null;
  private sendErrors = 0;
  private lastError: string | null = null;
  private dropped = 0;
  /** The collector's address: the host itself when it is one, else the last lookup's answer (null before it). */
  private address: string | null;
  /** The collector was given by name (looked up at the start and on each refresh), not by address. */
  private readonly named: boolean;
  private readonly waiting: Uint8Array[] = [];
  private resolving = false;
  private resolved: (() => void) | null = null;
  private socketClosed = false;

  constructor(readonly host: string, readonly port: number, options: IpfixExporterOptions = {}) {
    checkOptions('IPFIX exporter', options);
    checkKnownOptions('IPFIX exporter', options, [...IPFIX_OPTIONS, 'flushMs', 'now']);
    const { flushMs: _f, now: _n, ...encoderOptions } = options;
    this.encoder = new IpfixEncoder(encoderOptions);
    if (options.now !== undefined && typeof options.now !== 'function') throw new InvalidArgumentError(`now must be a function, got ${describeValue(options.now)}`);
    this.now = options.now ?? Date.now;
    this.flushMs = numberOption('flushMs', options.flushMs, 1000, 0, MAX_DELAY_MS);
    // A host name is resolved to IPv4 (the socket's family); an IPv6 collector is named by its address.
    const family = builtin('node:net').isIP(host);
    this.named = family === 0;
    this.address = this.named ? null : host;
    this.socket = builtin('node:dgram').createSocket(family === 6 ? 'udp6' : 'udp4');
    this.socket.on('error', (e) => this.noteError(e));
    this.socket.unref();
    this.resolve();
    // Templates before any data, and again on the refresh interval while idle.
    this.send(this.encoder.templateMessage(this.now()));
    const every = options.templateRefreshMs ?? 60_000;
    this.refreshTimer = setInterval(() => {
      this.resolve();
      this.send(this.encoder.templateMessage(this.now()));
    }, Math.max(every, 1000));
    this.refreshTimer.unref();
  }

  /** Look the collector's name up (again), unless it is an address or a lookup is under way. */
  private resolve(): void {
    if (!this.named || this.resolving) return;
    this.resolving = true;
    builtin('node:dns').lookup(this.host, { family: 4 }, (err, address) => {
      this.resolving = false;
      if (err) this.noteError(err);
      else this.address = address;
      if (this.address !== null) for (const m of this.waiting.splice(0)) this.send(m);
      this.resolved?.();
    });
  }

  get stats(): IpfixExporterStats {
    return { ...this.encoder.stats, sendErrors: this.sendErrors, lastError: this.lastError, dropped: this.dropped };
  }

  private noteError(e: unknown): void {
    this.sendErrors++;
    this.lastError = e instanceof Error ? e.message : String(e);
  }

  private send(msg: Uint8Array): void {
    if (this.socketClosed) {
      this.dropped++;
      return;
    }
    if (this.address === null) {
      if (this.waiting.length < MAX_WAITING) this.waiting.push(msg);
      else this.dropped++;
      return;
    }
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.dropped++;
      return;
    }
    this.inFlight++;
    this.socket.send(msg, this.port, this.address, (err) => {
      if (err) this.noteError(err);
      if (--this.inFlight === 0 && this.drained) this.drained();
    });
  }

  /** Export one flow record (at flow end). */
  write(r: FlowRecord): void {
    if (this.closed) return;
    this.encoder.add(r, this.now(), (m) => this.send(m));
    if (this.flushTimer === null) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.encoder.flush(this.now(), (m) => this.send(m));
      }, this.flushMs);
      this.flushTimer.unref();
    }
  }

  /**
   * Send what is pending, wait (at most 2 s) until the socket has handed every message on, and close it. Messages
   * still waiting for the collector's first address then are dropped and counted.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    clearInterval(this.refreshTimer);
    this.encoder.flush(this.now(), (m) => this.send(m));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)));
    if (this.address === null && this.resolving) await Promise.race([new Promise<void>((resolve) => (this.resolved = resolve)), deadline]);
    if (this.inFlight > 0) await Promise.race([new Promise<void>((resolve) => (this.drained = resolve)), deadline]);
    clearTimeout(timer);
    this.dropped += this.waiting.splice(0).length;
    this.socketClosed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

/**
 * An IPFIX exporter to `udp://HOST:PORT`.
 * @example
 * const ipfix = createIpfixExporter('udp://127.0.0.1:4739');
 * session.on('flow', (r) => ipfix.write(r));
 * // … at the end:
 * await ipfix.close();
 * @throws {InvalidArgumentError} bad URL or options
 */
export function createIpfixExporter(url: string, options: IpfixExporterOptions = {}): IpfixExporter {
  const { host, port } = parseIpfixUrl(url);
  return new IpfixExporter(host, port, options);
}
