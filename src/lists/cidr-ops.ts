/**
 * CIDR set algebra for compiling lists, via cidr-tools (ESM-only; bundled into the CJS build by tsup).
 * cidr-tools' own validation is rudimentary, so every input goes through our strict parser first and is
 * canonicalised (IPv4-mapped -> IPv4, host bits cleared: these are address *sets*); outputs are canonical
 * `addr/len` text. Not for hot paths: cidr-tools works in BigInt.
 * @throws {CidrError} for any input that is not an address or prefix.
 */
import { containsCidr, excludeCidr, mergeCidr, overlapCidr } from 'cidr-tools';
import { formatPrefix, newPrefixParts, parsePrefixInto } from '../ip/prefix.js';

function canon(list: string | readonly string[]): string[] {
  const p = newPrefixParts();
  return (typeof list === 'string' ? [list] : list).map((c) => formatPrefix(parsePrefixInto(c, p, true)));
}
function canonOut(list: string[]): string[] {
  return canon(list);
}

/** Merges overlapping and adjacent prefixes into the fewest covering prefixes (IPv4 first, ascending). */
export function mergeCidrs(list: string | readonly string[]): string[] {
  return canonOut(mergeCidr(canon(list)));
}

/** The addresses of `base` minus those of `exclude`, as the fewest prefixes. */
export function excludeCidrs(base: string | readonly string[], exclude: string | readonly string[]): string[] {
  return canonOut(excludeCidr(canon(base), canon(exclude)));
}

/** True when some address is in both `a` and `b`. */
export function overlapCidrs(a: string | readonly string[], b: string | readonly string[]): boolean {
  const ca = canon(a);
  const cb = canon(b);
  return ca.length > 0 && cb.length > 0 && overlapCidr(ca, cb);
}

/** True when every address of `b` is in `a`. */
export function containsCidrs(a: string | readonly string[], b: string | readonly string[]): boolean {
  const ca = canon(a);
  const cb = canon(b);
  if (cb.length === 0) return true;
  return ca.length > 0 && containsCidr(ca, cb);
}
