/**
 * Compiles data/vpn-domains.txt into src/lists/bundled-domains.ts, so the library's default domain list is part
 * of the bundle (no file read at run time, and classify/ stays free of I/O). Run by `npm run build`;
 * test/lists/bundled-domains.test.ts fails when the module and the text file disagree.
 *
 *   npx tsx scripts/gen-vpn-domains.ts          # rewrite the module
 *   npx tsx scripts/gen-vpn-domains.ts --check  # exit 1 when it is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderBundledDomains } from './vpn-domains-module.js';

const root = join(import.meta.dirname, '..');
const out = join(root, 'src', 'lists', 'bundled-domains.ts');
const text = renderBundledDomains(readFileSync(join(root, 'data', 'vpn-domains.txt'), 'utf8'));
let current = '';
try {
  current = readFileSync(out, 'utf8');
} catch {
  // first run
}
if (process.argv.includes('--check')) {
  if (current !== text) {
    process.stderr.write('src/lists/bundled-domains.ts is stale: run `npx tsx scripts/gen-vpn-domains.ts`\n');
    process.exit(1);
  }
} else if (current !== text) {
  writeFileSync(out, text);
  process.stderr.write(`wrote ${out}\n`);
}
