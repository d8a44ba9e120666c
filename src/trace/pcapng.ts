/**
 * pcapng (draft-ietf-opsawg-pcapng): a sequence of blocks `type | total length | body | total length`.
 * Owns: block framing and validation, sections (each with its own byte order and interfaces), interface
 * description blocks (link type, snap length, if_tsresol, if_tsoffset), the three packet block kinds
 * (enhanced 6, simple 3, obsolete 2), and skipping everything else by its length.
 * Never: copies packet bytes or allocates per packet; interface tables grow only per IDB.
 */
import { TraceFormatError } from '../errors.js';
import { u16be, u16le, u32be, u32le } from './bytes.js';
import { isCaptureTime, MAX_UNIT_BYTES, type ContainerParser, type ReaderStats } from './container.js';
import type { RawPacket } from './types.js';

export const PCAPNG_SHB_TYPE = 0x0a0d0d0a;
export const PCAPNG_IDB_TYPE = 1;
export const PCAPNG_PB_TYPE = 2; // obsolete packet block
export const PCAPNG_SPB_TYPE = 3;
export const PCAPNG_NRB_TYPE = 4;
export const PCAPNG_ISB_TYPE = 5;
export const PCAPNG_EPB_TYPE = 6;
export const PCAPNG_JOURNAL_TYPE = 9;
export const PCAPNG_DSB_TYPE = 0x0a;
export const PCAPNG_CUSTOM_TYPE = 0xbad;
export const PCAPNG_CUSTOM_NOCOPY_TYPE = 0x40000bad;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BYTE_ORDER_MAGIC_SWAPPED = 0x4d3c2b1a;

const BLOCK_MIN_LEN = 12;
const SHB_MIN_LEN = 28;
const IDB_MIN_LEN = 20;
const EPB_MIN_LEN = 32; // also the obsolete packet block
const SPB_MIN_LEN = 16;
const OPT_ENDOFOPT = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
/** Interfaces per section beyond this are ignored (their packets counted as skipped): bounds memory. */
const MAX_INTERFACES = 65536;

// Timestamp conversion modes, chosen once per interface so the per-packet path is one switch.
const TS_MUL = 0; // unit is 10^-k s with k <= 6: multiply
const TS_DIV = 1; // unit is 10^-k s with k > 6: exact integer division of the 64-bit value
// Unit 2^-e s with e > 6: 10^6 / 2^e = 15625 / 2^(e-6), so µs = floor((hi·15625·2^32 + lo·15625) / 2^s), s = e - 6.
// Both products stay below 2^46 and every division is by a power of two, so the floor is exact; a plain
// ticks × (10^6 / 2^e) needs 65 bits for a 2^-20 s tick count of today and came out 1 µs late.
const TS_BIN_LO = 2; // s < 32: hi·15625·2^(32-s) + floor(lo·15625 / 2^s)
const TS_BIN_HI = 3; // s >= 32: floor((hi·15625 + floor(lo·15625 / 2^32)) / 2^(s-32))

export class PcapngParser implements ContainerParser {
  private le = false;
  private inSection = false;
  // Per-interface tables of the current section.
  private nIf = 0;
  private ifLinkType: number[] = [];
  private ifSnapLen: number[] = [];
  private ifTsMode: number[] = [];
  private ifTsA: number[] = []; // TS_MUL: multiplier; TS_DIV: divisor; TS_BIN_LO: 2^(32-s); TS_BIN_HI: 2^(s-32)
  private ifTsHiQ: number[] = []; // TS_DIV: floor(2^32 / d)
  private ifTsHiR: number[] = []; // TS_DIV: 2^32 mod d; TS_BIN_LO: 2^s
  private ifTsOffUs: number[] = [];
  /** SPB carries no timestamp: it inherits the last one seen in the section, so time never runs backwards. */
  private lastTsUs = 0;
  private readonly raw: RawPacket;

  constructor(
    private readonly source: string,
    private readonly stats: ReaderStats,
    raw: RawPacket,
  ) {
    this.raw = raw;
  }

  headerLen(): number {
    return BLOCK_MIN_LEN; // type, length, and (for an SHB) the byte-order magic
  }

  private rd32(b: Uint8Array, o: number): number {
    return this.le ? u32le(b, o) : u32be(b, o);
  }

  unitLen(b: Uint8Array, o: number, fileOff: number): number {
    let len: number;
    if (b[o] === 0x0a && b[o + 1] === 0x0d && b[o + 2] === 0x0d && b[o + 3] === 0x0a) {
      // The SHB type is a palindrome; its length can only be read once the byte-order magic is known.
      const bom = u32be(b, o + 8);
      if (bom === BYTE_ORDER_MAGIC) len = u32be(b, o + 4);
      else if (bom === BYTE_ORDER_MAGIC_SWAPPED) len = u32le(b, o + 4);
      else throw new TraceFormatError(this.source, fileOff + 8, `section header block has a bad byte-order magic 0x${bom.toString(16)}`);
    } else {
      len = this.rd32(b, o + 4);
    }
    if (len < BLOCK_MIN_LEN || (len & 3) !== 0 || len > MAX_UNIT_BYTES) {
      throw new TraceFormatError(this.source, fileOff + 4, `block total length ${len} is invalid (must be a multiple of 4, 12..${MAX_UNIT_BYTES})`);
    }
    return len;
  }

  run(b: Uint8Array, pos: number, end: number, fileOff: number, onPacket: (p: RawPacket) => void): number {
    const base = fileOff - pos; // input offset of b[0]
    // One DataView per call (per chunk), never per block: its getters inline and take the section's byte order.
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    while (end - pos >= BLOCK_MIN_LEN) {
      const isShb = b[pos] === 0x0a && b[pos + 1] === 0x0d && b[pos + 2] === 0x0d && b[pos + 3] === 0x0a;
      let len = isShb ? this.unitLen(b, pos, base + pos) : dv.getUint32(pos + 4, this.le);
      if (len < BLOCK_MIN_LEN || (len & 3) !== 0 || len > MAX_UNIT_BYTES) len = this.unitLen(b, pos, base + pos); // throws
      if (end - pos < len) break;
      if (isShb) this.section(b, pos, len, base + pos);
      const le = this.le;
      const trailing = dv.getUint32(pos + len - 4, le);
      if (trailing !== len) {
        throw new TraceFormatError(this.source, base + pos + len - 4, `block trailing length ${trailing} differs from leading length ${len}`);
      }
      if (!isShb) {
        const type = dv.getUint32(pos, le);
        switch (type) {
          case PCAPNG_EPB_TYPE:
            this.epb(dv, b, pos, len, onPacket, false);
            break;
          case PCAPNG_SPB_TYPE:
            this.spb(b, pos, len, onPacket);
            break;
          case PCAPNG_PB_TYPE:
            this.epb(dv, b, pos, len, onPacket, true);
            break;
          case PCAPNG_IDB_TYPE:
            this.idb(b, pos, len, base + pos);
            break;
          case PCAPNG_NRB_TYPE:
          case PCAPNG_ISB_TYPE:
          case PCAPNG_JOURNAL_TYPE:
          case PCAPNG_DSB_TYPE:
          case PCAPNG_CUSTOM_TYPE:
          case PCAPNG_CUSTOM_NOCOPY_TYPE:
            this.stats.skippedBlocks++;
            break;
          default:
            this.stats.unknownBlocks++;
        }
      }
      pos += len;
    }
    return pos;
  }

  private section(b: Uint8Array, o: number, len: number, off: number): void {
    if (len < SHB_MIN_LEN) throw new TraceFormatError(this.source, off + 4, `section header block length ${len} is below ${SHB_MIN_LEN}`);
    this.le = u32be(b, o + 8) === BYTE_ORDER_MAGIC_SWAPPED;
    const major = this.le ? u16le(b, o + 12) : u16be(b, o + 12);
    if (major !== 1) throw new TraceFormatError(this.source, off + 12, `unsupported pcapng major version ${major}`);
    this.inSection = true;
    this.nIf = 0; // interface ids restart in every section
  }

  private idb(b: Uint8Array, o: number, len: number, off: number): void {
    if (len < IDB_MIN_LEN) throw new TraceFormatError(this.source, off + 4, `interface description block length ${len} is below ${IDB_MIN_LEN}`);
    this.stats.interfaces++;
    if (this.nIf >= MAX_INTERFACES) {
      this.stats.skippedBlocks++;
      return;
    }
    const i = this.nIf++;
    this.ifLinkType[i] = this.le ? u16le(b, o + 8) : u16be(b, o + 8);
    this.ifSnapLen[i] = this.rd32(b, o + 12);
    let resol = 6; // default: microseconds
    let offSec = 0;
    // Options: code (2), length (2), value padded to 4. A malformed option list ends parsing, it is not fatal.
    let p = o + 16;
    const optEnd = o + len - 4;
    while (optEnd - p >= 4) {
      const code = this.le ? u16le(b, p) : u16be(b, p);
      const olen = this.le ? u16le(b, p + 2) : u16be(b, p + 2);
      if (code === OPT_ENDOFOPT || optEnd - p - 4 < olen) break;
      if (code === OPT_IF_TSRESOL && olen >= 1) resol = b[p + 4]!;
      else if (code === OPT_IF_TSOFFSET && olen >= 8) {
        const w0 = this.rd32(b, p + 4), w1 = this.rd32(b, p + 8);
        const hi = this.le ? w1 : w0, lo = this.le ? w0 : w1;
        offSec = (hi | 0) * 4294967296 + lo; // signed 64-bit seconds
      }
      p += 4 + ((olen + 3) & ~3);
    }
    this.ifTsOffUs[i] = offSec * 1e6;
    this.ifTsHiQ[i] = 0;
    this.ifTsHiR[i] = 0;
    const e = resol & 0x7f;
    if (resol & 0x80 && e <= 6) {
      this.ifTsMode[i] = TS_MUL; // 10^6 / 2^e is an integer
      this.ifTsA[i] = 1e6 / 2 ** e;
    } else if (resol & 0x80 && e - 6 < 32) {
      this.ifTsMode[i] = TS_BIN_LO;
      this.ifTsA[i] = 2 ** (32 - (e - 6));
      this.ifTsHiR[i] = 2 ** (e - 6);
    } else if (resol & 0x80) {
      this.ifTsMode[i] = TS_BIN_HI;
      this.ifTsA[i] = 2 ** (e - 6 - 32);
    } else if (resol <= 6) {
      this.ifTsMode[i] = TS_MUL;
      this.ifTsA[i] = 10 ** (6 - resol);
    } else {
      // floor((hi*2^32 + lo) / d) = hi*floor(2^32/d) + floor((hi*(2^32 mod d) + lo) / d): every term stays
      // below 2^53 for d <= 10^6 (nanosecond and picosecond units), where a plain double would round.
      const d = 10 ** Math.min(resol - 6, 30);
      this.ifTsMode[i] = TS_DIV;
      this.ifTsA[i] = d;
      this.ifTsHiQ[i] = Math.floor(4294967296 / d);
      this.ifTsHiR[i] = 4294967296 % d;
    }
  }

  private tsUs(i: number, hi: number, lo: number): number {
    const mode = this.ifTsMode[i]!;
    let us: number;
    if (mode === TS_MUL) us = (hi * 4294967296 + lo) * this.ifTsA[i]!;
    else if (mode === TS_DIV) {
      const d = this.ifTsA[i]!;
      us = hi * this.ifTsHiQ[i]! + Math.floor((hi * this.ifTsHiR[i]! + lo) / d);
    } else if (mode === TS_BIN_LO) us = hi * 15625 * this.ifTsA[i]! + Math.floor((lo * 15625) / this.ifTsHiR[i]!);
    else us = Math.floor((hi * 15625 + Math.floor((lo * 15625) / 4294967296)) / this.ifTsA[i]!);
    return us + this.ifTsOffUs[i]!;
  }

  /** Enhanced packet block, or (obsolete = true) the old packet block with a 16-bit interface id. */
  private epb(dv: DataView, b: Uint8Array, o: number, len: number, onPacket: (p: RawPacket) => void, obsolete: boolean): void {
    if (len < EPB_MIN_LEN) {
      this.stats.skippedBlocks++;
      this.stats.badPacketBlocks++;
      return;
    }
    const le = this.le;
    const ifId = obsolete ? dv.getUint16(o + 8, le) : dv.getUint32(o + 8, le);
    const capLen = dv.getUint32(o + 20, le);
    if (ifId >= this.nIf || capLen > len - EPB_MIN_LEN) {
      this.stats.skippedBlocks++;
      this.stats.badPacketBlocks++;
      return;
    }
    const tsUs = this.tsUs(ifId, dv.getUint32(o + 12, le), dv.getUint32(o + 16, le));
    if (!isCaptureTime(tsUs)) {
      // The block is well framed, so the stream goes on; only this record's time is impossible.
      this.stats.badTimestamps++;
      return;
    }
    const raw = this.raw;
    raw.data = b;
    raw.offset = o + 28;
    raw.capLen = capLen;
    const wireLen = dv.getUint32(o + 24, le);
    // An original length below the captured one is a writer's error: the frame was at least what was captured.
    raw.wireLen = wireLen < capLen ? capLen : wireLen;
    raw.linkType = this.ifLinkType[ifId]!;
    raw.tsUs = this.lastTsUs = tsUs;
    if (capLen < raw.wireLen) this.stats.truncatedRecords++;
    this.stats.packets++;
    onPacket(raw);
  }

  /** Simple packet block: interface 0, no timestamp; captured length = min(original, snaplen, block room). */
  private spb(b: Uint8Array, o: number, len: number, onPacket: (p: RawPacket) => void): void {
    if (len < SPB_MIN_LEN || this.nIf === 0) {
      this.stats.skippedBlocks++;
      this.stats.badPacketBlocks++;
      return;
    }
    const wireLen = this.rd32(b, o + 8);
    const snap = this.ifSnapLen[0]!;
    let capLen = Math.min(wireLen, len - SPB_MIN_LEN);
    if (snap > 0 && snap < capLen) capLen = snap;
    const raw = this.raw;
    raw.data = b;
    raw.offset = o + 12;
    raw.capLen = capLen;
    raw.wireLen = wireLen;
    raw.linkType = this.ifLinkType[0]!;
    raw.tsUs = this.lastTsUs;
    if (capLen < wireLen) this.stats.truncatedRecords++;
    this.stats.packets++;
    onPacket(raw);
  }

  /** True once a section header has been read (the reader checks this at the end of input). */
  get started(): boolean {
    return this.inSection;
  }
}
