/**
 * The open-addressing hash index the flow table and the reassembler share: a power-of-two array of slot numbers
 * (-1 = empty), linear probing, and backward-shift deletion (Knuth 6.4, algorithm R) so probe sequences stay intact
 * without tombstones. Each slot's hash lives in the owner's record array: `rec[slot * stride + field]`.
 * Never allocates; O(probe length) per operation.
 */
const EMPTY = -1;

/** Put `slot` into the index at the first free place of its probe sequence. */
export function indexInsert(idx: Int32Array, mask: number, slot: number, rec: Int32Array, stride: number, field: number): void {
  let i = rec[slot * stride + field]! & mask;
  while (idx[i] !== EMPTY) i = (i + 1) & mask;
  idx[i] = slot;
}

/** Take `slot` out of the index, moving later entries of the probe run back so none becomes unreachable. */
export function indexRemove(idx: Int32Array, mask: number, slot: number, rec: Int32Array, stride: number, field: number): void {
  let i = rec[slot * stride + field]! & mask;
  while (idx[i] !== slot) i = (i + 1) & mask;
  let j = i;
  for (;;) {
    j = (j + 1) & mask;
    const s = idx[j]!;
    if (s === EMPTY) break;
    const k = rec[s * stride + field]! & mask;
    // Move s back to i unless its home k lies cyclically in (i, j].
    if (i <= j ? i < k && k <= j : i < k || k <= j) continue;
    idx[i] = s;
    i = j;
  }
  idx[i] = EMPTY;
}
