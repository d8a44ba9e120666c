/** Renders the bundled-domains module from the text of data/vpn-domains.txt (shared by the generator and its test). */
import { parseDomainList } from '../src/lists/domains.js';

export function renderBundledDomains(listText: string): string {
  const list = parseDomainList(listText, { source: 'data/vpn-domains.txt' });
  const q = (t: string): string => `'${t.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const rows = list.entries.map(([d, p]) => `  [${q(d)}, ${q(p)}],`).join('\n');
  return `/**
 * GENERATED from data/vpn-domains.txt by scripts/gen-vpn-domains.ts (\`npm run build\` runs it); do not edit.
 * The bundled VPN-provider domain list compiled into the package, so \`createClassifier()\` uses the same list
 * as the CLI without reading a file. Sources and the reason for each entry are in the text file's comments.
 */

/** Name used in evidence text for the bundled list (the CLI uses the same). */
export const BUNDLED_VPN_DOMAINS_NAME = 'data/vpn-domains.txt';

/** \`[domain, provider]\` pairs in file order (normalised; ${list.entries.length} entries). */
export const BUNDLED_VPN_DOMAINS: ReadonlyArray<readonly [string, string]> = Object.freeze([
${rows}
].map((e) => Object.freeze(e) as readonly [string, string]));
`;
}
