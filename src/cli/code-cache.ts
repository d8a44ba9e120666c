/**
 * A V8 code cache for the CLI's one-file bundle (dist/cli-app.cjs), kept in the user's cache directory.
 *
 * Why: a fresh `tunnelscope` process parses and compiles the bundle (~0.65 MB) and then, function by function,
 * everything the run calls — 190–230 M instructions of a fresh classify of a real 35k-packet capture (callgrind,
 * Node 20). `vm.Script#createCachedData()` taken at the end of a run holds the bytecode of every function that run
 * compiled; the next run of the same subcommand starts from it. Node 22's `module.enableCompileCache` caches only
 * what is compiled at load time, and Node 20 has nothing, so the bin does this itself on both.
 *
 * Soundness: the cache is an optimisation and never required. A cache file is used only when all of these hold,
 * otherwise it is ignored (and rewritten at the end of the run):
 * - its name carries the build (CRC-32 and length of the bundle's text), Node's version and architecture, and the
 *   flags Node runs with (`execArgv`, `NODE_OPTIONS`); its header repeats the bundle's CRC and length;
 * - the payload's CRC-32 in the header matches (V8 itself checks its version, flags and the source length, but
 *   verifies no checksum in release builds: a torn or corrupted file must be caught here);
 * - V8 accepts it (`cachedDataRejected` false);
 * - on POSIX, the directory and the file belong to the user running tunnelscope and are not writable by group or
 *   others (a cache is code; nobody else may plant one).
 * Files are written whole (a temporary file renamed into place), mode 0600 in a 0700 directory, and at most
 * {@link MAX_FILES} are kept. Any error on the way (no home, read-only disk, a full disk) only means no cache.
 */
import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import zlib from 'node:zlib';

/**
 * dist/cli-app.cjs starts with WRAP_OPEN and ends with WRAP_CLOSE (tsup.config.ts): its text is the function
 * expression that CommonJS would wrap a module in, compiled as it is.
 */
export const WRAP_OPEN = '(function (exports, require, module, __filename, __dirname) {';
export const WRAP_CLOSE = '\n})';

/** Format of the header below; a new layout bumps it. */
const FORMAT = 1;
const MAGIC = 0x43435354; // "TSCC" read as a little-endian u32
export const HEADER_BYTES = 24;
/** Cache files kept per directory (one per subcommand, build, Node version and flags); the oldest go first. */
export const MAX_FILES = 16;
/** Subcommands that get a cache file of their own (what a run compiles depends on it); anything else: "other". */
export const CACHED_COMMANDS = new Set(['classify', 'flows', 'synth', 'report', 'completion', 'lists', 'fleet']);

/** CRC-32 (zlib's), or null when this Node lacks it (zlib.crc32: Node >= 20.15 / 22.2): no cache then. */
function crc32(data: Uint8Array | string): number | null {
  const f = (zlib as { crc32?: (d: Uint8Array | string) => number }).crc32;
  return typeof f === 'function' ? f(data) >>> 0 : null;
}

/**
 * The directory for cache files, or null for none: `TUNNELSCOPE_CODE_CACHE=0` (or `off`) turns the cache off,
 * `TUNNELSCOPE_CACHE_DIR` names the directory; else the platform's per-user cache directory + `tunnelscope`.
 */
export function cacheDir(env: NodeJS.ProcessEnv, platform: string, home: string | undefined): string | null {
  const off = env.TUNNELSCOPE_CODE_CACHE;
  if (off !== undefined && /^(0|off|false|no)$/i.test(off.trim())) return null;
  if (env.TUNNELSCOPE_CACHE_DIR) return env.TUNNELSCOPE_CACHE_DIR;
  const abs = (p: string | undefined): string | undefined => (p && (p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p)) ? p : undefined);
  if (platform === 'win32') {
    const base = abs(env.LOCALAPPDATA) ?? (abs(home) && join(home!, 'AppData', 'Local'));
    return base ? join(base, 'tunnelscope', 'Cache') : null;
  }
  if (!abs(home) && !abs(env.XDG_CACHE_HOME)) return null;
  if (platform === 'darwin') return abs(home) ? join(home!, 'Library', 'Caches', 'tunnelscope') : null;
  return join(abs(env.XDG_CACHE_HOME) ?? join(home!, '.cache'), 'tunnelscope');
}

/** What names a cache file: the bundle's build, the subcommand, Node and its flags. */
export interface CacheKey {
  /** CRC-32 and length of the bundle's text. */
  sourceCrc: number;
  sourceLength: number;
  /** Subcommand (or "other"). */
  command: string;
  /** `process.version`, `process.arch`. */
  node: string;
  arch: string;
  /** CRC-32 of the flags Node runs with. */
  flagsCrc: number;
}

/** The subcommand part of a cache file name for this command line (never text from the command line itself). */
export function commandOf(argv: readonly string[]): string {
  const c = argv[0];
  return c !== undefined && CACHED_COMMANDS.has(c) ? c : 'other';
}

const hex = (n: number): string => n.toString(16).padStart(8, '0');

/** File name of the cache for `key` (only [a-z0-9.-] and the fixed prefix and suffix). */
export function cacheFileName(key: CacheKey): string {
  const node = key.node.replace(/[^0-9A-Za-z.]/g, '_');
  const arch = key.arch.replace(/[^0-9A-Za-z]/g, '_');
  return `cli-${key.command}-${node}-${arch}-${hex(key.sourceCrc)}-${key.sourceLength}-${hex(key.flagsCrc)}.v8cache`;
}

/** Header + payload, as written to disk. */
export function encodeCache(key: Pick<CacheKey, 'sourceCrc' | 'sourceLength'>, payload: Uint8Array): Buffer | null {
  const crc = crc32(payload);
  if (crc === null) return null;
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(FORMAT, 4);
  out.writeUInt32LE(key.sourceCrc >>> 0, 8);
  out.writeUInt32LE(key.sourceLength >>> 0, 12);
  out.writeUInt32LE(payload.length, 16);
  out.writeUInt32LE(crc, 20);
  out.set(payload, HEADER_BYTES);
  return out;
}

/** The payload of a cache file for `key`, or null when the file is not one (wrong magic, build, length or CRC). */
export function decodeCache(key: Pick<CacheKey, 'sourceCrc' | 'sourceLength'>, file: Buffer): Buffer | null {
  if (file.length < HEADER_BYTES) return null;
  if (file.readUInt32LE(0) !== MAGIC || file.readUInt32LE(4) !== FORMAT) return null;
  if (file.readUInt32LE(8) !== key.sourceCrc >>> 0 || file.readUInt32LE(12) !== key.sourceLength >>> 0) return null;
  const n = file.readUInt32LE(16);
  if (n === 0 || HEADER_BYTES + n !== file.length) return null;
  const payload = file.subarray(HEADER_BYTES);
  return crc32(payload) === file.readUInt32LE(20) ? payload : null;
}

/** POSIX: owned by this user and not writable by group or others. Elsewhere: true. */
function privateTo(st: { uid: number; mode: number }, uid: number | undefined): boolean {
  return uid === undefined || (st.uid === uid && (st.mode & 0o022) === 0);
}

/** Read a cache file if it is private to this user (checked on the open descriptor), else null. */
function readPrivate(path: string, uid: number | undefined): Buffer | null {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    const st = fstatSync(fd);
    if (!st.isFile() || !privateTo(st, uid) || st.size > 256 * 1024 * 1024) return null;
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n <= 0) return null;
      got += n;
    }
    return buf;
  } catch {
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** `dir` exists and is private to this user. */
function dirIsPrivate(dir: string, uid: number | undefined): boolean {
  try {
    const st = statSync(dir);
    return st.isDirectory() && privateTo(st, uid);
  } catch {
    return false;
  }
}

/**
 * Make `dir` (0700) and, when missing, its parent (`~/.cache`, `$XDG_CACHE_HOME`), never anything above: a home
 * that does not exist (`HOME=/nonexistent`, the convention for system users; a service's unset state directory)
 * stays absent and there is no cache. Then check `dir` is private to this user.
 */
function ensureDir(dir: string, uid: number | undefined): boolean {
  for (const d of [dirname(dir), dir]) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return false;
    }
  }
  return dirIsPrivate(dir, uid);
}

/** Keep the newest {@link MAX_FILES} cache files; drop temporary files older than an hour (a run that died). */
function prune(dir: string): void {
  try {
    const now = Date.now();
    const files: { path: string; mtime: number }[] = [];
    for (const name of readdirSync(dir)) {
      if (!name.startsWith('cli-')) continue;
      const path = join(dir, name);
      const mtime = statSync(path).mtimeMs;
      if (name.endsWith('.v8cache')) files.push({ path, mtime });
      else if (name.endsWith('.tmp') && now - mtime > 3600_000) unlinkSync(path);
    }
    files.sort((a, b) => b.mtime - a.mtime);
    for (const f of files.slice(MAX_FILES)) unlinkSync(f.path);
  } catch {
    /* best effort */
  }
}

/** Write `data` to `path` whole: a private temporary file renamed into place. */
function writeWhole(path: string, data: Uint8Array): void {
  const tmp = `${path}.${process.pid}.${Math.floor(Math.random() * 0x7fffffff).toString(36)}.tmp`;
  try {
    writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, path);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      /* not there */
    }
  }
}

export interface LoadOptions {
  /** The command line (without node and the script): picks the cache file. */
  argv: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Cache directory; default {@link cacheDir} of the process's environment. null: no cache. */
  dir?: string | null;
  /** What happened, for tests: 'off' (no cache), 'miss', 'used', 'rejected' (file present but not usable). */
  onStatus?: (status: CacheStatus) => void;
  /** Where the cache writer goes when no cache was used: default the process's `exit` (after the whole run). */
  atExit?: (write: () => void) => void;
}

export type CacheStatus = 'off' | 'miss' | 'used' | 'rejected';

/**
 * Run `file` — a CommonJS module's text wrapped as {@link WRAP_OPEN} … {@link WRAP_CLOSE} — as that module and
 * return its exports, compiling it from the code cache when a usable one exists. When none was used, the process's
 * `exit` writes one (the bytecode of everything the run compiled).
 */
export function requireWithCodeCache(file: string, requireFn: NodeJS.Require, opts: LoadOptions): unknown {
  const env = opts.env ?? process.env;
  const bytes = readFileSync(file);
  // ASCII (the built bundle is): a one-byte string straight from the bytes, no UTF-8 decoding.
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  if (!source.startsWith(WRAP_OPEN) || !source.trimEnd().endsWith(WRAP_CLOSE)) throw new Error(`${file} is not a wrapped CommonJS module`);
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const dir = opts.dir !== undefined ? opts.dir : cacheDir(env, process.platform, env.HOME ?? env.USERPROFILE);
  const sourceCrc = dir === null ? null : crc32(bytes);
  const flagsCrc = dir === null ? null : crc32(`${process.execArgv.join('\0')}\0${env.NODE_OPTIONS ?? ''}`);
  let cachePath: string | null = null;
  let cached: Buffer | undefined;
  let status: CacheStatus = 'off';
  if (dir !== null && sourceCrc !== null && flagsCrc !== null) {
    const key: CacheKey = { sourceCrc, sourceLength: bytes.length, command: commandOf(opts.argv), node: process.version, arch: process.arch, flagsCrc };
    cachePath = join(dir, cacheFileName(key));
    const file = dirIsPrivate(dir, uid) ? readPrivate(cachePath, uid) : null;
    status = file === null ? 'miss' : 'rejected';
    cached = file === null ? undefined : (decodeCache(key, file) ?? undefined);
  }
  // No importModuleDynamically: Node 20 has it only behind --experimental-vm-modules or with a warning, so the
  // bundle is built with every import() turned into require() (tsup.config.ts).
  const script = new vm.Script(source, { filename: file, cachedData: cached });
  if (cached !== undefined && script.cachedDataRejected !== true) status = 'used';
  opts.onStatus?.(status);
  if (cachePath !== null && status !== 'used') {
    const path = cachePath, sourceLength = bytes.length, crc = sourceCrc!;
    const atExit = opts.atExit ?? ((fn: () => void) => void process.once('exit', fn));
    atExit(() => {
      try {
        if (!ensureDir(dir!, uid)) return;
        const data = encodeCache({ sourceCrc: crc, sourceLength }, script.createCachedData());
        if (data === null) return;
        writeWhole(path, data);
        prune(dir!);
      } catch {
        /* no cache this time */
      }
    });
  }
  const mod = { exports: {} as unknown };
  const fn = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: { exports: unknown }, f: string, d: string) => void;
  fn.call(mod.exports, mod.exports, requireFn, mod, file, dirname(file));
  return mod.exports;
}
