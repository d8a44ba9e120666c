/**
 * Field values every output format derives from a flow record: endpoints split into address and port, epoch
 * times, the IP protocol number, the deciding evidence item, a stable flow id and the Community ID.
 *
 * Pure functions of the record (no I/O, no clock, no randomness), so the same record always gives the same bytes
 * in every format; they allocate, and run once per flow at flow end, never per packet.
 */
import { builtin } from '../builtins.js';
import type { Evidence } from '../classify/classifier.js';
import type { FlowRecord } from '../classify/record.js';
import { parseIPv4, parseIPv6 } from '../ip/parse.js';

/** An endpoint of a record: the address text and the port, or null for portless transports (ESP, AH, GRE…). */
export interface Endpoint {
  readonly ip: string;
  readonly port: number | null;
}

/**
 * Splits a record endpoint (`ip:port`, `[ipv6]:port`, or a bare address) into address and port.
 * @example parseEndpoint('[2001:db8::1]:443') // { ip: '2001:db8::1', port: 443 }
 */
export function parseEndpoint(text: string): Endpoint {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    const port = text.slice(close + 2);
    return { ip: text.slice(1, close), port: port === '' ? null : Number(port) };
  }
  const first = text.indexOf(':');
  if (first >= 0 && first === text.lastIndexOf(':')) return { ip: text.slice(0, first), port: Number(text.slice(first + 1)) };
  return { ip: text, port: null };
}

// No prototype: a transport named 'constructor' or '__proto__' is unknown (-1), not a function every format and the
// Community ID would turn into a number.
const TRANSPORT_NUMBERS: Readonly<Record<string, number>> = Object.freeze(Object.assign(Object.create(null) as Record<string, number>, {
  icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, sctp: 132,
}));

/** IP protocol number of a record's `transport` (the inverse of `transportName`); -1 when unknown. */
export function ipProtocol(transport: string): number {
  const n = TRANSPORT_NUMBERS[transport];
  if (n !== undefined) return n;
  return /^\d{1,3}$/.test(transport) && Number(transport) <= 255 ? Number(transport) : -1;
}

/**
 * Whole seconds and microseconds since the epoch of a record time (`2023-11-14T22:13:20.123456Z`), exact:
 * going through a double would round the microseconds of present-day times.
 */
export function epochParts(iso: string): { sec: number; us: number } {
  const sec = Math.floor(Date.parse(`${iso.slice(0, 19)}Z`) / 1000);
  const frac = iso.slice(20, iso.length - 1);
  return { sec, us: frac === '' ? 0 : Number(frac.padEnd(6, '0').slice(0, 6)) };
}

/** Epoch seconds with six decimals (`1700000000.123456`), the form Zeek logs `time` values in. */
export function epochText(iso: string): string {
  const { sec, us } = epochParts(iso);
  return `${sec}.${String(us).padStart(6, '0')}`;
}

/** Microseconds from `firstSeen` to `lastSeen` (integer, exact). */
export function durationMicros(r: Pick<FlowRecord, 'firstSeen' | 'lastSeen'>): number {
  const a = epochParts(r.firstSeen), b = epochParts(r.lastSeen);
  return (b.sec - a.sec) * 1_000_000 + (b.us - a.us);
}

/** Microseconds as seconds with six decimals (`0.012345`). */
export function secondsText(us: number): string {
  return `${Math.floor(us / 1_000_000)}.${String(us % 1_000_000).padStart(6, '0')}`;
}

/** Per-direction counters of a record, or null for a record without them (NDJSON of an earlier version). */
export function directional(r: FlowRecord): { srcPackets: number; srcBytes: number; dstPackets: number; dstBytes: number } | null {
  const { srcPackets, srcBytes, dstPackets, dstBytes } = r;
  if (srcPackets === undefined || srcBytes === undefined || dstPackets === undefined || dstBytes === undefined) return null;
  return { srcPackets, srcBytes, dstPackets, dstBytes };
}

/** Milliseconds since the epoch of a record time (IPFIX `dateTimeMilliseconds`). */
export function epochMillis(iso: string): number {
  const { sec, us } = epochParts(iso);
  return sec * 1000 + Math.floor(us / 1000);
}

/**
 * The item that decided the label, as the table's EVIDENCE column shows it: the first strong item, else the first
 * medium one, else the first, never the registration item (registration never makes a flow VPN).
 */
export function decidingEvidence(r: Pick<FlowRecord, 'evidence'>): Evidence | undefined {
  const items = r.evidence.filter((x) => x.source !== 'registered');
  return items.find((x) => x.strength === 'strong') ?? items.find((x) => x.strength === 'medium') ?? items[0];
}

/** The record's identity as text: what makes two records of one run different flows. */
function identity(r: FlowRecord): string {
  return `${r.transport}|${r.src}|${r.dst}|${r.vlan ?? ''}|${r.encap ?? ''}|${r.firstSeen}`;
}

/** 64 bits of SHA-256 over the identity, as two unsigned 32-bit halves. */
function identityHash(r: FlowRecord): [number, number] {
  const d = builtin('node:crypto').createHash('sha256').update(identity(r)).digest();
  return [d.readUInt32BE(0), d.readUInt32BE(4)];
}

/**
 * A flow id as a JSON-safe integer (< 2^53), stable for the same flow in any run (Suricata's EVE `flow_id`).
 * Collision odds for one million flows in one log: about 1 in 10^4.
 */
export function flowId(r: FlowRecord): number {
  const [hi, lo] = identityHash(r);
  return (hi & 0x1fffff) * 0x1_0000_0000 + lo;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A Zeek-style connection uid: `C` and the flow's 64-bit identity hash in base 62 (stable across runs). */
export function flowUid(r: FlowRecord): string {
  const [hi, lo] = identityHash(r);
  let n = (BigInt(hi) << 32n) | BigInt(lo);
  let out = '';
  // 11 base-62 digits hold any 64-bit value; a fixed width keeps the column tidy.
  for (let i = 0; i < 11; i++) {
    out = BASE62[Number(n % 62n)]! + out;
    n /= 62n;
  }
  return `C${out}`;
}

/** Address text to network-order bytes (4 or 16), or null when it is not an address. */
export function addressBytes(ip: string): Uint8Array | null {
  const v4 = parseIPv4(ip);
  if (v4 !== -1) return Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255);
  const w = new Uint32Array(4);
  if (!parseIPv6(ip, w)) return null;
  const b = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    b[i * 4] = w[i]! >>> 24;
    b[i * 4 + 1] = (w[i]! >>> 16) & 255;
    b[i * 4 + 2] = (w[i]! >>> 8) & 255;
    b[i * 4 + 3] = w[i]! & 255;
  }
  return b;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * Community ID v1 (the flow hash Zeek, Suricata, Arkime and Elastic share for joining records of one flow):
 * `1:` + base64(SHA-1(seed16 · addrA · addrB · proto8 · 0 · portA16 · portB16)), endpoints ordered so the smaller
 * (address, port) comes first; portless transports hash without ports. ICMP needs the message type and code, which
 * records do not carry: null for ICMP/ICMPv6, and for anything unparsable.
 */
export function communityId(r: FlowRecord, seed = 0): string | null {
  const proto = ipProtocol(r.transport);
  if (proto < 0 || proto === 1 || proto === 58) return null;
  const s = parseEndpoint(r.src), d = parseEndpoint(r.dst);
  let a = addressBytes(s.ip), b = addressBytes(d.ip);
  if (a === null || b === null || a.length !== b.length) return null;
  let pa = s.port, pb = d.port;
  const c = compareBytes(a, b);
  if (c > 0 || (c === 0 && (pa ?? 0) > (pb ?? 0))) {
    [a, b] = [b, a];
    [pa, pb] = [pb, pa];
  }
  const withPorts = pa !== null && pb !== null;
  const buf = new Uint8Array(2 + a.length * 2 + 2 + (withPorts ? 4 : 0));
  buf[0] = (seed >>> 8) & 255;
  buf[1] = seed & 255;
  buf.set(a, 2);
  buf.set(b, 2 + a.length);
  let o = 2 + a.length * 2;
  buf[o++] = proto;
  buf[o++] = 0;
  if (withPorts) {
    buf[o++] = pa! >>> 8;
    buf[o++] = pa! & 255;
    buf[o++] = pb! >>> 8;
    buf[o++] = pb! & 255;
  }
  return `1:${builtin('node:crypto').createHash('sha1').update(buf).digest('base64')}`;
}
