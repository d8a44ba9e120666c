/**
 * The bin's V8 code cache (src/cli/code-cache.ts): keyed by the build, checked before use, private to the user,
 * never required. In-process on small modules, then through the built bin on a real capture.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CACHED_COMMANDS,
  cacheDir,
  cacheFileName,
  commandOf,
  decodeCache,
  encodeCache,
  HEADER_BYTES,
  requireWithCodeCache,
  type CacheStatus,
  WRAP_CLOSE,
  WRAP_OPEN,
} from '../../src/cli/code-cache.js';
import { SUBCOMMANDS } from '../../src/cli/main.js';
import { v8FlagsToSet } from '../../src/cli/v8-flags.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'cli.cjs');
const SAMPLE = join(ROOT, 'fixtures', 'sample.pcap');
const tmp = (p: string): string => mkdtempSync(join(tmpdir(), `ts-cc-${p}-`));
const KEY = { sourceCrc: 0x12345678, sourceLength: 4242 };

describe('cache file format', () => {
  it('round-trips, and any single changed byte, a cut or an extra byte makes the file unusable', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (payload, at, x) => {
        const file = encodeCache(KEY, payload)!;
        expect(decodeCache(KEY, file)).toEqual(Buffer.from(payload));
        const bad = Buffer.from(file);
        bad[at % bad.length]! ^= x;
        expect(decodeCache(KEY, bad)).toBeNull();
        expect(decodeCache(KEY, file.subarray(0, file.length - 1 - (at % file.length)))).toBeNull();
        expect(decodeCache(KEY, Buffer.concat([file, Buffer.of(x)]))).toBeNull();
      }),
    );
  });

  it('a file of another build (bundle CRC or length) is not used', () => {
    const file = encodeCache(KEY, Buffer.from('payload'))!;
    expect(decodeCache({ ...KEY, sourceCrc: KEY.sourceCrc + 1 }, file)).toBeNull();
    expect(decodeCache({ ...KEY, sourceLength: KEY.sourceLength + 1 }, file)).toBeNull();
    expect(decodeCache(KEY, Buffer.alloc(HEADER_BYTES))).toBeNull();
  });

  it('file names carry the build, the command, Node and its flags, and nothing from the command line', () => {
    const key = { ...KEY, command: commandOf(['classify', 'x.pcap']), node: 'v20.20.2', arch: 'x64', flagsCrc: 7 };
    expect(cacheFileName(key)).toBe('cli-classify-v20.20.2-x64-12345678-4242-00000007.v8cache');
    expect(commandOf(['../../etc/passwd'])).toBe('other');
    expect(commandOf(['--version'])).toBe('other');
    expect(commandOf([])).toBe('other');
    fc.assert(fc.property(fc.array(fc.string()), fc.string(), fc.string(), (argv, node, arch) => {
      expect(cacheFileName({ ...KEY, command: commandOf(argv), node, arch, flagsCrc: 0 })).toMatch(/^cli-[a-z]+-[0-9A-Za-z._]*-[0-9A-Za-z_]*-[0-9a-f]{8}-\d+-[0-9a-f]{8}\.v8cache$/);
    }));
  });

  it('every subcommand has its own cache file name', () => {
    expect([...CACHED_COMMANDS].sort()).toEqual(SUBCOMMANDS.map((s) => s.name).sort());
  });

  it('the cache directory: per-user by platform, overridable, can be turned off', () => {
    expect(cacheDir({}, 'linux', '/home/u')).toBe('/home/u/.cache/tunnelscope');
    expect(cacheDir({ XDG_CACHE_HOME: '/x/c' }, 'linux', '/home/u')).toBe('/x/c/tunnelscope');
    expect(cacheDir({ XDG_CACHE_HOME: 'relative' }, 'linux', '/home/u')).toBe('/home/u/.cache/tunnelscope');
    expect(cacheDir({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Caches/tunnelscope');
    expect(cacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u')).toMatch(/tunnelscope.Cache$/);
    expect(cacheDir({}, 'linux', undefined)).toBeNull();
    expect(cacheDir({ TUNNELSCOPE_CACHE_DIR: '/t' }, 'linux', '/home/u')).toBe('/t');
    for (const off of ['0', 'off', 'OFF', 'false', 'no']) expect(cacheDir({ TUNNELSCOPE_CODE_CACHE: off, TUNNELSCOPE_CACHE_DIR: '/t' }, 'linux', '/home/u')).toBeNull();
  });
});

/** Load `file` through the cache in `dir`; returns its exports, what the cache did, and the writer it left. */
function load(file: string, dir: string | null): { exports: unknown; status: CacheStatus; write: (() => void) | null } {
  let status: CacheStatus = 'off';
  let write: (() => void) | null = null;
  const exports = requireWithCodeCache(file, createRequire(file), { argv: ['classify'], dir, onStatus: (s) => (status = s), atExit: (w) => (write = w) });
  return { exports, status, write };
}

describe('requireWithCodeCache', () => {
  const SRC = `${WRAP_OPEN}'use strict';\nconst path = require('node:path');\nmodule.exports = { v: 1, twice: (x) => x * 2, base: path.basename(__filename), self: typeof module.exports, s: '\u2192' };${WRAP_CLOSE}`;

  it('refuses a file that is not a wrapped module', () => {
    const dir = tmp('plain');
    const file = join(dir, 'm.cjs');
    writeFileSync(file, `module.exports = 1;\n`);
    expect(() => load(file, null)).toThrow(/not a wrapped CommonJS module/);
  });

  it('runs the module; the first run writes a cache the next run uses', () => {
    const dir = tmp('dir'), cache = join(dir, 'cache');
    const file = join(dir, 'm.cjs');
    writeFileSync(file, SRC);
    const a = load(file, cache);
    expect(a.status).toBe('miss');
    expect(a.exports).toMatchObject({ v: 1, base: 'm.cjs', self: 'object', s: '\u2192' });
    expect((a.exports as { twice: (x: number) => number }).twice(21)).toBe(42);
    a.write!();
    const files = readdirSync(cache);
    expect(files).toHaveLength(1);
    if (process.platform !== 'win32') {
      expect(statSync(cache).mode & 0o777).toBe(0o700);
      expect(statSync(join(cache, files[0]!)).mode & 0o777).toBe(0o600);
    }
    const b = load(file, cache);
    expect(b.status).toBe('used');
    expect(b.write).toBeNull();
    expect((b.exports as { twice: (x: number) => number }).twice(4)).toBe(8);
  });

  it('a changed module of the same length never runs the old code', () => {
    const dir = tmp('stale'), cache = join(dir, 'cache');
    const file = join(dir, 'm.cjs');
    writeFileSync(file, SRC);
    load(file, cache).write!();
    writeFileSync(file, SRC.replace('v: 1', 'v: 2'));
    const b = load(file, cache);
    expect(b.exports).toMatchObject({ v: 2 });
    expect(b.status).toBe('miss');
  });

  it('a corrupt, cut or foreign cache file is not used and is replaced by a good one', () => {
    const dir = tmp('bad'), cache = join(dir, 'cache');
    const file = join(dir, 'm.cjs');
    writeFileSync(file, SRC);
    load(file, cache).write!();
    const path = join(cache, readdirSync(cache)[0]!);
    const good = readFileSync(path);
    // (A well-formed file V8 itself rejects is tried in a fresh process below: within this process V8 finds the
    // module in its own compilation cache and never looks at the file.)
    const bad = [
      Buffer.concat([good.subarray(0, 100), Buffer.of(good[100]! ^ 1), good.subarray(101)]),
      good.subarray(0, good.length >> 1),
      Buffer.from('not a cache'),
    ];
    for (const b of bad) {
      writeFileSync(path, b, { mode: 0o600 });
      const r = load(file, cache);
      expect(r.status).toBe('rejected');
      expect(r.exports).toMatchObject({ v: 1 });
      r.write!();
      expect(load(file, cache).status).toBe('used');
    }
  });

  it.skipIf(process.platform === 'win32' || process.getuid?.() === undefined)('a cache directory or file others can write is neither read nor written', () => {
    const dir = tmp('perm'), cache = join(dir, 'cache');
    const file = join(dir, 'm.cjs');
    writeFileSync(file, SRC);
    load(file, cache).write!();
    const path = join(cache, readdirSync(cache)[0]!);
    chmodSync(path, 0o666);
    expect(load(file, cache).status).toBe('miss');
    chmodSync(path, 0o600);
    expect(load(file, cache).status).toBe('used');
    chmodSync(cache, 0o777);
    const r = load(file, cache);
    expect(r.status).toBe('miss');
    const before = readFileSync(path);
    r.write!();
    expect(readFileSync(path)).toEqual(before);
    expect(readdirSync(cache)).toHaveLength(1);
  });

  it('no cache at all when the directory cannot be made; the module still runs', () => {
    const dir = tmp('nodir');
    const file = join(dir, 'm.cjs');
    writeFileSync(file, SRC);
    writeFileSync(join(dir, 'afile'), 'x');
    const r = load(file, join(dir, 'afile', 'cache'));
    expect(r.exports).toMatchObject({ v: 1 });
    expect(() => r.write!()).not.toThrow();
    expect(load(file, null).status).toBe('off');
  });

  it('makes the cache directory and its parent, never a home that does not exist', () => {
    const dir = tmp('nohome');
    const file = join(dir, 'm.cjs');
    writeFileSync(file, SRC);
    const absent = load(file, join(dir, 'nonexistent', '.cache', 'tunnelscope'));
    expect(absent.exports).toMatchObject({ v: 1 });
    expect(() => absent.write!()).not.toThrow();
    expect(existsSync(join(dir, 'nonexistent'))).toBe(false);
    mkdirSync(join(dir, 'home'), { mode: 0o700 });
    load(file, join(dir, 'home', '.cache', 'tunnelscope')).write!();
    expect(readdirSync(join(dir, 'home', '.cache', 'tunnelscope'))).toHaveLength(1);
    expect(statSync(join(dir, 'home', '.cache')).mode & 0o777).toBe(0o700);
  });

  it('keeps at most 16 cache files, the newest', () => {
    const dir = tmp('prune'), cache = join(dir, 'cache');
    mkdirSync(cache, { mode: 0o700 });
    for (let i = 0; i < 20; i++) writeFileSync(join(cache, `cli-old${i}.v8cache`), 'x', { mode: 0o600 });
    const file = join(dir, 'm.cjs');
    writeFileSync(file, SRC);
    load(file, cache).write!();
    const left = readdirSync(cache);
    expect(left).toHaveLength(16);
    expect(left.some((n) => n.startsWith('cli-classify-'))).toBe(true);
  });
});

describe('the bin with its cache', () => {
  const run = (env: Record<string, string>, args = ['classify', SAMPLE, '--format', 'ndjson', '-q']) =>
    spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

  it('gives the same output and exit code cold, from its cache, with a corrupt cache and without one', () => {
    const dir = join(tmp('bin'), 'cache');
    const off = run({ TUNNELSCOPE_CODE_CACHE: '0', TUNNELSCOPE_CACHE_DIR: dir });
    expect(off.status).toBe(0);
    expect(off.stdout.split('\n').length).toBeGreaterThan(10);
    expect(existsSync(dir)).toBe(false);
    const first = run({ TUNNELSCOPE_CACHE_DIR: dir });
    const files = readdirSync(dir);
    expect(files).toEqual([expect.stringMatching(/^cli-classify-.*\.v8cache$/)]);
    const path = join(dir, files[0]!);
    const ino = statSync(path).ino;
    const second = run({ TUNNELSCOPE_CACHE_DIR: dir });
    expect(statSync(path).ino).toBe(ino); // used, not rewritten
    const good = readFileSync(path);
    writeFileSync(path, Buffer.concat([good.subarray(0, 4000), Buffer.from('garbage'), good.subarray(4007)]), { mode: 0o600 });
    const corrupt = run({ TUNNELSCOPE_CACHE_DIR: dir });
    for (const r of [first, second, corrupt]) {
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(off.stdout);
    }
    expect(statSync(path).ino).not.toBe(ino); // replaced
    // Well-formed (our header and CRC are right) but not V8's: V8 rejects it, the run is the same, the file replaced.
    const fixed = readFileSync(path);
    const foreign = encodeCache({ sourceCrc: fixed.readUInt32LE(8), sourceLength: fixed.readUInt32LE(12) }, Buffer.alloc(fixed.length - HEADER_BYTES, 0xab))!;
    writeFileSync(path, foreign, { mode: 0o600 });
    const rejected = run({ TUNNELSCOPE_CACHE_DIR: dir });
    expect(rejected.status).toBe(0);
    expect(rejected.stderr).toBe('');
    expect(rejected.stdout).toBe(off.stdout);
    expect(readFileSync(path).equals(foreign)).toBe(false);
    expect(decodeCache({ sourceCrc: fixed.readUInt32LE(8), sourceLength: fixed.readUInt32LE(12) }, readFileSync(path))).not.toBeNull();
    const usage = run({ TUNNELSCOPE_CACHE_DIR: dir }, ['classify', '--no-such-flag']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toBe(run({ TUNNELSCOPE_CODE_CACHE: '0' }, ['classify', '--no-such-flag']).stderr);
  });

  it('the CLI bundle is wrapped ASCII text with no import() (node:vm compiles it, where Node 20 cannot import())', () => {
    const text = readFileSync(join(ROOT, 'dist', 'cli-app.cjs'), 'utf8');
    expect(text.startsWith(WRAP_OPEN) && text.trimEnd().endsWith(WRAP_CLOSE)).toBe(true);
    expect(text).toMatch(/^[\x00-\x7f]*$/);
    expect(text).toMatch(/require\("@nats-io\/transport-node"\)/);
    expect(text.match(/(?<![\w$.])import\s*\(/g)).toBeNull();
  });
});

describe('V8 flags of the bin', () => {
  it('sets its inlining budget unless the user set one', () => {
    const names = (a: string[], o?: string) => v8FlagsToSet(a, o, '10.2.154.26-node.1').map((f) => `${f.name}=${f.value}`);
    expect(names([])).toEqual(['--max-inlined-bytecode-size=100']);
    expect(names(['--max-old-space-size=100'], '--enable-source-maps')).toEqual(['--max-inlined-bytecode-size=100']);
    expect(names(['--max-inlined-bytecode-size=460'])).toEqual([]);
    expect(names([], '--max_inlined_bytecode_size=10')).toEqual([]);
    // The cumulative budget is another flag.
    expect(names(['--max-inlined-bytecode-size-cumulative=100'])).toEqual(['--max-inlined-bytecode-size=100']);
  });

  it('sets a tiering flag only on the V8 line that has it, unless the user set it', () => {
    const names = (v8: string, a: string[] = []) => v8FlagsToSet(a, undefined, v8).map((f) => f.name);
    expect(names('11.3.244.8-node.38')).toEqual(['--max-inlined-bytecode-size', '--interrupt-budget']);
    expect(names('12.4.254.21-node.57')).toEqual(['--max-inlined-bytecode-size', '--invocation-count-for-turbofan']);
    expect(names('13.6.233.10-node.20')).toEqual(['--max-inlined-bytecode-size']);
    expect(names('11.3.244.8-node.38', ['--interrupt-budget=1000'])).toEqual(['--max-inlined-bytecode-size']);
    expect(names('12.4.254.21-node.57', ['--invocation_count_for_turbofan=10'])).toEqual(['--max-inlined-bytecode-size']);
  });

  it('every flag it would set on this Node is one V8 knows (no "unrecognized flag" on stderr)', () => {
    const flags = v8FlagsToSet([], undefined);
    const code = `const v8 = require('node:v8'); for (const f of ${JSON.stringify(flags.map((f) => `${f.name}=${f.value}`))}) v8.setFlagsFromString(f);`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(flags.length).toBeGreaterThan(0);
  });

  it('the code cache written with the flag set is used by the next start (its default comes back first)', () => {
    const dir = join(tmp('flags'), 'cache');
    const env = { ...process.env, TUNNELSCOPE_CACHE_DIR: dir };
    const args = [BIN, 'classify', SAMPLE, '--format', 'ndjson', '-q'];
    expect(spawnSync(process.execPath, args, { env }).status).toBe(0);
    const path = join(dir, readdirSync(dir)[0]!);
    const ino = statSync(path).ino;
    expect(spawnSync(process.execPath, args, { env }).status).toBe(0);
    expect(statSync(path).ino).toBe(ino);
  });
});
