/**
 * Fixed-size slots of payload snippets (first bytes, wire length and direction of up to `packets` packets),
 * allocated in chunks of typed arrays on demand and recycled through a free list. The flow table keeps two:
 * a small tier for a flow's first few payload packets (most flows end or are decided within them) and a full
 * tier a flow moves to when it needs more, so memory follows the packets actually recorded. A released slot is wiped
 * (the bytes it recorded, not the whole stride), so payload lives only as long as the slot is held.
 */
export const POOL_CHUNK = 1024; // slots per chunk
/** Bytes two packets must share for {@link SnippetPool.repeatsLast} to call one a copy of the other. */
const REPEAT_MIN_BYTES = 16;

export class SnippetPool {
  /** Bytes per slot. */
  readonly stride: number;
  readonly bytes: Uint8Array[] = [];
  /** Per slot × packets: wire length * 2 + dir. */
  readonly len: Uint32Array[] = [];
  /** Per slot × packets: bytes stored. */
  readonly avail: Uint16Array[] = [];
  private free: number[] = [];
  private fresh = 0;
  used = 0;

  constructor(
    readonly packets: number,
    readonly payloadBytes: number,
    private readonly cap: number,
  ) {
    this.stride = packets * payloadBytes;
  }

  /** A free slot, or -1 when `cap` slots are in use. */
  acquire(): number {
    let ps: number;
    if (this.free.length > 0) ps = this.free.pop()!;
    else if (this.fresh < this.cap) {
      ps = this.fresh++;
      if (ps % POOL_CHUNK === 0) {
        this.bytes.push(new Uint8Array(POOL_CHUNK * this.stride));
        this.len.push(new Uint32Array(POOL_CHUNK * this.packets));
        this.avail.push(new Uint16Array(POOL_CHUNK * this.packets));
      }
    } else return -1;
    this.used++;
    return ps;
  }

  /**
   * Give slot `ps` back, wiped: the payload bytes it holds (only those: `avail` says how many per packet), lengths and
   * directions are zeroed, so no payload outlives the flow's verdict or end in a free slot.
   */
  release(ps: number): void {
    const chunk = (ps / POOL_CHUNK) | 0, within = ps - chunk * POOL_CHUNK;
    const bytes = this.bytes[chunk]!, len = this.len[chunk]!, avail = this.avail[chunk]!;
    const m0 = within * this.packets, b0 = within * this.stride;
    for (let k = 0; k < this.packets; k++) {
      const n = avail[m0 + k]!;
      if (n > 0) {
        const off = b0 + k * this.payloadBytes;
        for (let x = 0; x < n; x++) bytes[off + x] = 0;
        avail[m0 + k] = 0;
      }
      len[m0 + k] = 0;
    }
    this.free.push(ps);
    this.used--;
  }

  /** Record packet k of slot ps: wire length, direction and the first `n` bytes of src[so…]. */
  put(ps: number, k: number, wireLen: number, dir: number, src: Uint8Array, so: number, n: number): void {
    const chunk = (ps / POOL_CHUNK) | 0, within = ps - chunk * POOL_CHUNK;
    const mi = within * this.packets + k;
    this.len[chunk]![mi] = wireLen * 2 + dir;
    this.avail[chunk]![mi] = n;
    if (n > 0) {
      const dst = this.bytes[chunk]!, off = within * this.stride + k * this.payloadBytes;
      for (let x = 0; x < n; x++) dst[off + x] = src[so + x]!;
    }
  }

  /**
   * True when the packet about to be recorded as k of slot ps (its wire length, direction and first `n` bytes of
   * src[so…]) repeats the latest recorded packet of the same direction: same wire length, same bytes kept — and
   * those bytes are at least REPEAT_MIN_BYTES or the whole packet (with fewer kept, two packets of one length would
   * pass for copies).
   */
  repeatsLast(ps: number, k: number, wireLen: number, dir: number, src: Uint8Array, so: number, n: number): boolean {
    if (n < REPEAT_MIN_BYTES && n < wireLen) return false;
    const chunk = (ps / POOL_CHUNK) | 0, within = ps - chunk * POOL_CHUNK;
    const lens = this.len[chunk]!, m0 = within * this.packets;
    let j = k - 1;
    while (j >= 0 && (lens[m0 + j]! & 1) !== dir) j--;
    if (j < 0 || lens[m0 + j] !== wireLen * 2 + dir || this.avail[chunk]![m0 + j] !== n) return false;
    const b = this.bytes[chunk]!, off = within * this.stride + j * this.payloadBytes;
    for (let x = 0; x < n; x++) if (b[off + x] !== src[so + x]) return false;
    return true;
  }

  /** Copy packets [0, n) of slot `ps` into slot `qs` of pool `to` (same payloadBytes). */
  moveTo(ps: number, to: SnippetPool, qs: number, n: number): void {
    const c = (ps / POOL_CHUNK) | 0, w = ps - c * POOL_CHUNK;
    const d = (qs / POOL_CHUNK) | 0, v = qs - d * POOL_CHUNK;
    for (let k = 0; k < n; k++) {
      to.len[d]![v * to.packets + k] = this.len[c]![w * this.packets + k]!;
      to.avail[d]![v * to.packets + k] = this.avail[c]![w * this.packets + k]!;
    }
    // A byte loop, not set(subarray(…)): the subarray view is an allocation, and this runs for every flow that
    // outgrows the small tier; it copies at most a few hundred bytes.
    const src = this.bytes[c]!, dst = to.bytes[d]!, so = w * this.stride, to0 = v * to.stride;
    for (let x = 0, n8 = n * this.payloadBytes; x < n8; x++) dst[to0 + x] = src[so + x]!;
  }

  memoryBytes(): number {
    let n = 0;
    for (let c = 0; c < this.bytes.length; c++) n += this.bytes[c]!.byteLength + this.len[c]!.byteLength + this.avail[c]!.byteLength;
    return n;
  }
}
