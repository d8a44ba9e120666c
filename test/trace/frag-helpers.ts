/**
 * Fragment builders for reassembly tests: real IPv4 fragments (RFC 791 §3.2: header copied, total length,
 * fragment offset in 8-byte units, MF) and IPv6 fragments (RFC 8200 §4.5: a Fragment header between the fixed
 * header and the fragment's data), written byte by byte, plus a runner that feeds raw IP frames through the
 * decoder and the flow table like a capture would.
 */
import { Decoder, newPacketView } from '../../src/trace/decode.js';
import { FlowTable, type FlowListener, type FlowTableOptions } from '../../src/trace/flow-table.js';
import { LINKTYPE_RAW, type EndReason, type RawPacket } from '../../src/trace/types.js';

/** One fragment of a datagram: offset and data of the fragmentable part, and the MF flag. */
export interface Piece {
  off: number;
  data: Uint8Array;
  more: boolean;
}

/** The fragmentable part of a whole IP packet without extension headers (transport header + payload). */
export function ipBody(pkt: Uint8Array): Uint8Array {
  return pkt.subarray(pkt[0]! >> 4 === 4 ? (pkt[0]! & 15) * 4 : 40);
}

/** Cut a body into consecutive pieces at the given lengths (the last one takes the rest, MF clear). */
export function split(body: Uint8Array, lens: readonly number[]): Piece[] {
  const out: Piece[] = [];
  let off = 0;
  for (const n of lens) {
    if (off + n >= body.length) break;
    out.push({ off, data: body.subarray(off, off + n), more: true });
    off += n;
  }
  out.push({ off, data: body.subarray(off), more: false });
  return out;
}

/** A fragment packet of whole IP packet `pkt` (its header is reused) carrying `p`. */
export function fragmentOf(pkt: Uint8Array, id: number, p: Piece): Uint8Array {
  if (pkt[0]! >> 4 === 4) {
    const ihl = (pkt[0]! & 15) * 4;
    const out = new Uint8Array(ihl + p.data.length);
    out.set(pkt.subarray(0, ihl));
    const total = out.length;
    out[2] = total >> 8; out[3] = total & 255;
    out[4] = (id >> 8) & 255; out[5] = id & 255;
    const fw = (p.off >> 3) | (p.more ? 0x2000 : 0);
    out[6] = fw >> 8; out[7] = fw & 255;
    out.set(p.data, ihl);
    return out;
  }
  const out = new Uint8Array(48 + p.data.length);
  out.set(pkt.subarray(0, 40));
  const plen = 8 + p.data.length;
  out[4] = plen >> 8; out[5] = plen & 255;
  out[6] = 44;
  out[40] = pkt[6]!; // next header of the original
  out[41] = 0;
  const fo = p.off | (p.more ? 1 : 0);
  out[42] = fo >> 8; out[43] = fo & 255;
  out[44] = (id >>> 24) & 255; out[45] = (id >>> 16) & 255; out[46] = (id >>> 8) & 255; out[47] = id & 255;
  out.set(p.data, 48);
  return out;
}

export interface EndedFlow {
  src: string;
  dst: string;
  reason: EndReason;
  packets: number;
  bytes: number;
  first: number;
  last: number;
}

/** Payloads the detectors were shown whole (the packet being added), per flow in order. */
export interface Run {
  ended: EndedFlow[];
  payloads: Map<string, Uint8Array[]>;
  table: FlowTable;
  decoder: Decoder;
}

/** Feed raw IP packets (LINKTYPE_RAW) with timestamps through Decoder + FlowTable; flush at the end. */
export function runIp(packets: readonly { ts: number; pkt: Uint8Array }[], opts: FlowTableOptions = {}, flush = true): Run {
  const ended: EndedFlow[] = [];
  const payloads = new Map<string, Uint8Array[]>();
  const listener: FlowListener = {
    onPacket(f, _isNew, payload) {
      if (!payload) return;
      const v = f.view, i = v.nPackets - 1;
      const key = `${f.srcText()} ${f.dstText()}`;
      const l = payloads.get(key) ?? [];
      l.push(v.buf(i).slice(v.start(i), v.start(i) + v.avail(i)));
      payloads.set(key, l);
    },
    onEnd(f, reason) {
      ended.push({
        src: f.srcText(), dst: f.dstText(), reason, packets: f.packetsFwd + f.packetsRev, bytes: f.bytesFwd + f.bytesRev,
        first: f.firstSeenUs, last: f.lastSeenUs,
      });
    },
  };
  const decoder = new Decoder();
  // payloadBytes 1: the packet being added is shown whole anyway, and the snippet pool stays small.
  const table = new FlowTable({ maxPayloadPackets: 255, payloadBytes: 1, ...opts }, listener, decoder);
  const view = newPacketView();
  const raw: RawPacket = { data: new Uint8Array(0), offset: 0, capLen: 0, wireLen: 0, tsUs: 0, linkType: LINKTYPE_RAW };
  for (const { ts, pkt } of packets) {
    raw.data = pkt;
    raw.capLen = pkt.length;
    raw.wireLen = pkt.length;
    raw.tsUs = ts;
    if (decoder.decode(raw, view)) table.add(view);
  }
  if (flush) table.flush();
  return { ended, payloads, table, decoder };
}
