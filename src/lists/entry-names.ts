/**
 * The line text behind a map's prefixes where that text is not the prefix itself: a range `FIRST-LAST` is split
 * into prefixes at load, and evidence must name the range the operator wrote (and can find in the file), not a
 * prefix of it they never wrote. Held beside the map, by identity, so the map and its lookups stay as they are;
 * built once at load, read only when a verdict names a hit (no allocation: the texts are the list's own).
 */
import type { CidrMap } from '../trie/cidr-map.js';

/** Per map index: 0 = the prefix is what its line wrote, k + 1 = `texts[k]` (a range, as written). */
export interface EntryNames {
  readonly texts: readonly string[];
  readonly at: Uint32Array;
}

const names = new WeakMap<CidrMap<unknown>, EntryNames>();

/** @internal Record what `m`'s prefixes were written as (the list loader, and views of the same tables). */
export function setEntryNames(m: CidrMap<unknown>, n: EntryNames): void {
  names.set(m, n);
}

/** @internal What `m`'s prefixes were written as, when some were written otherwise (a range). */
export function entryNamesOf(m: CidrMap<unknown>): EntryNames | undefined {
  return names.get(m);
}

/** The text a line wrote for `m`'s prefix at index `i` when it was not that prefix (a range), else null. */
export function writtenEntryAt(m: CidrMap<unknown>, i: number): string | null {
  const n = names.get(m);
  if (n === undefined) return null;
  const k = n.at[i]!;
  return k === 0 ? null : n.texts[k - 1]!;
}
