/**
 * Minimal classic-pcap writer: for test fixtures and `tunnelscope synth`. Little-endian, microsecond (or
 * nanosecond) timestamps. Buffers into chunks; `toBuffer()` for small captures, `drain()` to stream.
 */
import { numberOption } from '../errors.js';

export interface PcapWriterOptions {
  /** LINKTYPE_* of every record (default 1, Ethernet). */
  linkType?: number;
  /** Write the nanosecond-resolution magic (default false). */
  nanos?: boolean;
  /** Snap length written in the header (default 262144). */
  snapLen?: number;
  /** Write big-endian (default false): for reader tests. */
  bigEndian?: boolean;
}

const CHUNK = 1 << 20;

export class PcapWriter {
  private chunks: Uint8Array[] = [];
  private cur: Uint8Array = new Uint8Array(CHUNK);
  private dv: DataView = new DataView(this.cur.buffer);
  private pos = 0;
  private readonly le: boolean;
  private readonly nanos: boolean;
  /** Records written so far. */
  count = 0;

  constructor(opts: PcapWriterOptions = {}) {
    this.le = !opts.bigEndian;
    this.nanos = opts.nanos ?? false;
    this.ensure(24);
    const magic = this.nanos ? 0xa1b23c4d : 0xa1b2c3d4;
    this.dv.setUint32(0, magic, this.le);
    this.dv.setUint16(4, 2, this.le);
    this.dv.setUint16(6, 4, this.le);
    this.dv.setInt32(8, 0, this.le);
    this.dv.setUint32(12, 0, this.le);
    this.dv.setUint32(16, numberOption('PcapWriter: snapLen', opts.snapLen, 262144, 0, 0xffffffff, true), this.le);
    this.dv.setUint32(20, numberOption('PcapWriter: linkType', opts.linkType, 1, 0, 0xffffffff, true), this.le);
    this.pos = 24;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    if (this.pos > 0) this.chunks.push(this.cur.subarray(0, this.pos));
    this.cur = new Uint8Array(Math.max(CHUNK, n));
    this.dv = new DataView(this.cur.buffer);
    this.pos = 0;
  }

  /**
   * Append one record. `tsUs` is integer microseconds since the epoch; `wireLen` defaults to the frame length
   * (pass a larger value to simulate a snaplen cut).
   */
  packet(tsUs: number, frame: Uint8Array, wireLen: number = frame.length): void {
    this.ensure(16 + frame.length);
    const sec = Math.floor(tsUs / 1e6);
    const frac = this.nanos ? (tsUs - sec * 1e6) * 1000 : tsUs - sec * 1e6;
    this.dv.setUint32(this.pos, sec >>> 0, this.le);
    this.dv.setUint32(this.pos + 4, frac >>> 0, this.le);
    this.dv.setUint32(this.pos + 8, frame.length, this.le);
    this.dv.setUint32(this.pos + 12, wireLen, this.le);
    this.cur.set(frame, this.pos + 16);
    this.pos += 16 + frame.length;
    this.count++;
  }

  /** Take the bytes written since the last drain (for streaming to a file). */
  drain(): Uint8Array[] {
    const out = this.chunks;
    if (this.pos > 0) out.push(this.cur.slice(0, this.pos));
    this.chunks = [];
    this.pos = 0;
    return out;
  }

  /** Everything written so far as one buffer (drains). */
  toBuffer(): Uint8Array {
    const parts = this.drain();
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}
