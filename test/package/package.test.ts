/**
 * The package as users get it. From a copy of the checkout without dist/ (as a fresh clone is), `npm pack` must
 * build (prepack) and ship dist/, the man page, the domain list, README and LICENSE and nothing of src/ or test/;
 * `publint --strict` and `@arethetypeswrong/cli` pass on the tarball; installed into an empty project it works as
 * ESM, as CJS, for the TypeScript checker (node16/nodenext and node10 resolution, with @types/node) and as a bin.
 * Runs on each Node version CI tests (20 and 22).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../output/sample-records.js';

const NPM_ENV = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);

function sh(cmd: string, args: string[], cwd: string): { code: number; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: NPM_ENV, timeout: 600_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** The checkout's files as git knows them (tracked and new, not ignored): what a fresh clone has. */
function checkoutFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  return [...new Set(out.split('\0').filter(Boolean))].filter((f) => existsSync(join(ROOT, f)));
}

describe('the packed package', () => {
  const work = mkdtempSync(join(tmpdir(), 'tunnelscope-pack-'));
  const clone = join(work, 'clone');
  const consumer = join(work, 'consumer');
  let tarball = '';
  let packOut = '';

  beforeAll(() => {
    for (const f of checkoutFiles()) {
      mkdirSync(dirname(join(clone, f)), { recursive: true });
      cpSync(join(ROOT, f), join(clone, f));
    }
    expect(existsSync(join(clone, 'dist'))).toBe(false);
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
    const r = sh('npm', ['pack', '--pack-destination', work], clone);
    packOut = r.out;
    expect(r.code, r.out).toBe(0);
    tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  }, 600_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('npm pack from a checkout without dist/ builds it (prepack) and ships what users need, and only that', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    for (const f of ['package.json', 'README.md', 'LICENSE', 'data/vpn-domains.txt', 'dist/cli.js', 'dist/cli-main.js', 'dist/cli-main.cjs', 'dist/cli-main.d.ts', 'dist/cli-main.d.cts',
      'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts', 'dist/node.js', 'dist/node.cjs', 'dist/node.d.ts', 'dist/node.d.cts', 'dist/worker.js', 'dist/tunnelscope.1']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^(src|test|fixtures|scripts|bench)\//.test(f))).toEqual([]);
    expect(packOut).not.toMatch(/install-scripts|allowScripts/);
  });

  it('publint --strict finds nothing', () => {
    const r = sh(process.execPath, [bin('publint'), 'run', tarball, '--strict'], work);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/All good/);
  });

  it('@arethetypeswrong/cli finds no problem for any entry point under any resolution', () => {
    const r = sh(process.execPath, [bin('attw'), tarball, '--format', 'json'], work);
    expect(r.code, r.out).toBe(0);
    const report = JSON.parse(r.out) as { analysis: { problems: unknown[]; entrypoints: Record<string, unknown> } };
    expect(report.analysis.problems).toEqual([]);
    const exportsMap = JSON.parse(execFileSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' })).exports as object;
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual(Object.keys(exportsMap).sort());
  });

  describe('installed into an empty project', () => {
    beforeAll(() => {
      mkdirSync(consumer);
      writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
      const r = sh('npm', ['install', '--prefer-offline', '--no-package-lock', tarball], consumer);
      expect(r.code, r.out).toBe(0);
    }, 600_000);

    const node = (args: string[]) => sh(process.execPath, args, consumer);

    it('imports as ESM: the library (bundled domain list by default), tunnelscope/node, and tunnelscope/cli without running it', () => {
      const code = `
        import { createClassifier, OUTPUT_FORMATS, defaultVpnDomainsPath, loadDomainList, createIpfixExporter } from 'tunnelscope';
        import { classifySocket, DatagramClassifier } from 'tunnelscope/node';
        import { main, SUBCOMMANDS } from 'tunnelscope/cli';
        const c = createClassifier();
        const file = await loadDomainList({ path: defaultVpnDomainsPath() });
        console.log(c.lists.vpnDomains.size > 0, file.entries.length > 0, Object.keys(OUTPUT_FORMATS).join(','),
          typeof classifySocket, typeof DatagramClassifier, typeof main, SUBCOMMANDS.some((s) => s.name === 'completion'), typeof createIpfixExporter, process.exitCode ?? 0);`;
      const r = node(['--input-type=module', '-e', code]);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toBe('true true zeek,zeek-json,eve,csv function function function true function 0\n');
    });

    it('requires as CJS', () => {
      const code = `
        const t = require('tunnelscope'); const n = require('tunnelscope/node'); const cli = require('tunnelscope/cli');
        console.log(t.createClassifier().lists.vpnDomains.size > 0, typeof n.classifySocket, typeof cli.main, process.exitCode ?? 0);`;
      const r = node(['-e', code]);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toBe('true function function 0\n');
    });

    /** tsc from this repo over the consumer's files, with the given resolution and types. */
    function typecheck(name: string, compilerOptions: object, files: Record<string, string>): { code: number; out: string } {
      const dir = join(consumer, name);
      mkdirSync(dir, { recursive: true });
      for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
      const options = { strict: true, noEmit: true, skipLibCheck: false, target: 'es2022', typeRoots: [join(ROOT, 'node_modules', '@types')], ...compilerOptions };
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: Object.keys(files) }));
      return sh(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], consumer);
    }
    const BODY = `
      const f: RecordFormat = OUTPUT_FORMATS['zeek']!;
      const line = (r: FlowRecord): string => f.record(r);
      const v: Promise<number> = main(['-V']);
      const c = createClassifier();
      void classifySocket, line, v, c;
    `;
    const ESM = `import { createClassifier, type FlowRecord, type RecordFormat, OUTPUT_FORMATS } from 'tunnelscope';
      import { classifySocket } from 'tunnelscope/node';
      import { main } from 'tunnelscope/cli';
      ${BODY}
      export {};`;
    const CJS = `import tunnelscope = require('tunnelscope');
      import node = require('tunnelscope/node');
      import cli = require('tunnelscope/cli');
      type FlowRecord = tunnelscope.FlowRecord;
      type RecordFormat = tunnelscope.RecordFormat;
      const { createClassifier, OUTPUT_FORMATS } = tunnelscope;
      const { classifySocket } = node;
      const { main } = cli;
      ${BODY}`;

    it('type-checks with @types/node under nodenext (an ESM and a CJS file) and under node10 (typesVersions)', () => {
      writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module', dependencies: { tunnelscope: '*' } }));
      const nodenext = typecheck('nodenext', { module: 'nodenext', moduleResolution: 'nodenext', types: ['node'] }, { 'esm.ts': ESM, 'cjs.cts': CJS });
      expect(nodenext.code, `nodenext: ${nodenext.out}`).toBe(0);
      const node10 = typecheck('node10', { module: 'commonjs', moduleResolution: 'node10', types: ['node'], ignoreDeprecations: '5.0' }, { 'cjs.ts': CJS });
      expect(node10.code, `node10: ${node10.out}`).toBe(0);
    }, 300_000);

    it('needs @types/node, as the README says: without it the declarations do not check', () => {
      const r = typecheck('no-node-types', { module: 'nodenext', moduleResolution: 'nodenext', types: [] }, { 'esm.ts': ESM });
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/Cannot find (name|module|namespace) '(Buffer|node:[a-z_]+|NodeJS|EventEmitter)'/);
    }, 300_000);

    it('runs as a bin and ships its man page', () => {
      const tunnelscope = join(consumer, 'node_modules', '.bin', 'tunnelscope');
      const version = sh(tunnelscope, ['-V'], consumer);
      expect(version.out.trim()).toBe(JSON.parse(execFileSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' })).version);
      const csv = sh(tunnelscope, ['classify', join(ROOT, 'fixtures', 'sample.pcap'), '--format', 'csv', '-q'], consumer);
      expect(csv.code, csv.out).toBe(0);
      expect(csv.out.split('\r\n').filter(Boolean).length).toBe(41);
      expect(existsSync(join(consumer, 'node_modules', 'tunnelscope', 'dist', 'tunnelscope.1'))).toBe(true);
    });
  });
});
