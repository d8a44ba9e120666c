/**
 * The README is the API reference: every runtime export of `tunnelscope`, `tunnelscope/node` and `tunnelscope/nats` must be named in
 * it, and the examples marked `<!-- readme-example: … -->` must run as written against the built package (they
 * import `tunnelscope` by name, which resolves to dist/ through the package's own `exports`).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { example, README, ROOT } from './helpers/readme.js';

/** Runs an example with node from inside the project (so `import … from 'tunnelscope'` resolves to this package). */
function runExample(name: string): string[] {
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  const file = join(ROOT, '.cache', `readme-${name}.mjs`);
  writeFileSync(file, example(name));
  return execFileSync(process.execPath, [file], { encoding: 'utf8', cwd: ROOT }).trim().split('\n');
}

describe('README API reference', () => {
  it('names every runtime export of tunnelscope, tunnelscope/node and tunnelscope/nats', async () => {
    for (const entry of ['index.js', 'node.js', 'nats.js']) {
      const mod = (await import(pathToFileURL(join(ROOT, 'dist', entry)).href)) as Record<string, unknown>;
      const missing = Object.keys(mod).filter((k) => !new RegExp(`\\b${k}\\b`).test(README));
      expect(missing, `exports of dist/${entry} not in the README`).toEqual([]);
    }
  });

  it('the "other exports" example runs and prints what its comments say', () => {
    expect(runExample('other-exports')).toEqual([
      '192.0.2.7 2001:db8::1',
      '2001:db8::1',
      'api.nordvpn.com 2',
      'true',
      'true',
      '57 14',
      'true true',
      'dns.list',
      'true dns.list',
      'true',
    ]);
  });

  it('the createClassifier example classifies its WireGuard handshake as registered_vpn of the fixture registrant', () => {
    expect(runExample('classify-flow')).toEqual(['registered_vpn wireguard 0.95 org-1 src 2', 'wg.handshake (strong), registered.prefix (medium)']);
  });
  // What each example prints (its comments say the same).
  const SAMPLE = '{"ordinary":24,"unregistered_vpn":8,"registered_vpn":8}';
  it.each([
    ['session', [`${SAMPLE} 16`]],
    ['update', ['CidrError TS_PREFIX_LENGTH', '2 2 acme']],
    ['pool', [`1200 ${SAMPLE}`]],
    ['captures', ['3 4 0 40']],
    ['cidr', ['b', "{ prefix: '10.0.0.0/8', value: 'a' }", 'true', 'b', 'c', 'b undefined', "{ prefix: '192.0.2.0/24', value: 'x' }", 'b']],
    ['traces', ['1200 {"fin":16,"eof":24}']],
    ['detectors', ['wireguard wg.init medium', 'false']],
  ])('the %s example runs as written', (name, want) => {
    expect(runExample(name)).toEqual(want);
  });
});
