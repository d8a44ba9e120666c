/**
 * Naive twin of the certificate parser's subjectAltName reading (src/detect/names/cert.ts): given the GeneralNames a
 * test encoded, the dNSNames the parser must return — written from RFC 5280 §4.2.1.6 (dNSName = [2] IA5String in
 * "preferred name syntax") and RFC 6125 §6.4.3 (a wildcard is the whole left-most label) with regular expressions
 * and string splits, no byte walking.
 */
import type { GeneralName } from '../detect/names/cert-builders.js';

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** The host name `s` as the parser keeps it (lower case), or null when it must be skipped. */
export function oracleDnsName(s: string): string | null {
  if (s.length < 1 || s.length > 253) return null;
  const labels = s.split('.');
  const wild = labels[0] === '*';
  const rest = wild ? labels.slice(1) : labels;
  if (wild && rest.length < 2) return null;
  if (!rest.every((l) => LABEL.test(l))) return null;
  if (/^[0-9]+$/.test(rest[rest.length - 1]!)) return null; // an address written as a name
  return s.toLowerCase();
}

/** The SAN list the parser must return for `names`: valid dNSNames in order, at most `max`. */
export function oracleSan(names: readonly GeneralName[], max = 8): string[] {
  const out: string[] = [];
  for (const g of names) {
    if (out.length >= max) break;
    if (g.tag !== 'dns') continue;
    const n = oracleDnsName(Buffer.from(g.bytes).toString('latin1'));
    if (n !== null) out.push(n);
  }
  return out;
}
