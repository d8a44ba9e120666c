/**
 * The NATS client packages are optional peer dependencies: in a process where no `@nats-io/*` package can be
 * resolved, the library doors (ESM, CJS), the CLI without --nats (ESM and CJS bins) and even importing
 * `tunnelscope/nats` work; the first call that needs NATS, and the CLI's fleet options, fail with one clear line
 * naming what to install (code TS_NATS_MISSING), never a stack trace.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

import { libraryDoorsScript, runHiding } from '../helpers/hide-packages.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const DIST = join(ROOT, 'dist');

const withoutNats = (args: string[]): ReturnType<typeof runHiding> => runHiding(['@nats-io/'], args);

describe('the NATS packages stay optional', () => {
  it('library doors load and classify without them; tunnelscope/nats loads and says what to install when used', () => {
    const url = (f: string): string => pathToFileURL(join(DIST, f)).href;
    const script = `${libraryDoorsScript(DIST)}
      const esm = await import(${JSON.stringify(url('nats.js'))});
      const natsCjs = req(${JSON.stringify(join(DIST, 'nats.cjs'))});
      for (const door of [esm, natsCjs]) {
        try { await door.connectNats('nats://127.0.0.1:1'); console.log('connected?'); }
        catch (e) { console.log(e.code, e.name, /npm install @nats-io\\/transport-node/.test(e.message)); }
      }`;
    const r = withoutNats(['--input-type=module', '-e', script]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['function ordinary', 'TS_NATS_MISSING NatsMissingError true', 'TS_NATS_MISSING NatsMissingError true']);
  });

  it('the CLI classifies without them (ESM and CJS bins); its fleet options say what to install', () => {
    for (const bin of ['cli.js', 'cli.cjs']) {
      const r = withoutNats([join(DIST, bin), 'classify', 'fixtures/sample.pcap', '--registered', 'fixtures/sample-registered.txt', '--quiet', '--format', 'ndjson']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(40);
    }
    const cases = [
      ['classify', 'fixtures/sample.pcap', '--nats', 'nats://127.0.0.1:1', '--publish'],
      ['fleet', 'stats', '--nats', 'nats://127.0.0.1:1'],
      ['lists', 'publish', '--nats', 'nats://127.0.0.1:1', '--registered', 'fixtures/sample-registered.txt'],
    ];
    for (const args of cases) {
      const r = withoutNats([join(DIST, 'cli.js'), ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/NATS support needs the optional packages @nats-io\/transport-node@\^3\.4\.0 .*npm install/);
    }
  });

  it('the CLI reaches the NATS code only through dynamic import (fleet-run.ts is the only module importing it)', () => {
    const dir = join(ROOT, 'src', 'cli');
    const bad: string[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts') && n !== 'fleet-run.ts')) {
      const text = readFileSync(join(dir, f), 'utf8');
      for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)) {
        if (/^\.\.\/nats\/|^\.\/fleet-run\.js$|^@nats-io\//.test(m[1]!)) bad.push(`${f}: ${m[1]}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
