/**
 * SharedArrayBuffer layout of a CidrMap's tables, so a map built once can be shared with workers without
 * copying (the values travel separately: they may not be transferable).
 *
 * Layout (little-endian host order; all sections 4-byte aligned):
 *   header, 16 × u32: [0] magic "TSCM" 0x4d435354, [1] version, [2] n4, [3] n6, [4] node words,
 *                     [5] has IPv4 root, [6] has IPv6 root, [7..13] byte offsets of the sections below,
 *                     [14] total bytes, [15] reserved
 *   root4 (65536 × i32, absent when n4 = 0), root6 (same), nodes (i32), addr4 (u32 × n4),
 *   addr6 (u32 × 4·n6), len4 (u8 × n4), len6 (u8 × n6)
 * unpackTables validates the header against the buffer and walks the node graph once, so a corrupt or
 * foreign buffer is rejected with TS_BAD_BUFFER instead of answering garbage.
 */
import { TunnelscopeError } from '../errors.js';
import { NODE_HEADER, TAIL_WORDS } from './compile.js';

/** The typed arrays behind one CidrMap. */
export interface Tables {
  root4: Int32Array;
  root6: Int32Array;
  nodes: Int32Array;
  addr4: Uint32Array;
  len4: Uint8Array;
  addr6: Uint32Array;
  len6: Uint8Array;
}

const MAGIC = 0x4d435354; // "TSCM" little-endian
const VERSION = 1;
const HEADER_WORDS = 16;
const ROOT_BYTES = 65536 * 4;

function popcnt(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Copies the tables into one new SharedArrayBuffer. */
export function packTables(t: Tables): SharedArrayBuffer {
  const n4 = t.len4.length;
  const n6 = t.len6.length;
  const has4 = n4 > 0 ? 1 : 0;
  const has6 = n6 > 0 ? 1 : 0;
  let off = HEADER_WORDS * 4;
  const offs: number[] = [];
  const add = (bytes: number): void => {
    offs.push(off);
    off += (bytes + 3) & ~3;
  };
  add(has4 * ROOT_BYTES);
  add(has6 * ROOT_BYTES);
  add(t.nodes.length * 4);
  add(t.addr4.length * 4);
  add(t.addr6.length * 4);
  add(n4);
  add(n6);
  const sab = new SharedArrayBuffer(off);
  const h = new Uint32Array(sab, 0, HEADER_WORDS);
  h.set([MAGIC, VERSION, n4, n6, t.nodes.length, has4, has6, ...offs, off]);
  if (has4) new Int32Array(sab, offs[0]!, 65536).set(t.root4);
  if (has6) new Int32Array(sab, offs[1]!, 65536).set(t.root6);
  new Int32Array(sab, offs[2]!, t.nodes.length).set(t.nodes);
  new Uint32Array(sab, offs[3]!, t.addr4.length).set(t.addr4);
  new Uint32Array(sab, offs[4]!, t.addr6.length).set(t.addr6);
  new Uint8Array(sab, offs[5]!, n4).set(t.len4);
  new Uint8Array(sab, offs[6]!, n6).set(t.len6);
  return sab;
}

/**
 * Views over a packed buffer (no copy). `nValues` must equal the prefix count; `emptyRoot` stands in for an
 * absent family root.
 * @throws {TunnelscopeError} TS_BAD_BUFFER
 */
export function unpackTables(buf: SharedArrayBuffer | ArrayBuffer | Uint8Array, nValues: number, emptyRoot: Int32Array, walk = true): Tables {
  const bad = (why: string): TunnelscopeError => new TunnelscopeError('TS_BAD_BUFFER', `CidrMap buffer: ${why}`);
  let ab: ArrayBufferLike;
  let base = 0;
  let byteLen: number;
  if (buf instanceof Uint8Array) {
    ab = buf.buffer;
    base = buf.byteOffset;
    byteLen = buf.byteLength;
  } else if (buf instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && buf instanceof SharedArrayBuffer)) {
    ab = buf;
    byteLen = buf.byteLength;
  } else throw bad('not a SharedArrayBuffer, ArrayBuffer or Uint8Array');
  if (base % 4 !== 0) throw bad('byteOffset is not 4-byte aligned');
  if (byteLen < HEADER_WORDS * 4) throw bad(`too short (${byteLen} bytes)`);
  const h = new Uint32Array(ab, base, HEADER_WORDS);
  if (h[0] !== MAGIC) throw bad('bad magic (not a CidrMap buffer)');
  if (h[1] !== VERSION) throw bad(`unsupported version ${h[1]}`);
  const n4 = h[2]!;
  const n6 = h[3]!;
  const nn = h[4]!;
  const has4 = h[5]!;
  const has6 = h[6]!;
  const total = h[14]!;
  if (total > byteLen) throw bad(`truncated: header says ${total} bytes, got ${byteLen}`);
  if (has4 !== (n4 > 0 ? 1 : 0) || has6 !== (n6 > 0 ? 1 : 0)) throw bad('root flags disagree with counts');
  const sizes = [has4 * ROOT_BYTES, has6 * ROOT_BYTES, nn * 4, n4 * 4, n6 * 16, n4, n6];
  for (let s = 0; s < 7; s++) {
    const o = h[7 + s]!;
    const end = s < 6 ? h[8 + s]! : total;
    if (o % 4 !== 0 || o < HEADER_WORDS * 4 || o + sizes[s]! > end || end > total) throw bad(`section ${s} out of bounds`);
  }
  if (nValues !== n4 + n6) throw bad(`values.length ${nValues} != ${n4 + n6} prefixes`);
  const t: Tables = {
    root4: has4 ? new Int32Array(ab, base + h[7]!, 65536) : emptyRoot,
    root6: has6 ? new Int32Array(ab, base + h[8]!, 65536) : emptyRoot,
    nodes: new Int32Array(ab, base + h[9]!, nn),
    addr4: new Uint32Array(ab, base + h[10]!, n4),
    addr6: new Uint32Array(ab, base + h[11]!, n6 * 4),
    len4: new Uint8Array(ab, base + h[12]!, n4),
    len6: new Uint8Array(ab, base + h[13]!, n6),
  };
  if (walk) validateTables(t, emptyRoot, bad);
  return t;
}

/** Walks every node reachable from the roots and checks pointers and ranks stay in bounds. O(table size). */
function validateTables(t: Tables, emptyRoot: Int32Array, bad: (why: string) => Error): void {
  const N = t.nodes;
  const n = t.len4.length + t.len6.length;
  for (let k = 0; k < t.len4.length; k++) if (t.len4[k]! > 32) throw bad('IPv4 prefix length > 32');
  for (let k = 0; k < t.len6.length; k++) if (t.len6[k]! > 128) throw bad('IPv6 prefix length > 128');
  const stack: number[] = [];
  const seen = new Uint8Array(N.length);
  const visit = (e: number, maxLeaf: number, minLeaf: number): void => {
    if (e < 0) {
      const o = ~e;
      if (o + NODE_HEADER > N.length) throw bad(`node offset ${o} out of range`);
      if (seen[o]) throw bad(`node ${o} reached twice`);
      seen[o] = 1;
      stack.push(o);
    } else if (e > maxLeaf || (e !== 0 && e <= minLeaf)) throw bad(`leaf ${e} out of range`);
  };
  const walk = (root: Int32Array, maxLeaf: number, minLeaf: number): void => {
    if (root === emptyRoot) return;
    for (let k = 0; k < 65536; k++) visit(root[k]!, maxLeaf, minLeaf);
    let depth = 0;
    while (stack.length) {
      if (++depth > N.length) throw bad('node graph too deep');
      const o = stack.pop()!;
      if (N[o] === 0) {
        if (root !== t.root6 || o + TAIL_WORDS > N.length) throw bad(`tail node ${o} out of range`);
        if (N[o + 1]! < 0 || N[o + 2]! < 0 || N[o + 3]! > 128) throw bad(`tail node ${o} malformed`);
        visit(N[o + 1]!, maxLeaf, minLeaf);
        visit(N[o + 2]!, maxLeaf, minLeaf);
        continue;
      }
      let runs = 0;
      for (let w = 0; w < 8; w++) runs += popcnt(N[o + w]!);
      if (runs === 0 || (N[o]! & 1) === 0) throw bad(`node ${o} has no first run`);
      if (o + NODE_HEADER + runs > N.length) throw bad(`node ${o} runs out of range`);
      let cum = o + NODE_HEADER - 1;
      for (let w = 0; w < 8; w++) {
        if (N[o + 8 + w] !== cum) throw bad(`node ${o} rank word ${w} inconsistent`);
        cum += popcnt(N[o + w]!);
      }
      for (let r = 0; r < runs; r++) visit(N[o + NODE_HEADER + r]!, maxLeaf, minLeaf);
    }
  };
  walk(t.root4, t.len4.length, 0);
  walk(t.root6, n, t.len4.length);
}

