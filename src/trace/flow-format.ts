/**
 * Text forms of flow endpoints and transports, for output at flow end (never per packet: these allocate).
 *
 * IPv6 text follows RFC 5952 (§4: lower case, no leading zeros, the longest run of two or more zero groups
 * becomes `::`, the first such run on a tie; §5: IPv4-mapped addresses keep the dotted quad `::ffff:a.b.c.d`).
 * Endpoints are `ip:port`, `[ipv6]:port`, or the bare address for portless transports (ESP, AH, ICMP, GRE…).
 */

/** Dotted quad of an IPv4 address held as uint32. */
export function formatIpv4(u32: number): string {
  return `${(u32 >>> 24) & 255}.${(u32 >>> 16) & 255}.${(u32 >>> 8) & 255}.${u32 & 255}`;
}

/** RFC 5952 text of the 16-byte IPv6 address at `bytes[off..off+16)`. */
export function formatIpv6(bytes: Uint8Array, off: number): string {
  const g: number[] = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = (bytes[off + 2 * i]! << 8) | bytes[off + 2 * i + 1]!;
  // IPv4-mapped (::ffff:0:0/96): mixed notation per RFC 5952 §5.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${bytes[off + 12]}.${bytes[off + 13]}.${bytes[off + 14]}.${bytes[off + 15]}`;
  }
  // Longest run of zero groups (length >= 2); first on ties (§4.2.3).
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number, b: number): string => {
    const parts: string[] = [];
    for (let i = a; i < b; i++) parts.push(g[i]!.toString(16));
    return parts.join(':');
  };
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** `ip:port`, `[ipv6]:port`, or the bare address when `withPort` is false. */
export function formatEndpoint(
  ipVersion: 4 | 6,
  v4: number,
  bytes: Uint8Array,
  off: number,
  port: number,
  withPort: boolean,
): string {
  if (ipVersion === 4) {
    const ip = formatIpv4(v4);
    return withPort ? `${ip}:${port}` : ip;
  }
  const ip = formatIpv6(bytes, off);
  return withPort ? `[${ip}]:${port}` : ip;
}

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
