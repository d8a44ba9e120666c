/**
 * Tiny pcapng writer for reader tests: sections in either byte order, interface blocks with if_tsresol /
 * if_tsoffset, enhanced / simple / obsolete packet blocks, and arbitrary raw blocks. Not on any hot path.
 */

export interface IdbSpec {
  linkType: number;
  snapLen?: number;
  /** Raw if_tsresol byte (6 = µs default, 9 = ns, 0x80 | e = 2^-e). Omitted = no option. */
  tsresol?: number;
  /** if_tsoffset in seconds. */
  tsoffset?: number;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

export class PcapngWriter {
  private parts: Uint8Array[] = [];
  private le = true;

  /** Start a section (SHB). */
  section(opts: { bigEndian?: boolean; major?: number } = {}): this {
    this.le = !opts.bigEndian;
    const body = new Uint8Array(16);
    const dv = new DataView(body.buffer);
    dv.setUint32(0, 0x1a2b3c4d, this.le);
    dv.setUint16(4, opts.major ?? 1, this.le);
    dv.setUint16(6, 0, this.le);
    dv.setInt32(8, -1, this.le); // section length unknown
    dv.setInt32(12, -1, this.le);
    return this.block(0x0a0d0d0a, body);
  }

  idb(spec: IdbSpec): this {
    const opts: Uint8Array[] = [];
    if (spec.tsresol !== undefined) opts.push(this.option(9, Uint8Array.of(spec.tsresol)));
    if (spec.tsoffset !== undefined) {
      const v = new Uint8Array(8);
      new DataView(v.buffer).setBigInt64(0, BigInt(spec.tsoffset), this.le);
      opts.push(this.option(14, v));
    }
    if (opts.length > 0) opts.push(this.option(0, new Uint8Array(0)));
    const optLen = opts.reduce((n, o) => n + o.length, 0);
    const body = new Uint8Array(8 + optLen);
    const dv = new DataView(body.buffer);
    dv.setUint16(0, spec.linkType, this.le);
    dv.setUint32(4, spec.snapLen ?? 0, this.le);
    let o = 8;
    for (const opt of opts) {
      body.set(opt, o);
      o += opt.length;
    }
    return this.block(1, body);
  }

  /** Enhanced packet block; `ts` is in the interface's units (a bigint so tests can use 64-bit values). */
  epb(ifId: number, ts: bigint, frame: Uint8Array, wireLen = frame.length): this {
    const body = new Uint8Array(20 + pad4(frame.length));
    const dv = new DataView(body.buffer);
    dv.setUint32(0, ifId, this.le);
    dv.setUint32(4, Number(ts >> 32n), this.le);
    dv.setUint32(8, Number(ts & 0xffffffffn), this.le);
    dv.setUint32(12, frame.length, this.le);
    dv.setUint32(16, wireLen, this.le);
    body.set(frame, 20);
    return this.block(6, body);
  }

  /** Obsolete packet block (type 2). */
  pb(ifId: number, ts: bigint, frame: Uint8Array, wireLen = frame.length): this {
    const body = new Uint8Array(20 + pad4(frame.length));
    const dv = new DataView(body.buffer);
    dv.setUint16(0, ifId, this.le);
    dv.setUint16(2, 0, this.le);
    dv.setUint32(4, Number(ts >> 32n), this.le);
    dv.setUint32(8, Number(ts & 0xffffffffn), this.le);
    dv.setUint32(12, frame.length, this.le);
    dv.setUint32(16, wireLen, this.le);
    body.set(frame, 20);
    return this.block(2, body);
  }

  /** Simple packet block: `wireLen` is the original length; the block carries `frame` (padded). */
  spb(frame: Uint8Array, wireLen = frame.length): this {
    const body = new Uint8Array(4 + pad4(frame.length));
    new DataView(body.buffer).setUint32(0, wireLen, this.le);
    body.set(frame, 4);
    return this.block(3, body);
  }

  /** Any block with the given body (padded to 4). */
  block(type: number, body: Uint8Array): this {
    const len = 12 + pad4(body.length);
    const out = new Uint8Array(len);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, type, this.le);
    dv.setUint32(4, len, this.le);
    out.set(body, 8);
    dv.setUint32(len - 4, len, this.le);
    this.parts.push(out);
    return this;
  }

  /** Raw bytes appended as they are (for malformed-input tests). */
  raw(bytes: Uint8Array): this {
    this.parts.push(bytes);
    return this;
  }

  private option(code: number, value: Uint8Array): Uint8Array {
    const out = new Uint8Array(4 + pad4(value.length));
    const dv = new DataView(out.buffer);
    dv.setUint16(0, code, this.le);
    dv.setUint16(2, value.length, this.le);
    out.set(value, 4);
    return out;
  }

  toBuffer(): Uint8Array {
    const n = this.parts.reduce((s, p) => s + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}
