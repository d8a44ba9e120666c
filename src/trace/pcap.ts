/**
 * Classic libpcap savefile (tcpdump.org "pcap savefile format"): a 24-byte file header whose magic gives the
 * byte order and timestamp unit, then records of `seconds, fraction, captured length, original length, data`.
 * Owns: header validation, record framing, timestamp conversion to integer microseconds.
 * Never: copies packet bytes, allocates per record, or interprets the link layer (decode.ts does).
 */
import { TraceFormatError } from '../errors.js';
import { u16be, u16le, u32be, u32le } from './bytes.js';
import { MAX_UNIT_BYTES, type ContainerParser, type ReaderStats } from './container.js';
import type { RawPacket } from './types.js';

/** Magic numbers as read big-endian from the first four bytes. */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** Alexey Kuznetzov's patched libpcap: 8 more bytes per record header (ifindex, protocol, type, pad). */
export const PCAP_MAGIC_KUZNETZOV = 0xa1b2cd34;
const SWAP_US = 0xd4c3b2a1;
const SWAP_NS = 0x4d3cb2a1;
const SWAP_KUZ = 0x34cdb2a1;

export const PCAP_FILE_HEADER_LEN = 24;

/** True when the first four bytes are one of the classic pcap magics in either byte order. */
export function isPcapMagic(m: number): boolean {
  return (
    m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS || m === PCAP_MAGIC_KUZNETZOV ||
    m === SWAP_US || m === SWAP_NS || m === SWAP_KUZ
  );
}

export class PcapParser implements ContainerParser {
  private haveHeader = false;
  private le = false;
  private nanos = false;
  private recHdrLen = 16;
  private linkType = 0;
  private readonly raw: RawPacket;

  constructor(
    private readonly source: string,
    private readonly stats: ReaderStats,
    raw: RawPacket,
  ) {
    this.raw = raw;
  }

  headerLen(): number {
    return this.haveHeader ? this.recHdrLen : PCAP_FILE_HEADER_LEN;
  }

  unitLen(b: Uint8Array, o: number, fileOff: number): number {
    if (!this.haveHeader) return PCAP_FILE_HEADER_LEN;
    const capLen = this.le ? u32le(b, o + 8) : u32be(b, o + 8);
    if (capLen > MAX_UNIT_BYTES) {
      throw new TraceFormatError(this.source, fileOff, `record captured length ${capLen} is impossible (> ${MAX_UNIT_BYTES})`);
    }
    return this.recHdrLen + capLen;
  }

  private header(b: Uint8Array, o: number, fileOff: number): void {
    const m = u32be(b, o);
    this.le = m === SWAP_US || m === SWAP_NS || m === SWAP_KUZ;
    this.nanos = m === PCAP_MAGIC_NS || m === SWAP_NS;
    this.recHdrLen = m === PCAP_MAGIC_KUZNETZOV || m === SWAP_KUZ ? 24 : 16;
    const major = this.le ? u16le(b, o + 4) : u16be(b, o + 4);
    if (major !== 2) throw new TraceFormatError(this.source, fileOff + 4, `unsupported pcap major version ${major}`);
    // The link type lives in the low 16 bits; bits 26-31 may announce an FCS at the end of each frame.
    // The decoder bounds everything by the IP length, so a trailing FCS is harmless and ignored.
    this.linkType = (this.le ? u32le(b, o + 20) : u32be(b, o + 20)) & 0xffff;
    this.haveHeader = true;
    this.stats.interfaces = 1;
  }

  run(b: Uint8Array, pos: number, end: number, fileOff: number, onPacket: (p: RawPacket) => void): number {
    const start = pos;
    if (!this.haveHeader) {
      if (end - pos < PCAP_FILE_HEADER_LEN) return pos;
      this.header(b, pos, fileOff);
      pos += PCAP_FILE_HEADER_LEN;
    }
    const h = this.recHdrLen;
    const raw = this.raw;
    const stats = this.stats;
    raw.data = b;
    raw.linkType = this.linkType;
    const le = this.le;
    const nanos = this.nanos;
    // A fraction of a second or more (usec >= 10^6, nsec >= 10^9) is no time within the stated second: taken as
    // is, time ran past the next second and back. Such a record is a per-packet problem, as an impossible pcapng time.
    const fracLimit = nanos ? 1e9 : 1e6;
    // One DataView per call (per chunk), not per record: TurboFan inlines its getters with a constant-per-loop
    // byte order, which measured faster than shift-based reads on this loop.
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    while (end - pos >= h) {
      const capLen = dv.getUint32(pos + 8, le);
      if (capLen > MAX_UNIT_BYTES) {
        throw new TraceFormatError(this.source, fileOff + (pos - start), `record captured length ${capLen} is impossible (> ${MAX_UNIT_BYTES})`);
      }
      if (end - pos - h < capLen) break;
      const frac = dv.getUint32(pos + 4, le);
      if (frac >= fracLimit) {
        stats.badTimestamps++;
        pos += h + capLen;
        continue;
      }
      const wireLen = dv.getUint32(pos + 12, le);
      raw.tsUs = dv.getUint32(pos, le) * 1e6 + (nanos ? Math.floor(frac / 1000) : frac);
      raw.offset = pos + h;
      raw.capLen = capLen;
      // An original length below the captured one is a writer's error: the frame was at least what was captured.
      raw.wireLen = wireLen < capLen ? capLen : wireLen;
      if (capLen < wireLen) stats.truncatedRecords++;
      stats.packets++;
      pos += h + capLen;
      onPacket(raw);
    }
    return pos;
  }
}
