/**
 * Interning of text ranges by content, for list loaders: a registrant or provider repeated on a million lines
 * becomes one string, and a repeated value costs a hash and a compare, no substring. Open addressing over a
 * power-of-two table of ids; strings are kept in first-seen order (`strings[id]`).
 */
export class RangeInterner {
  /** Distinct strings, by id. */
  readonly strings: string[] = [];
  #hashes = new Int32Array(256);
  #slots = new Int32Array(256).fill(-1);

  /** Id of the string `text[from, to)`, adding it on first sight. */
  intern(text: string, from: number, to: number): number {
    let h = 0x811c9dc5;
    for (let i = from; i < to; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    h |= 0;
    const slots = this.#slots;
    const mask = slots.length - 1;
    let s = h & mask;
    for (;;) {
      const id = slots[s]!;
      if (id < 0) break;
      if (this.#hashes[id] === h && sameRange(this.strings[id]!, text, from, to)) return id;
      s = (s + 1) & mask;
    }
    const id = this.strings.length;
    this.strings.push(from === 0 && to === text.length ? text : text.slice(from, to));
    if (id === this.#hashes.length) {
      const g = new Int32Array(id * 2);
      g.set(this.#hashes);
      this.#hashes = g;
    }
    this.#hashes[id] = h;
    slots[s] = id;
    if ((id + 1) * 2 > slots.length) this.#grow();
    return id;
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

function sameRange(a: string, text: string, from: number, to: number): boolean {
  if (a.length !== to - from) return false;
  for (let i = 0; i < a.length; i++) if (a.charCodeAt(i) !== text.charCodeAt(from + i)) return false;
  return true;
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
