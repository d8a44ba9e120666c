/**
 * Structure-aware mutations of captures and list files, as fast-check arbitraries: a plan of operations applied to a
 * seed. Capture operations know the container: record and block boundaries, the header fields (pcap: timestamp,
 * captured and original length; pcapng: block type, total and trailing length, EPB interface, timestamp and
 * lengths, IDB link type, snap length and the if_tsresol / if_tsoffset options), in the byte order of the file or
 * section — plus blind ones (bit flips, bytes, truncation, deletion, insertion, a block duplicated or spliced in from
 * another seed). Lengths are set to the values that break parsers: 0, 1, 12, 13, the length ± 1, 2^31, 2^32-1, the
 * 16 MiB unit cap ± 1.
 */
import fc from 'fast-check';
import { MAX_UNIT_BYTES } from '../../src/trace/reader.js';
import { concat, type Seed } from './seeds.js';

interface Unit {
  start: number;
  end: number;
  /** pcap: -1 file header, 0 record; pcapng: the block type. */
  type: number;
  le: boolean;
}

/** Units of a capture as far as they can be walked (stops at the first impossible length). */
export function units(b: Uint8Array): Unit[] {
  const out: Unit[] = [];
  if (b.length < 4) return out;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0, false) === 0x0a0d0d0a) {
    let le = true;
    for (let o = 0; o + 12 <= b.length; ) {
      if (dv.getUint32(o, false) === 0x0a0d0d0a) le = dv.getUint32(o + 8, true) === 0x1a2b3c4d;
      const len = dv.getUint32(o + 4, le);
      if (len < 12 || o + len > b.length) break;
      out.push({ start: o, end: o + len, type: dv.getUint32(o, le), le });
      o += len;
    }
    return out;
  }
  const m = dv.getUint32(0, true);
  const le = m === 0xa1b2c3d4 || m === 0xa1b23c4d || m === 0xa1b2cd34;
  const hdr = m === 0xa1b2cd34 || dv.getUint32(0, false) === 0xa1b2cd34 ? 24 : 16;
  if (b.length < 24) return out;
  out.push({ start: 0, end: 24, type: -1, le });
  for (let o = 24; o + hdr <= b.length; ) {
    const cap = dv.getUint32(o + 8, le);
    if (o + hdr + cap > b.length) break;
    out.push({ start: o, end: o + hdr + cap, type: 0, le });
    o += hdr + cap;
  }
  return out;
}

/** Offsets (from the unit start) of the 32-bit fields worth breaking, per unit kind. */
function fieldsOf(u: Unit): number[] {
  const len = u.end - u.start;
  if (u.type === -1) return [4, 16, 20]; // version, snaplen, link type
  if (u.type === 0) return [0, 4, 8, 12]; // seconds, fraction, captured length, original length
  const common = [0, 4, len - 4]; // type, total length, trailing length
  if (u.type === 6) return [...common, 8, 12, 16, 20, 24];
  if (u.type === 2) return [...common, 8, 12, 16, 20, 24];
  if (u.type === 1) return [...common, 8, 12, 16, 20];
  if (u.type === 3) return [...common, 8];
  if (u.type === 0x0a0d0d0a) return [...common, 8, 12];
  return common;
}

export type CaptureOp =
  | { k: 'flip'; at: number; bit: number }
  | { k: 'byte'; at: number; v: number }
  | { k: 'field'; unit: number; field: number; v: number; swap: boolean }
  | { k: 'time'; unit: number; hi: number; lo: number }
  | { k: 'tsopt'; unit: number; resol: number; offset: number }
  | { k: 'truncate'; at: number }
  | { k: 'truncUnit'; unit: number; delta: number }
  | { k: 'delete'; at: number; n: number }
  | { k: 'insert'; at: number; bytes: number[] }
  | { k: 'dup'; unit: number }
  | { k: 'splice'; unit: number; from: number; fromUnit: number };

const lengthValue = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 8, 11, 12, 13, 16, 28, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, MAX_UNIT_BYTES, MAX_UNIT_BYTES + 4),
  fc.integer({ min: -8, max: 8 }).map((d) => ({ rel: d })),
  fc.nat(0xffffffff),
);

export const captureOp: fc.Arbitrary<CaptureOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('byte' as const), at: fc.nat(), v: fc.oneof(fc.constantFrom(0, 0xff, 0x80, 0x7f), fc.nat(255)) }) },
  {
    weight: 4,
    arbitrary: fc.record({ k: fc.constant('field' as const), unit: fc.nat(), field: fc.nat(), v: lengthValue, swap: fc.boolean() }).map((o) => ({
      ...o,
      v: typeof o.v === 'number' ? o.v : -1000 + o.v.rel, // encoded: -1000+d = "the unit length + d"
    })),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('time' as const),
      unit: fc.nat(),
      hi: fc.oneof(fc.constantFrom(0, 1, 0x5f5e1, 0x7fffffff, 0xffffffff), fc.nat(0xffffffff)),
      lo: fc.oneof(fc.constantFrom(0, 999_999, 1_000_000, 999_999_999, 0xffffffff), fc.nat(0xffffffff)),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('tsopt' as const),
      unit: fc.nat(),
      resol: fc.oneof(fc.constantFrom(0, 3, 6, 9, 12, 19, 127, 0x80, 0x86, 0x9e, 0xbf, 0xff), fc.nat(255)),
      offset: fc.oneof(fc.constantFrom(0, -1, 1, 2 ** 31, -(2 ** 31), 2 ** 40, -(2 ** 40), 2 ** 53, -(2 ** 53)), fc.integer()),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('truncUnit' as const), unit: fc.nat(), delta: fc.integer({ min: -16, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 32 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('dup' as const), unit: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('splice' as const), unit: fc.nat(), from: fc.nat(), fromUnit: fc.nat() }) },
);

/** A mutation plan: which seed, which operations (in order). */
export const capturePlan = (nSeeds: number): fc.Arbitrary<{ seed: number; ops: CaptureOp[] }> =>
  fc.record({ seed: fc.nat(nSeeds - 1), ops: fc.array(captureOp, { minLength: 1, maxLength: 5 }) });

function put32(b: Uint8Array, at: number, v: number, le: boolean): void {
  if (at < 0 || at + 4 > b.length) return;
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v >>> 0, le);
}

/** An IDB block with the given link type and options if_tsresol / if_tsoffset (in the section's byte order). */
function idbWith(linkType: number, snap: number, resol: number, offset: number, le: boolean): Uint8Array {
  const body = new Uint8Array(8 + 8 + 12 + 4);
  const dv = new DataView(body.buffer);
  dv.setUint16(0, linkType, le);
  dv.setUint32(4, snap, le);
  dv.setUint16(8, 9, le);
  dv.setUint16(10, 1, le);
  body[12] = resol;
  dv.setUint16(16, 14, le);
  dv.setUint16(18, 8, le);
  dv.setBigInt64(20, BigInt(Math.trunc(offset)), le);
  // end of options: code 0, length 0 (already zero)
  const len = 12 + body.length;
  const out = new Uint8Array(len);
  const ov = new DataView(out.buffer);
  ov.setUint32(0, 1, le);
  ov.setUint32(4, len, le);
  out.set(body, 8);
  ov.setUint32(len - 4, len, le);
  return out;
}

/** Apply `ops` to a copy of `seed` (`others` supply spliced units). */
export function mutateCapture(seed: Uint8Array, ops: readonly CaptureOp[], others: readonly Seed[]): Uint8Array {
  let b: Uint8Array = seed.slice();
  for (const op of ops) {
    if (b.length === 0) break;
    const us = units(b);
    const unitAt = (i: number): Unit | undefined => (us.length ? us[i % us.length] : undefined);
    switch (op.k) {
      case 'flip':
        b[op.at % b.length]! ^= 1 << op.bit;
        break;
      case 'byte':
        b[op.at % b.length] = op.v;
        break;
      case 'field': {
        const u = unitAt(op.unit);
        if (!u) break;
        const fs = fieldsOf(u);
        const at = u.start + fs[op.field % fs.length]!;
        const v = op.v <= -992 && op.v >= -1008 ? u.end - u.start + (op.v + 1000) : op.v;
        put32(b, at, v, op.swap ? !u.le : u.le);
        break;
      }
      case 'time': {
        const recs = us.filter((u) => u.type === 0 || u.type === 6 || u.type === 2);
        const u = recs.length ? recs[op.unit % recs.length]! : undefined;
        if (!u) break;
        if (u.type === 0) {
          put32(b, u.start, op.hi, u.le);
          put32(b, u.start + 4, op.lo, u.le);
        } else {
          put32(b, u.start + 12, op.hi, u.le);
          put32(b, u.start + 16, op.lo, u.le);
        }
        break;
      }
      case 'tsopt': {
        const idbs = us.filter((u) => u.type === 1);
        const u = idbs.length ? idbs[op.unit % idbs.length]! : undefined;
        if (!u) break;
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const lt = dv.getUint16(u.start + 8, u.le);
        const snap = dv.getUint32(u.start + 12, u.le);
        b = concat(b.subarray(0, u.start), idbWith(lt, snap, op.resol, op.offset, u.le), b.subarray(u.end));
        break;
      }
      case 'truncate':
        b = b.slice(0, op.at % (b.length + 1));
        break;
      case 'truncUnit': {
        const u = unitAt(op.unit);
        if (!u) break;
        const at = Math.max(0, Math.min(b.length, (op.delta < 0 ? u.end : u.start) + op.delta));
        b = b.slice(0, at);
        break;
      }
      case 'delete': {
        const at = op.at % b.length;
        b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + op.n)));
        break;
      }
      case 'insert': {
        const at = op.at % (b.length + 1);
        b = concat(b.subarray(0, at), Uint8Array.from(op.bytes), b.subarray(at));
        break;
      }
      case 'dup': {
        const u = unitAt(op.unit);
        if (!u) break;
        b = concat(b.subarray(0, u.end), b.subarray(u.start, u.end), b.subarray(u.end));
        break;
      }
      case 'splice': {
        const u = unitAt(op.unit);
        const src = others.length ? others[op.from % others.length]!.bytes : null;
        if (!u || !src) break;
        const su = units(src);
        if (su.length === 0) break;
        const w = su[op.fromUnit % su.length]!;
        b = concat(b.subarray(0, u.end), src.subarray(w.start, w.end), b.subarray(u.end));
        break;
      }
    }
  }
  return b;
}

/** Truncation points of a capture: every unit boundary, inside every header, and a few inside each unit. */
export function truncationPoints(b: Uint8Array, rnd: () => number, perUnit = 2): number[] {
  const pts = new Set<number>([0, 1, 3, 4, 7, b.length]);
  for (const u of units(b)) {
    pts.add(u.start);
    pts.add(u.start + 1);
    pts.add(u.start + 4);
    pts.add(u.start + 8);
    pts.add(u.end - 1);
    for (let i = 0; i < perUnit; i++) pts.add(u.start + Math.floor(rnd() * (u.end - u.start)));
  }
  return [...pts].filter((p) => p >= 0 && p <= b.length).sort((x, y) => x - y);
}

// ---- list files ---------------------------------------------------------------------------------------------------

export type ListOp =
  | { k: 'eol'; to: '\n' | '\r\n' | '\r' | '' }
  | { k: 'char'; line: number; at: number; c: number }
  | { k: 'longLine'; line: number; n: number }
  | { k: 'dupLine'; line: number; value: string }
  | { k: 'garble'; line: number; text: string }
  | { k: 'bytes'; at: number; bytes: number[] }
  | { k: 'bom' };

const nasty = fc.constantFrom(0, 7, 8, 9, 10, 11, 12, 13, 0x1b, 0x7f, 0x85, 0x9b, 0xa0, 0x2028, 0x2029, 0x202e, 0x2066, 0xfeff, 0xd800, 0x2c, 0x23, 0x2a, 0x2f, 0x3a);
export const listOp: fc.Arbitrary<ListOp> = fc.oneof(
  fc.record({ k: fc.constant('eol' as const), to: fc.constantFrom('\n' as const, '\r\n' as const, '\r' as const, '' as const) }),
  fc.record({ k: fc.constant('char' as const), line: fc.nat(), at: fc.nat(), c: fc.oneof(nasty, fc.nat(0xffff)) }),
  fc.record({ k: fc.constant('longLine' as const), line: fc.nat(), n: fc.constantFrom(1000, 1025, 5000, 100_000) }),
  fc.record({ k: fc.constant('dupLine' as const), line: fc.nat(), value: fc.string({ maxLength: 12 }) }),
  fc.record({ k: fc.constant('garble' as const), line: fc.nat(), text: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('10.0.0.0/33,x', '::/129', '1.2.3.4/24', '*', '*.com', 'a..b,c', ',value', '2001:db8::/32,\u202eevil', '999.1.1.1,x', '10.0.0.0/8,a,b')) }),
  fc.record({ k: fc.constant('bytes' as const), at: fc.nat(), bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 8 }) }),
  fc.constant({ k: 'bom' as const }),
);

/** Apply `ops` to a list text; the result is bytes (some operations write invalid UTF-8). */
export function mutateList(text: string, ops: readonly ListOp[]): Uint8Array {
  let lines = text.split(/\r\n|\n|\r/);
  let eol = '\n';
  let tail: number[] = [];
  let bom = false;
  for (const op of ops) {
    const i = (n: number): number => n % Math.max(1, lines.length);
    switch (op.k) {
      case 'eol':
        eol = op.to;
        break;
      case 'char': {
        const l = lines[i(op.line)] ?? '';
        const at = op.at % (l.length + 1);
        lines[i(op.line)] = l.slice(0, at) + String.fromCharCode(op.c) + l.slice(at);
        break;
      }
      case 'longLine':
        lines[i(op.line)] = (lines[i(op.line)] ?? '') + 'x'.repeat(op.n);
        break;
      case 'dupLine': {
        const l = lines[i(op.line)] ?? '';
        const key = l.split(',')[0] ?? '';
        lines = [...lines, `${key},${op.value}`];
        break;
      }
      case 'garble':
        lines[i(op.line)] = op.text;
        break;
      case 'bytes':
        tail = [...tail, ...op.bytes];
        break;
      case 'bom':
        bom = true;
        break;
    }
  }
  const body = Buffer.from((bom ? '\ufeff' : '') + lines.join(eol), 'utf8');
  return concat(body, Uint8Array.from(tail));
}
