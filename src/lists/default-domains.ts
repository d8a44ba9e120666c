/** Location of the bundled VPN-provider domain list (shipped in the package's data/ folder). */
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Absolute path of data/vpn-domains.txt, from both src/ (tests) and dist/ (package). */
export function defaultVpnDomainsPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const p = join(dir, 'data', 'vpn-domains.txt');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return join(dir, 'data', 'vpn-domains.txt');
}
