/**
 * Socket addresses as node:net and node:dgram report them, made into what the classifier matches.
 *
 * Node writes an IPv4 peer of a dual-stack (`::`) socket as an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`)
 * while the socket's own address stays `::`; a link-local IPv6 address carries a zone (`fe80::1%eth0`); and a
 * socket that has been destroyed reports `undefined`. The classifier needs both ends of a flow in one family,
 * so every address is read here: mapped addresses become IPv4, zones are dropped, and an end that is unknown or
 * a wildcard becomes the unspecified address of the other end's family (it then matches no list entry).
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { describeValue, InvalidArgumentError } from '../errors.js';
import { formatIPv4, formatIPv6 } from '../ip/format.js';
import { parseIPv4, parseIPv6 } from '../ip/parse.js';

/** One address, in the form flows carry it. */
export interface SockAddr {
  readonly v: 4 | 6;
  /** IPv4 as uint32 (0 for IPv6). */
  readonly v4: number;
  /** IPv6: the 16 bytes (IPv4: empty). */
  readonly b16: Uint8Array;
  /** Canonical text (dotted quad, RFC 5952). */
  readonly text: string;
}

const WORDS = new Uint32Array(4);
const NO_BYTES = new Uint8Array(0);

export const UNSPECIFIED4: SockAddr = Object.freeze({ v: 4, v4: 0, b16: NO_BYTES, text: '0.0.0.0' });
export const UNSPECIFIED6: SockAddr = Object.freeze({ v: 6, v4: 0, b16: new Uint8Array(16), text: '::' });
export const LOOPBACK4: SockAddr = Object.freeze({ v: 4, v4: 0x7f000001, b16: NO_BYTES, text: '127.0.0.1' });
const LOOPBACK6_BYTES = new Uint8Array(16);
LOOPBACK6_BYTES[15] = 1;
export const LOOPBACK6: SockAddr = Object.freeze({ v: 6, v4: 0, b16: LOOPBACK6_BYTES, text: '::1' });

export function v4Addr(u32: number): SockAddr {
  return { v: 4, v4: u32 >>> 0, b16: NO_BYTES, text: formatIPv4(u32 >>> 0) };
}

/**
 * Parse an address as a socket reports it. IPv4-mapped IPv6 becomes IPv4; a zone id (`%eth0`) is dropped.
 * Returns null for anything that is not an address (including undefined).
 */
export function parseSockAddr(text: string | undefined | null): SockAddr | null {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return null;
  const v4 = parseIPv4(text);
  if (v4 >= 0) return v4Addr(v4);
  const zone = text.indexOf('%');
  if (!parseIPv6(text, WORDS, 0, 0, zone < 0 ? text.length : zone)) return null;
  if (WORDS[0] === 0 && WORDS[1] === 0 && WORDS[2] === 0xffff) return v4Addr(WORDS[3]!);
  const b = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    const w = WORDS[i]!;
    b[i * 4] = w >>> 24;
    b[i * 4 + 1] = (w >>> 16) & 255;
    b[i * 4 + 2] = (w >>> 8) & 255;
    b[i * 4 + 3] = w & 255;
  }
  return { v: 6, v4: 0, b16: b, text: formatIPv6(b, 0) };
}

export function isUnspecified(a: SockAddr): boolean {
  if (a.v === 4) return a.v4 === 0;
  for (let i = 0; i < 16; i++) if (a.b16[i] !== 0) return false;
  return true;
}

export function isLoopback(a: SockAddr): boolean {
  if (a.v === 4) return a.v4 >>> 24 === 127;
  for (let i = 0; i < 15; i++) if (a.b16[i] !== 0) return false;
  return a.b16[15] === 1;
}

/** 169.254.0.0/16 and fe80::/10: valid only on one link, so which local address they reached needs the link. */
export function isLinkLocal(a: SockAddr): boolean {
  if (a.v === 4) return a.v4 >>> 16 === 0xa9fe;
  return a.b16[0] === 0xfe && (a.b16[1]! & 0xc0) === 0x80;
}

/**
 * Both ends of a flow in one family. An end that is unknown, a wildcard, or of the other family (a socket that
 * cannot have carried this peer) becomes the unspecified address of the known end's family; never throws.
 */
export function sameFamily(remote: SockAddr | null, local: SockAddr | null): [SockAddr, SockAddr] {
  if (remote && local && remote.v === local.v) return [remote, local];
  if (remote) return [remote, remote.v === 4 ? UNSPECIFIED4 : UNSPECIFIED6];
  if (local) return [local.v === 4 ? UNSPECIFIED4 : UNSPECIFIED6, local];
  return [UNSPECIFIED4, UNSPECIFIED4];
}

/** The host's interface addresses (os.networkInterfaces), injectable for tests. */
export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;

/**
 * Which local address a datagram reached, for a dgram socket. Node's dgram does not report a datagram's
 * destination address (no IP_PKTINFO), so:
 * - a socket bound to one address: that address;
 * - a socket bound to a wildcard (`0.0.0.0`, `::`): per family, the `localAddress` the embedder gave; without
 *   one, loopback peers reached the loopback address, and other peers the host's only global address of their
 *   family (from `os.networkInterfaces()` when attached). A host with several such addresses is ambiguous:
 *   construction throws, naming them, unless the embedder gives `localAddress` for that family (or its
 *   unspecified address, `0.0.0.0` / `::`, to match nothing on that side). Link-local peers map to the
 *   unspecified address (which link they came over is not known).
 */
export class LocalAddresses {
  private readonly fixed: SockAddr | null;
  private readonly given4: SockAddr | null = null;
  private readonly given6: SockAddr | null = null;
  private readonly host4: SockAddr | null = null;
  private readonly host6: SockAddr | null = null;

  /**
   * The addresses an embedder gave as `localAddress`, parsed: what can be checked before the socket is bound.
   * @throws {InvalidArgumentError} when it is not an address or an array of them
   */
  static parseGiven(localAddress: unknown): SockAddr[] {
    if (localAddress === undefined) return [];
    if (typeof localAddress !== 'string' && !Array.isArray(localAddress)) {
      throw new InvalidArgumentError(`localAddress must be an address or an array of them, got ${describeValue(localAddress)}`);
    }
    return (typeof localAddress === 'string' ? [localAddress] : [...(localAddress as unknown[])]).map((t) => {
      const a = typeof t === 'string' ? parseSockAddr(t) : null;
      if (!a) throw new InvalidArgumentError(`localAddress ${typeof t === 'string' ? JSON.stringify(t) : describeValue(t)} is not an IP address`);
      return a;
    });
  }

  constructor(bound: string, localAddress?: string | readonly string[], interfaces?: InterfaceTable) {
    const b = parseSockAddr(bound);
    if (!b) throw new InvalidArgumentError(`socket address ${JSON.stringify(bound)} is not an IP address`);
    const parsed = LocalAddresses.parseGiven(localAddress);
    if (!isUnspecified(b)) {
      this.fixed = b;
      const other = parsed.find((a) => a.text !== b.text);
      if (other) throw new InvalidArgumentError(`localAddress ${other.text}: the socket is bound to ${b.text}, the only address it can receive on`);
      return;
    }
    this.fixed = null;
    for (const a of parsed) {
      if (a.v === 4 ? this.given4 : this.given6) throw new InvalidArgumentError(`localAddress: two IPv${a.v} addresses; one socket bound to ${b.text} cannot tell which one a datagram reached (bind one socket per address)`);
      if (a.v === 4) this.given4 = a;
      else this.given6 = a;
    }
    // Which families can reach this socket: IPv4 always for 0.0.0.0; both for a dual-stack `::`.
    const families: (4 | 6)[] = b.v === 4 ? [4] : [4, 6];
    const table = interfaces ?? (families.some((f) => (f === 4 ? !this.given4 : !this.given6)) ? networkInterfaces() : {});
    for (const fam of families) {
      if (fam === 4 ? this.given4 : this.given6) continue;
      const globals = hostAddresses(table, fam);
      if (globals.length > 1) {
        throw new InvalidArgumentError(
          `socket bound to ${b.text} on a host with several IPv${fam} addresses (${globals.map((a) => a.text).join(', ')}): ` +
            `Node does not tell which one a datagram reached; pass localAddress (the address to match lists against, or ` +
            `${fam === 4 ? '0.0.0.0' : '::'} to match none) or bind one socket per address`,
        );
      }
      if (fam === 4) this.host4 = globals[0] ?? null;
      else this.host6 = globals[0] ?? null;
    }
  }

  /** The local address a datagram from `peer` reached (same family as `peer`). */
  forPeer(peer: SockAddr): SockAddr {
    if (this.fixed) return this.fixed.v === peer.v ? this.fixed : peer.v === 4 ? UNSPECIFIED4 : UNSPECIFIED6;
    if (peer.v === 4) {
      if (this.given4) return this.given4;
      if (isLoopback(peer)) return LOOPBACK4;
      if (isLinkLocal(peer)) return UNSPECIFIED4;
      return this.host4 ?? UNSPECIFIED4;
    }
    if (this.given6) return this.given6;
    if (isLoopback(peer)) return LOOPBACK6;
    if (isLinkLocal(peer)) return UNSPECIFIED6;
    return this.host6 ?? UNSPECIFIED6;
  }
}

/** The host's non-loopback, non-link-local addresses of one family, without duplicates. */
function hostAddresses(table: InterfaceTable, fam: 4 | 6): SockAddr[] {
  const out: SockAddr[] = [];
  for (const list of Object.values(table)) {
    for (const i of list ?? []) {
      const f = i.family as unknown;
      if (i.internal || (f !== `IPv${fam}` && f !== fam)) continue;
      const a = parseSockAddr(i.address);
      if (!a || a.v !== fam || isLoopback(a) || isLinkLocal(a) || isUnspecified(a)) continue;
      if (!out.some((o) => o.text === a.text)) out.push(a);
    }
  }
  return out;
}
