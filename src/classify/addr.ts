/** Address parsing at the classifier's public door (not a hot path). */
import ipaddr from 'ipaddr.js';
import { CidrError } from '../errors.js';

export interface ParsedIp {
  ipVersion: 4 | 6;
  /** IPv4 as uint32 (0 for IPv6). */
  v4: number;
  /** 16 bytes (IPv6) or 4 bytes (IPv4). */
  bytes: Uint8Array;
}

/** Parse an IP text; IPv4-mapped IPv6 becomes the IPv4 address. @throws {CidrError} */
export function parseIp(text: string): ParsedIp {
  if (!ipaddr.isValid(text)) throw new CidrError('TS_INVALID_IP', text, 'invalid IP address');
  let a = ipaddr.parse(text);
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  const arr = a.toByteArray();
  if (a.kind() === 'ipv4') {
    const v4 = ((arr[0]! << 24) | (arr[1]! << 16) | (arr[2]! << 8) | arr[3]!) >>> 0;
    return { ipVersion: 4, v4, bytes: Uint8Array.from(arr) };
  }
  return { ipVersion: 6, v4: 0, bytes: Uint8Array.from(arr) };
}
