/** Naive twin of DomainSet: linear scan over entries, longest whole-label suffix wins, bare beats `*.` on a tie. */
export function naiveDomainMatch<V>(entries: ReadonlyArray<readonly [string, V]>, name: string): { suffix: string; value: V } | undefined {
  const map = new Map<string, V>();
  for (const [k, v] of entries) map.set(k.toLowerCase().replace(/\.$/, ''), v); // later entries win
  const n = name.toLowerCase().replace(/\.$/, '');
  let best: { suffix: string; value: V; len: number; bare: boolean } | undefined;
  for (const [entry, value] of map) {
    const wildcard = entry.startsWith('*.');
    const key = wildcard ? entry.slice(2) : entry;
    const hit = wildcard ? n.endsWith('.' + key) : n === key || n.endsWith('.' + key);
    if (!hit) continue;
    if (!best || key.length > best.len || (key.length === best.len && !wildcard && !best.bare)) {
      best = { suffix: entry, value, len: key.length, bare: !wildcard };
    }
  }
  return best ? { suffix: best.suffix, value: best.value } : undefined;
}
