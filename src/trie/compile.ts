/**
 * Table construction for CidrMap: compilation of a prefix list in canonical order (see columns.ts) into a 16-bit
 * root plus popcount-compressed 8-bit nodes.
 *
 * Node layout (one Int32Array `N` shared by both families; a node starts at offset o):
 *   N[o+0..7]   256-bit bitmap: bit b set where the leaf-pushed entry of slot b differs from slot b-1
 *   N[o+8..15]  for word w: index in N of the last run stored before word w (absolute; "rank base")
 *   N[o+16..]   the runs: one entry per set bit, in slot order
 * An entry is `i + 1` for "prefix i is the longest match here", 0 for no match, `~offset` (negative) for a child.
 * IPv6 only: a child whose first word is 0 (impossible for a normal node, bit 0 is always set) is a *tail*:
 * the only prefix below that slot, stored whole ([0, leaf, default, length, 4 words]); the lookup compares the
 * address against it and answers leaf or default. This is path compression for sparse deep IPv6 branches.
 * Slot b resolves to N[N[o + 8 + (b >> 5)] + popcount(N[o + (b >> 5)] & (0xffffffff >>> (31 - (b & 31))))].
 * This is Lulea-style compression (Degermark et al. 1997) with bart's 8-bit stride; leaf pushing makes every
 * slot self-contained so a lookup never backtracks: IPv4 is one root probe plus at most two node probes.
 *
 * Construction is a single pass over the prefixes in canonical order (address, then length: a preorder of the
 * trie), so painting a prefix after its covering prefix gives the more specific one precedence. Children are
 * compiled before their parent (post-order) with one 256-slot scratch per depth, of which a node writes and reads
 * only the span its prefixes paint: O(n + painted slots), no per-prefix objects, no expanded tables.
 */
import type { Tables } from './serialize.js';

/** Shared all-zero root for a family that has no prefixes (saves 256 KiB per map; never written). */
export const EMPTY_ROOT = new Int32Array(1 << 16);

/** Stride of the root table in bits. */
export const ROOT_BITS = 16;
export const NODE_HEADER = 16;
/** IPv6 tail node: [0, leaf entry, default entry, length, 4 address words]. */
export const TAIL_WORDS = 8;

/** Growable Int32Array writer for node storage. */
export class NodeWriter {
  buf: Int32Array;
  len = 0;
  constructor(initial = 1024) {
    this.buf = new Int32Array(initial);
  }
  ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const nb = new Int32Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }
  /** The nodes written: a view when the estimate was close (no second copy), else an exact copy. */
  finish(): Int32Array {
    const n = this.len;
    return this.buf.length - n <= n >>> 3 ? this.buf.subarray(0, n) : this.buf.slice(0, n);
  }
}

/**
 * The tables of a map over distinct prefixes in canonical order (both families; IPv4 indices first, so IPv6
 * prefix i is index `addr4.length + i`).
 */
export function compileTables(addr4: Uint32Array, len4: Uint8Array, addr6: Uint32Array, len6: Uint8Array): Tables {
  const n4 = len4.length;
  const n6 = len6.length;
  // List- and BGP-shaped tables take ~3.5–4 words a prefix; the writer doubles when a table needs more.
  const out = new NodeWriter(4096 + (n4 + n6) * 4);
  const root4 = n4 ? compileFamily(addr4, len4, n4, 1, 0, out) : EMPTY_ROOT;
  const root6 = n6 ? compileFamily(addr6, len6, n6, 4, n4, out) : EMPTY_ROOT;
  return { root4, root6, nodes: out.finish(), addr4, len4, addr6, len6 };
}

/**
 * Compiles one family. `addr`/`lens` are already in canonical order and duplicate-free; leaf entries are
 * `idxBase + i + 1`. Returns the 2^16-entry root; nodes are appended to `out`.
 */
export function compileFamily(
  addr: Uint32Array,
  lens: Uint8Array,
  n: number,
  W: 1 | 4,
  idxBase: number,
  out: NodeWriter,
): Int32Array {
  const root = new Int32Array(1 << ROOT_BITS);
  const maxDepth = W === 1 ? 2 : 14;
  const scratch: Int32Array[] = [];
  for (let d = 0; d < maxDepth; d++) scratch.push(new Int32Array(256));

  const byteAt = (i: number, s: number): number => (addr[i * W + (s >>> 5)]! >>> (24 - (s & 31))) & 255;

  // A node's slots are painted in address order into its depth's scratch; only the painted span [first, done)
  // is ever written or read (every slot outside it is `def`), so a node holding one /32 costs a few slots, not 256.
  const buildNode = (lo: number, hi: number, s: number, def: number): number => {
    const sc = scratch[(s - ROOT_BITS) >>> 3]!;
    const first = byteAt(lo, s);
    let done = first;
    let i = lo;
    while (i < hi) {
      const L = lens[i]!;
      const b = byteAt(i, s);
      for (; done < b; done++) sc[done] = def;
      if (L <= s + 8) {
        // A more specific prefix comes after the one covering it (canonical order): painting it over wins.
        const e = b + (1 << (s + 8 - L));
        if (e - b <= 16) for (let k = b; k < e; k++) sc[k] = idxBase + i + 1;
        else sc.fill(idxBase + i + 1, b, e);
        if (e > done) done = e;
        i++;
      } else {
        let j = i + 1;
        while (j < hi && byteAt(j, s) === b) j++;
        const under = b < done ? sc[b]! : def;
        sc[b] = ~(W === 4 && j === i + 1 ? emitTail(i, under) : buildNode(i, j, s + 8, under));
        if (b >= done) done = b + 1;
        i = j;
      }
    }
    return emitNode(sc, first, done, def, out);
  };

  // A lone deep IPv6 prefix below this slot: one compare node instead of a chain of mostly-empty nodes
  // (random /48s under a shared /24 would otherwise cost ~3 nodes and 3 cache misses each).
  const emitTail = (i: number, def: number): number => {
    out.ensure(TAIL_WORDS);
    const N = out.buf;
    const o = out.len;
    N[o] = 0; // a normal node always has bit 0 set: 0 marks a tail
    N[o + 1] = idxBase + i + 1;
    N[o + 2] = def;
    N[o + 3] = lens[i]!;
    for (let k = 0; k < 4; k++) N[o + 4 + k] = addr[i * 4 + k]!;
    out.len = o + TAIL_WORDS;
    return o;
  };

  let i = 0;
  while (i < n) {
    const L = lens[i]!;
    const top = addr[i * W]! >>> 16;
    if (L <= ROOT_BITS) {
      root.fill(idxBase + i + 1, top, top + (1 << (ROOT_BITS - L)));
      i++;
    } else {
      let j = i + 1;
      while (j < n && addr[j * W]! >>> 16 === top) j++;
      root[top] = ~buildNode(i, j, ROOT_BITS, root[top]!);
      i = j;
    }
  }
  return root;
}

/** Writes the node whose slots are `sc[lo, hi)` and `def` everywhere else; returns its offset. */
function emitNode(sc: Int32Array, lo: number, hi: number, def: number, out: NodeWriter): number {
  out.ensure(NODE_HEADER + 256);
  const N = out.buf;
  const o = out.len;
  let k = o + NODE_HEADER;
  let prev = 0;
  for (let w = 0; w < 8; w++) {
    N[o + 8 + w] = k - 1;
    const ws = w << 5;
    let bm = 0;
    let x = ws;
    if (w === 0) {
      // slot 0 always starts a run
      prev = lo === 0 ? sc[0]! : def;
      N[k++] = prev;
      bm = 1;
      x = 1;
    }
    // Only the painted span, and the slot just after it (back to `def`), can start a run.
    if (x < lo) x = lo;
    const z = hi + 1 < ws + 32 ? hi + 1 : ws + 32;
    for (; x < z; x++) {
      const v = x < hi ? sc[x]! : def;
      if (v !== prev) {
        bm |= 1 << (x - ws);
        N[k++] = v;
        prev = v;
      }
    }
    N[o + w] = bm;
  }
  out.len = k;
  return o;
}
