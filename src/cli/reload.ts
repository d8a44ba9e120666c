/**
 * List reloads during a run (`--watch-lists`, SIGHUP): every list file is read and validated again, then all of
 * them replace the lists in force in one step (classifier/pool `update`), so a verdict never mixes old and new
 * files. A file that cannot be read or has a bad line is reported as `file:line: reason` on stderr and the lists
 * in force stay. Reloads never overlap: a request during a reload runs once more after it.
 */
import { lstatSync, readlinkSync, watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join, parse, resolve, sep } from 'node:path';
import type { ListsInput } from '../classify/lists.js';
import { ListReadError, TunnelscopeError } from '../errors.js';
import { safeText } from '../text.js';
import { ioTurn } from './live.js';
import { loadListFiles, type ListFiles } from './lists.js';

/** Changes closer together than this are one reload (an editor's write, then rename, then chmod). */
export const WATCH_DEBOUNCE_MS = 200;

export interface ReloadTarget {
  /**
   * Build what can be built ahead of the switch, changing nothing in force (the pool's shared tables: ~0.2 s for
   * 1.5M prefixes); the result goes to `update`. Throws as `update` would.
   */
  prepare?(lists: ListsInput): ListsInput;
  /** Replace the lists in force; returns the new list version. Throws (nothing changes) on a bad list. */
  update(lists: ListsInput): number;
  /** The version in force (for the message after a failed reload). */
  readonly listVersion: number;
}

export interface ReloadEvents {
  /** A reload finished: the new version and how long reading and building took (seconds). */
  loaded?(version: number, seconds: number): void;
  /** A reload failed; the lists in force stay. */
  failed?(error: Error): void;
}

export class ListReloader {
  private running: Promise<void> | null = null;
  private again = false;
  /** Watched directories, each with the entry names in it whose change means a reload. */
  private watchers = new Map<string, { w: FSWatcher; names: Set<string> }>();
  private watching = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  /** Ends a load under way at close: a stopping run must not wait for lists it will not use. */
  private readonly abort = new AbortController();

  constructor(
    private readonly files: ListFiles,
    private readonly target: ReloadTarget,
    private readonly stderr: NodeJS.WritableStream,
    private readonly quiet: boolean,
    private readonly events: ReloadEvents = {},
  ) {}

  /** The operator's list files (the bundled domain list ships with the package and does not change under a run). */
  get paths(): string[] {
    return [this.files.registered, this.files.vpnEndpoints, this.files.vpnDomains].filter((p): p is string => p !== undefined);
  }

  /** Reload now (or once more after the reload under way). Resolves when the lists in force are settled. */
  reload(why: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.once(why);
      } while (this.again && !this.closed);
      this.running = null;
    })();
    return this.running;
  }

  private async once(why: string): Promise<void> {
    const t0 = performance.now();
    try {
      // A pipe is read once, at the start (`<(…)`): opened again it blocks until a process writes to it — forever
      // for a named pipe nobody writes to, and a blocked open cannot be cancelled, so no signal could end the run.
      for (const p of this.paths) {
        if ((await stat(p).catch(() => null))?.isFIFO() === true) throw new ListReadError(p, 'a pipe is read once, at the start: it cannot be reloaded');
      }
      const o = await loadListFiles(this.files, this.abort.signal);
      // Building a big list's tables and switching each take the thread for a while: packets read between them
      // keep the output moving (verdicts came up to a second late during a 1.5M-line reload with workers).
      await ioTurn();
      if (this.closed) return;
      let lists: ListsInput = { registered: o.registered ?? null, vpnEndpoints: o.vpnEndpoints ?? null, vpnDomains: o.vpnDomains ?? null, ...(o.names ? { names: o.names } : {}) };
      if (this.target.prepare) {
        lists = this.target.prepare(lists);
        await ioTurn();
        if (this.closed) return;
      }
      const v = this.target.update(lists);
      const secs = (performance.now() - t0) / 1000;
      if (!this.quiet) this.stderr.write(`tunnelscope classify: lists reloaded (${why}): list version ${v}\n`);
      this.events.loaded?.(v, secs);
    } catch (e) {
      if (this.closed) return;
      if (!(e instanceof TunnelscopeError)) throw e;
      this.stderr.write(`tunnelscope classify: reloading lists (${why}) failed: ${e.message}; list version ${this.target.listVersion} stays in force\n`);
      this.events.failed?.(e);
    }
  }

  /**
   * Watch the list files' directories (a file replaced by rename, as editors and config management do, is seen
   * too) and reload after each burst of changes. A list reached through symbolic links is watched at every link
   * on the way and where it resolves to, and that is looked up again at each change: a Kubernetes volume swaps a
   * `..data` link (no event names the list file), and a file linked from elsewhere changes in its own directory.
   */
  watch(): void {
    this.watching = true;
    this.rewatch();
  }

  private rewatch(): void {
    if (!this.watching || this.closed) return;
    const byDir = new Map<string, Set<string>>();
    for (const p of this.paths) {
      for (const [d, name] of watchPoints(p)) {
        if (!byDir.has(d)) byDir.set(d, new Set());
        byDir.get(d)!.add(name);
      }
    }
    for (const [dir, entry] of this.watchers) {
      if (byDir.has(dir)) continue;
      entry.w.close();
      this.watchers.delete(dir);
    }
    for (const [dir, names] of byDir) {
      const had = this.watchers.get(dir);
      if (had) {
        had.names = names;
        continue;
      }
      let w: FSWatcher;
      try {
        w = watch(dir, { persistent: false }, (_event, name) => {
          if (name !== null && this.watchers.get(dir)?.names.has(String(name))) this.schedule();
        });
      } catch (e) {
        // A link's target directory that is gone: the link's own entry is watched, its change looks again.
        this.stderr.write(`tunnelscope classify: cannot watch ${safeText(dir, 256)}: ${safeText((e as Error).message)}\n`);
        continue;
      }
      w.on('error', (e) => {
        if (this.watchers.get(dir)?.w === w) this.watchers.delete(dir);
        w.close();
        this.stderr.write(`tunnelscope classify: watching ${safeText(dir, 256)} stopped: ${safeText(e.message)}\n`);
      });
      this.watchers.set(dir, { w, names });
    }
  }

  private schedule(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.rewatch();
      void this.reload('changed');
    }, WATCH_DEBOUNCE_MS);
  }

  /** Stop watching; waits for a reload under way. */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    if (this.timer !== null) clearTimeout(this.timer);
    this.watching = false;
    for (const { w } of this.watchers.values()) w.close();
    this.watchers.clear();
    await this.running;
  }
}

/** Symbolic links followed at most (the kernel's own limit is 40). */
const MAX_LINKS = 40;

/**
 * The directory entries a change of `path`'s contents can come through: its own, each symbolic link met while
 * resolving it (in the path's directories as well as its last part), and the entry it finally resolves to.
 * A missing part ends the walk; its entry in the directory that would hold it is watched.
 * @internal exported for tests
 */
export function watchPoints(path: string): Array<[string, string]> {
  const seen = new Set<string>();
  const out: Array<[string, string]> = [];
  const add = (p: string): void => {
    const d = dirname(p);
    const n = basename(p);
    const k = `${d}\0${n}`;
    if (n === '' || seen.has(k)) return;
    seen.add(k);
    out.push([d, n]);
  };
  let p = resolve(path);
  add(p);
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    const { root } = parse(p);
    const parts = p.slice(root.length).split(sep).filter((x) => x !== '');
    let cur = root;
    let next: string | null = null;
    for (let i = 0; i < parts.length && next === null; i++) {
      const here = join(cur, parts[i]!);
      try {
        if (lstatSync(here).isSymbolicLink()) {
          add(here);
          next = resolve(cur, readlinkSync(here), ...parts.slice(i + 1));
        }
      } catch {
        // Missing (a link's target not there yet): its creation is a change in the directory that holds it.
        add(here);
        return out;
      }
      cur = here;
    }
    if (next === null) {
      add(p);
      return out;
    }
    p = next;
  }
  return out;
}
