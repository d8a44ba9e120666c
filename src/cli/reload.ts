/**
 * List reloads during a run (`--watch-lists`, SIGHUP): every list file is read and validated again, then all of
 * them replace the lists in force in one step (classifier/pool `update`), so a verdict never mixes old and new
 * files. A file that cannot be read or has a bad line is reported as `file:line: reason` on stderr and the lists
 * in force stay. Reloads never overlap: a request during a reload runs once more after it.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { ListsInput } from '../classify/lists.js';
import { ListReadError, TunnelscopeError } from '../errors.js';
import { safeText } from '../text.js';
import { loadListFiles, type ListFiles } from './lists.js';

/** Changes closer together than this are one reload (an editor's write, then rename, then chmod). */
export const WATCH_DEBOUNCE_MS = 200;

export interface ReloadTarget {
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
  private watchers: FSWatcher[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

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
      const o = await loadListFiles(this.files);
      if (this.closed) return;
      const v = this.target.update({ registered: o.registered ?? null, vpnEndpoints: o.vpnEndpoints ?? null, vpnDomains: o.vpnDomains ?? null, ...(o.names ? { names: o.names } : {}) });
      const secs = (performance.now() - t0) / 1000;
      if (!this.quiet) this.stderr.write(`tunnelscope classify: lists reloaded (${why}): list version ${v}\n`);
      this.events.loaded?.(v, secs);
    } catch (e) {
      if (!(e instanceof TunnelscopeError)) throw e;
      this.stderr.write(`tunnelscope classify: reloading lists (${why}) failed: ${e.message}; list version ${this.target.listVersion} stays in force\n`);
      this.events.failed?.(e);
    }
  }

  /**
   * Watch the list files' directories (a file replaced by rename, as editors and config management do, is seen
   * too) and reload after each burst of changes.
   */
  watch(): void {
    const byDir = new Map<string, Set<string>>();
    for (const p of this.paths) {
      const abs = resolve(p);
      const d = dirname(abs);
      if (!byDir.has(d)) byDir.set(d, new Set());
      byDir.get(d)!.add(basename(abs));
    }
    for (const [dir, names] of byDir) {
      const w = watch(dir, { persistent: false }, (_event, name) => {
        if (name !== null && names.has(String(name))) this.schedule();
      });
      w.on('error', (e) => this.stderr.write(`tunnelscope classify: watching ${safeText(dir, 256)} stopped: ${safeText(e.message)}\n`));
      this.watchers.push(w);
    }
  }

  private schedule(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.reload('changed');
    }, WATCH_DEBOUNCE_MS);
  }

  /** Stop watching; waits for a reload under way. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
    await this.running;
  }
}
