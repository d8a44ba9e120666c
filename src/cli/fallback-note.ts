/**
 * The end-of-run wording for packets the decoder counted as their tunnel's carrier flow (DecodeStats.fallback):
 * shared by classify and flows so an operator reads the same sentence from both. Such packets are decoded, so no
 * "skipped" count shows them; without this line a capture whose snap length cut VXLAN or GTP-U inner headers
 * listed only UDP 4789/2152 flows and said nothing about the inner flows that went missing.
 */

/** `N packets counted as their tunnel's carrier flow, <why> (vxlan-inner 12, too-deep 1)`, or '' when none. */
export function fallbackNote(fallback: Readonly<Record<string, number>>): string {
  const parts = Object.entries(fallback).filter(([, n]) => n > 0);
  if (parts.length === 0) return '';
  const total = parts.reduce((a, [, n]) => a + n, 0);
  // Keys are the decoder's fixed names (`<encap>-inner`, `too-deep`), never packet bytes.
  const deep = parts.some(([k]) => k === 'too-deep');
  const inner = parts.some(([k]) => k !== 'too-deep');
  const why = [inner ? 'the inner packet cut by the capture or malformed' : '', deep ? 'tunnels nested past the depth limit' : ''].filter((x) => x !== '').join(' or ');
  return `${total} packets counted as their tunnel's carrier flow, ${why} (${parts.map(([k, n]) => `${k} ${n}`).join(', ')})`;
}
