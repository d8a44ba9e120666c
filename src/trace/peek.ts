/**
 * Peeks at raw frames before decoding: questions a consumer must answer for every frame, including frames it does
 * not own (a pool worker sees every frame of a file but tracks only its shard). Only the outermost link and IP
 * headers are read, so a peek answers the same for a frame wherever it is asked.
 * Never: allocates, throws, or reads past the captured bytes.
 */
import { linkToIp } from './decode-link.js';
import { newPacketView } from './decode.js';
import { isDnsPort } from '../flow/ports.js';

const scratch = newPacketView();

/** Offset of the outermost IP header of a frame, or -1 (fast path for plain and single-tagged Ethernet). */
export function outerIpOffset(b: Uint8Array, off: number, end: number, linkType: number): number {
  const et = linkType === 1 && end - off >= 18 ? (b[off + 12]! << 8) | b[off + 13]! : -1;
  if (et === 0x0800 || et === 0x86dd) return off + 14;
  if (et === 0x8100) {
    const inner = (b[off + 16]! << 8) | b[off + 17]!;
    if (inner === 0x0800 || inner === 0x86dd) return off + 18;
  }
  const l3 = linkToIp(scratch, linkType, b, off, end, true);
  return l3 < 0 || l3 >= end ? -1 : l3;
}

/**
 * True when the frame's outermost IP packet is UDP or TCP from a DNS port (a DNS server's answer, by port) and is
 * not a non-first fragment. IPv6 extension headers are not walked: such answers are not peeked at.
 */
export function isDnsServerFrame(b: Uint8Array, off: number, capLen: number, linkType: number): boolean {
  let end = off + capLen;
  if (end > b.length) end = b.length;
  const l3 = outerIpOffset(b, off, end, linkType);
  if (l3 < 0) return false;
  const v = b[l3]! >> 4;
  let l4: number;
  let proto: number;
  if (v === 4) {
    const ihl = (b[l3]! & 0x0f) * 4;
    if (ihl < 20 || end - l3 < ihl + 4) return false;
    if ((((b[l3 + 6]! & 0x1f) << 8) | b[l3 + 7]!) !== 0) return false;
    proto = b[l3 + 9]!;
    l4 = l3 + ihl;
  } else if (v === 6) {
    if (end - l3 < 44) return false;
    proto = b[l3 + 6]!;
    l4 = l3 + 40;
  } else return false;
  if (proto !== 17 && proto !== 6) return false;
  return isDnsPort((b[l4]! << 8) | b[l4 + 1]!);
}
