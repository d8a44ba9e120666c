/**
 * Run Node with some packages made unresolvable, for ESM (a resolve hook) and CJS (Module._resolveFilename) alike:
 * how the tests show that an optional peer dependency (prom-client, the NATS clients) is really optional.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * Run `node …args` from the repository root where a specifier is hidden when it equals one of `prefixes` or starts
 * with it followed by `/` (a prefix ending in `/` is a scope: every package under it).
 */
export function runHiding(prefixes: readonly string[], args: string[]): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ts-hidden-'));
  const test = `const HIDDEN = ${JSON.stringify(prefixes)};
const hidden = (s) => HIDDEN.some((p) => s === p || s.startsWith(p.endsWith('/') ? p : p + '/'));`;
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `${test}
export async function resolve(spec, ctx, next) {
  if (hidden(spec)) throw Object.assign(new Error("Cannot find package '" + spec + "' (hidden by the test)"), { code: 'ERR_MODULE_NOT_FOUND' });
  return next(spec, ctx);
}\n`,
  );
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`);
  writeFileSync(
    join(dir, 'block.cjs'),
    `${test}
const M = require('node:module');
const orig = M._resolveFilename;
M._resolveFilename = function (req, ...rest) {
  if (hidden(req)) throw Object.assign(new Error("Cannot find module '" + req + "' (hidden by the test)"), { code: 'MODULE_NOT_FOUND' });
  return orig.call(this, req, ...rest);
};\n`,
  );
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, '--require', join(dir, 'block.cjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The start of a module script that loads the library doors (ESM `index.js`, `node.js`; CJS `index.cjs` through
 * `req`, a require made there) and classifies one flow, printing "function ordinary": what must keep working
 * with an optional package hidden. The caller appends its own checks (`req` is in scope).
 */
export function libraryDoorsScript(dist: string): string {
  const url = (f: string): string => pathToFileURL(join(dist, f)).href;
  return `
      const lib = await import(${JSON.stringify(url('index.js'))});
      await import(${JSON.stringify(url('node.js'))});
      const { createRequire } = await import('node:module');
      const req = createRequire(${JSON.stringify(url('index.cjs'))});
      const cjs = req(${JSON.stringify(join(dist, 'index.cjs'))});
      const v = lib.createClassifier().classifyFlow({ transport: 17, src: '192.0.2.1', dst: '198.51.100.1', srcPort: 1, dstPort: 2, packets: [] });
      console.log(typeof cjs.createClassifier, v.label);`;
}
