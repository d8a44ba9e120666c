/**
 * prom-client is an optional peer dependency: the library's doors (ESM and CJS) and the CLI without --metrics run
 * in a process where it cannot be resolved at all. The same hooks make `tunnelscope/metrics` fail to load, which
 * shows they work.
 */
import { describe, expect, it } from 'vitest';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { libraryDoorsScript, runHiding } from '../helpers/hide-packages.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const DIST = join(ROOT, 'dist');

const withoutPromClient = (args: string[]): ReturnType<typeof runHiding> => runHiding(['prom-client'], args);

describe('prom-client stays optional', () => {
  it('the library doors load and classify without it; the metrics door does not', () => {
    const url = (f: string): string => pathToFileURL(join(DIST, f)).href;
    const script = `${libraryDoorsScript(DIST)}
      let failed = 'loaded';
      try { await import(${JSON.stringify(url('metrics.js'))}); } catch (e) { failed = e.code; }
      let failedCjs = 'loaded';
      try { req(${JSON.stringify(join(DIST, 'metrics.cjs'))}); } catch (e) { failedCjs = e.code; }
      console.log(failed, failedCjs);`;
    const r = withoutPromClient(['--input-type=module', '-e', script]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['function ordinary', 'ERR_MODULE_NOT_FOUND MODULE_NOT_FOUND']);
  });
  it('the CLI classifies without it (ESM and CJS bins)', () => {
    for (const bin of ['cli.js', 'cli.cjs']) {
      const r = withoutPromClient([join(DIST, bin), 'classify', 'fixtures/sample.pcap', '--registered', 'fixtures/sample-registered.txt', '--quiet', '--format', 'ndjson']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(40);
      // Asking for metrics says what is missing.
      const m = withoutPromClient([join(DIST, bin), 'classify', 'fixtures/sample.pcap', '--metrics', '127.0.0.1:0', '-q']);
      expect(m.status).toBe(2);
      expect(m.stderr).toBe('tunnelscope classify: --metrics: needs the optional package prom-client (npm install prom-client)\n');
    }
  });
});
