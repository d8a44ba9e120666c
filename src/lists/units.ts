/**
 * List text as code units: the typed array the list scanner, the interner and the loaders read instead of a
 * string. `u[i]` is `text.charCodeAt(i)`: an ASCII file is its own bytes (no decode, no copy), anything else is
 * its UTF-16 code units (exactly what a JS string holds, lone surrogates included). A typed-array load is a
 * few instructions where `charCodeAt` on a string of unknown shape is a dispatch each time, and a million-line
 * list is ~25 million of them.
 * Never: changes a character (the units decode back to the very string they came from).
 */
import { endianness } from 'node:os';

/** Code units of a list text: `u[i]` is the text's `charCodeAt(i)`. Bytes (Uint8Array) only when all ASCII. */
export type ListUnits = Uint8Array | Uint16Array;

const LITTLE_ENDIAN = endianness() === 'LE';

/** The units of `text`. */
export function unitsOf(text: string): ListUnits {
  // All ASCII (nearly every list) when its UTF-8 form is one byte a character.
  if (Buffer.byteLength(text, 'utf8') === text.length) return plain(Buffer.from(text, 'latin1'));
  return utf16Units(Buffer.from(text, 'utf16le'));
}

/** The units of UTF-16LE bytes (as Buffer 'utf16le' writes them). */
export function utf16Units(b: Buffer): Uint16Array {
  if (!LITTLE_ENDIAN) b.swap16();
  if ((b.byteOffset & 1) === 0) return new Uint16Array(b.buffer, b.byteOffset, b.length >>> 1);
  const u = new Uint16Array(b.length >>> 1);
  new Uint8Array(u.buffer).set(b);
  return u;
}

/** A plain Uint8Array over the same memory (one array shape for every list, so the scanner stays monomorphic). */
export function plain(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** The string of `u[from, to)` (ranges are within one line: at most MAX_LINE_CHARS units). */
export function unitsText(u: ListUnits, from: number, to: number): string {
  return String.fromCharCode.apply(null, u.subarray(from, to) as unknown as number[]);
}

/**
 * {@link unitsText} for one text decoded many times (a loader's IPv6 keys): bytes through one Buffer view made
 * once, not a view per range. Holds the text only as long as the returned function is held.
 */
export function unitsDecoder(u: ListUnits): (from: number, to: number) => string {
  if (!(u instanceof Uint8Array)) return (from, to) => unitsText(u, from, to);
  const view = Buffer.from(u.buffer, u.byteOffset, u.length);
  return (from, to) => view.toString('latin1', from, to);
}
