/** Test helper: a PacketView filled directly from a FrameSpec (no decoder involved). */
import { buildIpPacket, type FrameSpec } from '../../src/trace/frame-builder.js';
import type { PacketView } from '../../src/trace/types.js';

export interface ViewSpec extends FrameSpec {
  tsUs: number;
  encap?: number;
  spi?: number;
  frag?: { id: number; offset: number; more: boolean };
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function makeView(spec: ViewSpec): PacketView {
  const ip = buildIpPacket({ ...spec, link: 'raw' });
  const v6 = ip[0]! >> 4 === 6;
  const ipHdr = v6 ? 40 : 20;
  const l4Hdr = spec.proto === 6 ? 20 : spec.proto === 17 ? 8 : 0;
  const nonFirst = spec.frag !== undefined && spec.frag.offset > 0;
  const payloadOff = ipHdr + (nonFirst ? 0 : l4Hdr);
  return {
    data: ip,
    tsUs: spec.tsUs,
    wireLen: ip.length,
    vlan: spec.vlan ?? -1,
    encap: spec.encap ?? 0,
    ipVersion: v6 ? 6 : 4,
    l3Off: 0,
    srcOff: v6 ? 8 : 12,
    dstOff: v6 ? 24 : 16,
    addrData: null,
    src4: v6 ? 0 : u32(ip, 12),
    dst4: v6 ? 0 : u32(ip, 16),
    proto: spec.proto,
    srcPort: nonFirst ? 0 : spec.srcPort ?? 0,
    dstPort: nonFirst ? 0 : spec.dstPort ?? 0,
    spi: spec.spi ?? 0,
    tcpFlags: spec.proto === 6 && !nonFirst ? ip[ipHdr + 13]! : 0,
    payloadOff,
    payloadLen: ip.length - payloadOff,
    payloadWireLen: ip.length - payloadOff,
    isFragment: spec.frag !== undefined,
    fragOffset: spec.frag?.offset ?? 0,
    fragId: spec.frag?.id ?? 0,
    moreFragments: spec.frag?.more ?? false,
    fragDataOff: spec.frag !== undefined ? ipHdr : 0,
    fragDataLen: spec.frag !== undefined ? ip.length - ipHdr : 0,
  };
}
