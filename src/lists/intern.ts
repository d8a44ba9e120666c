/**
 * Interning of text ranges by content, for list loaders: a registrant or provider repeated on a million lines
 * becomes one string, and a repeated value costs a hash and a compare of code units, no substring. Open addressing
 * over a power-of-two table of ids; strings are kept in first-seen order (`strings[id]`), their units in a pool
 * (a few bytes per distinct value) that repeats are compared with.
 */
import { unitsOf, unitsText, type ListUnits } from './units.js';

export class RangeInterner {
  /** Distinct strings, by id. */
  readonly strings: string[] = [];
  #hashes = new Int32Array(256);
  // Units of each distinct string: pool[starts[id], starts[id + 1]).
  #starts = new Int32Array(257);
  #pool = new Uint16Array(4096);
  #slots = new Int32Array(256).fill(-1);

  /** @param u the text (see unitsOf) that {@link intern} ranges index. */
  constructor(readonly u: ListUnits) {}

  /** Id of the string `u[from, to)`, adding it on first sight. */
  intern(from: number, to: number): number {
    return this.#intern(this.u, from, to);
  }

  /** Id of a string given as such (a default value), the same id as the same text met in the list. */
  internText(text: string): number {
    const t = unitsOf(text);
    return this.#intern(t, 0, t.length);
  }

  #intern(src: ListUnits, from: number, to: number): number {
    let h = 0x811c9dc5;
    for (let i = from; i < to; i++) h = Math.imul(h ^ src[i]!, 0x01000193);
    h |= 0;
    const slots = this.#slots;
    const mask = slots.length - 1;
    let s = h & mask;
    for (;;) {
      const id = slots[s]!;
      if (id < 0) break;
      if (this.#hashes[id] === h && this.#same(id, src, from, to)) return id;
      s = (s + 1) & mask;
    }
    const id = this.strings.length;
    this.strings.push(unitsText(src, from, to));
    if (id === this.#hashes.length) {
      const g = new Int32Array(id * 2);
      g.set(this.#hashes);
      this.#hashes = g;
      const st = new Int32Array(id * 2 + 1);
      st.set(this.#starts);
      this.#starts = st;
    }
    const at = this.#starts[id]!;
    if (at + (to - from) > this.#pool.length) {
      const p = new Uint16Array(Math.max(this.#pool.length * 2, at + (to - from)));
      p.set(this.#pool);
      this.#pool = p;
    }
    this.#pool.set(src.subarray(from, to), at);
    this.#starts[id + 1] = at + (to - from);
    this.#hashes[id] = h;
    slots[s] = id;
    if ((id + 1) * 2 > slots.length) this.#grow();
    return id;
  }

  /** The units of string `id` equal `src[from, to)`. */
  #same(id: number, src: ListUnits, from: number, to: number): boolean {
    const a = this.#starts[id]!;
    if (this.#starts[id + 1]! - a !== to - from) return false;
    const pool = this.#pool;
    for (let i = 0; i < to - from; i++) if (pool[a + i] !== src[from + i]) return false;
    return true;
  }

  #grow(): void {
    const slots = new Int32Array(this.#slots.length * 2).fill(-1);
    const mask = slots.length - 1;
    for (let id = 0; id < this.strings.length; id++) {
      let s = this.#hashes[id]! & mask;
      while (slots[s]! >= 0) s = (s + 1) & mask;
      slots[s] = id;
    }
    this.#slots = slots;
  }
}

/** ECMAScript WhiteSpace and LineTerminator code points: exactly what String.prototype.trim removes. */
export function isTrimSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f ||
    c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}
