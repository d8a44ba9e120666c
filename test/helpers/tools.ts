/**
 * Real tools of the field for tests (tshark, nfdump/nfcapd, bro-cut, jq…): `scripts/ensure-tools.sh` installs
 * missing ones from Debian's packages; a test skips with the reason only when a tool still cannot be had.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** null when every tool is on PATH (installing missing ones first), else why not (for `it.skipIf`). */
export function ensureTools(...tools: string[]): string | null {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'ensure-tools.sh'), ...tools], { encoding: 'utf8', timeout: 900_000 });
  if (r.status === 0) return null;
  return `tools missing (scripts/ensure-tools.sh ${tools.join(' ')}): ${(r.stdout + r.stderr).trim().replace(/\n/g, '; ')}`;
}
