import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

describe('package entry points', () => {
  it('loads the CJS build with require()', () => {
    const require = createRequire(import.meta.url);
    const cjs = require('../dist/index.cjs') as Record<string, unknown>;
    expect(typeof cjs.TunnelscopeError).toBe('function');
    expect(typeof cjs.PcapWriter).toBe('function');
  });
  it('loads the ESM build', async () => {
    // A computed specifier: dist/ is built by `npm test`, and type-checking must not need it.
    const esm = (await import(pathToFileURL(resolve(import.meta.dirname, '..', 'dist', 'index.js')).href)) as Record<string, unknown>;
    expect(typeof esm.ListParseError).toBe('function');
  });
  it('CLI prints its version and rejects unknown commands with exit 2', () => {
    const out = execFileSync(process.execPath, ['dist/cli.js', '--version'], { encoding: 'utf8' });
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    let code = 0;
    try {
      execFileSync(process.execPath, ['dist/cli.js', 'nope'], { stdio: 'pipe' });
    } catch (e) {
      code = (e as { status: number }).status;
    }
    expect(code).toBe(2);
  });
});

describe('tunnelscope/node entry', () => {
  it('exports the middleware adapters from both builds', async () => {
    const require = createRequire(import.meta.url);
    const cjs = require('../dist/node.cjs') as Record<string, unknown>;
    expect(typeof cjs.classifySocket).toBe('function');
    const esm = (await import(pathToFileURL(resolve(import.meta.dirname, '..', 'dist', 'node.js')).href)) as Record<string, unknown>;
    expect(typeof esm.DatagramClassifier).toBe('function');
  });
});
