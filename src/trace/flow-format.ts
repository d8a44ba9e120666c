/**
 * Text forms of flow endpoints and transports, for output at flow end (never per packet: these allocate).
 *
 * IPv6 text follows RFC 5952 (§4: lower case, no leading zeros, the longest run of two or more zero groups
 * becomes `::`, the first such run on a tie; §5: IPv4-mapped addresses keep the dotted quad `::ffff:a.b.c.d`).
 * Endpoints are `ip:port`, `[ipv6]:port`, or the bare address for portless transports (ESP, AH, ICMP, GRE…).
 */

import { formatAddressPort, formatIPv4, formatIPv6 } from '../ip/format.js';
import { scratchText, TEXT_SCRATCH } from '../text.js';

/** Dotted quad of an IPv4 address held as uint32. */
export const formatIpv4 = formatIPv4;
/** RFC 5952 text of the 16-byte IPv6 address at `bytes[off..off+16)`. */
export const formatIpv6 = formatIPv6;

/** `ip:port`, `[ipv6]:port`, or the bare address when `withPort` is false. */
export const formatEndpoint = formatAddressPort;

const TRANSPORT_NAMES: Readonly<Record<number, string>> = {
  1: 'icmp',
  2: 'igmp',
  6: 'tcp',
  17: 'udp',
  47: 'gre',
  50: 'esp',
  51: 'ah',
  58: 'icmpv6',
  132: 'sctp',
};

/** Lower-case transport name as nDPI prints it (`tcp`, `icmpv6`, `esp`…), else the protocol number as text. */
export function transportName(proto: number): string {
  return TRANSPORT_NAMES[proto] ?? String(proto);
}

/** Whether flows of this IP protocol are keyed and printed with ports (TCP, UDP, SCTP and UDP-Lite). */
export function hasPorts(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 132 || proto === 136;
}

/** 0000-01-01T00:00:00.000000Z and 9999-12-31T23:59:59.999999Z (as close as a double gets: 32 µs below it). */
export const ISO_MIN_US = -62167219200e6;
export const ISO_MAX_US = 253402300800e6 - 32;

/**
 * Microseconds since the epoch as ISO-8601 UTC with six fractional digits (`2023-11-14T22:13:20.123456Z`).
 * Total: it never throws and always returns that 27-character shape. Capture time never leaves 1970–2255 (readers
 * and sessions reject other times where they enter), so the rest of the domain only matters to other callers:
 * a fraction of a microsecond is dropped, NaN reads as 0, and values beyond years 0000–9999 (where ISO-8601 needs
 * a signed six-digit year that RFC 3339 readers reject) are clamped to the nearest end.
 */
export function isoMicros(us: number): string {
  // Date#toISOString is slow (~0.5 µs). A record's firstSeen and lastSeen alternate between two regions of capture
  // time, so the seconds prefixes are cached direct-mapped by second rather than as the last one only. The text is
  // assembled in the text scratch and decoded once: concatenating prefix, digits and 'Z' made a chain of strings
  // that JSON.stringify flattened again (about 0.3 µs per timestamp in all).
  let t = us;
  if (!(t >= ISO_MIN_US && t <= ISO_MAX_US)) t = t > ISO_MAX_US ? ISO_MAX_US : t < ISO_MIN_US ? ISO_MIN_US : 0;
  let sec = Math.floor(t / 1e6);
  let frac = Math.floor(t - sec * 1e6);
  // The division can round across a second boundary for large values; keep 0 <= frac < 1e6.
  if (frac < 0) {
    sec--;
    frac += 1e6;
  } else if (frac >= 1e6) {
    sec++;
    frac -= 1e6;
  }
  const k = sec & (ISO_CACHE - 1);
  if (isoSec[k] !== sec) {
    // The prefix is written before the key: a key never names a prefix that was not stored.
    const text = new Date(sec * 1000).toISOString(); // 2024-01-01T00:00:00.000Z
    for (let i = 0; i < ISO_PREFIX; i++) isoPrefix[k * ISO_PREFIX + i] = text.charCodeAt(i);
    isoSec[k] = sec;
  }
  for (let i = 0; i < ISO_PREFIX; i++) TEXT_SCRATCH[i] = isoPrefix[k * ISO_PREFIX + i]!;
  for (let i = ISO_PREFIX + 5; i >= ISO_PREFIX; i--) {
    TEXT_SCRATCH[i] = 48 + (frac % 10);
    frac = Math.floor(frac / 10);
  }
  TEXT_SCRATCH[ISO_PREFIX + 6] = 0x5a; // Z
  return scratchText(ISO_PREFIX + 7);
}
const ISO_CACHE = 256;
/** "2024-01-01T00:00:00." */
const ISO_PREFIX = 20;
const isoSec = new Float64Array(ISO_CACHE).fill(NaN);
const isoPrefix = new Uint8Array(ISO_CACHE * ISO_PREFIX);
