/**
 * Strings from bytes, for every layer that makes text per flow: names read from packets (DNS, SNI, Host,
 * certificate fields), address and time text in flow records. Building such strings a character or a piece at a
 * time makes a string per step (a 30-byte host name made ~30 short-lived objects) or a chain of them that
 * JSON.stringify flattens again; here the bytes are gathered in one scratch buffer and turned into a string by one
 * native latin1 decode: one flat string, one allocation.
 *
 * The scratch is module state that never outlives a call: a caller fills `TEXT_SCRATCH[0, n)` (n ≤ TEXT_MAX) and
 * calls {@link scratchText} before anything else can write to it (single-threaded; each worker has its own module).
 */

/** Capacity of the scratch. Longer inputs take a slower path (only absurd HTTP targets or certificate fields). */
export const TEXT_MAX = 4096;

/** Gathering area for {@link scratchText}. */
export const TEXT_SCRATCH: Buffer = Buffer.allocUnsafe(TEXT_MAX);

/** The string of `TEXT_SCRATCH[0, n)`, one character per byte. */
export function scratchText(n: number): string {
  return TEXT_SCRATCH.toString('latin1', 0, n);
}

/** `b[p, p + n)` as a string, one character per byte. */
export function latin1Text(b: Uint8Array, p: number, n: number): string {
  if (n <= 0) return '';
  if (n > TEXT_MAX) return Buffer.from(b.buffer, b.byteOffset + p, n).toString('latin1');
  for (let k = 0; k < n; k++) TEXT_SCRATCH[k] = b[p + k]!;
  return scratchText(n);
}
