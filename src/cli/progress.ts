/**
 * Progress on stderr, for people: only on a terminal, never under CI or --quiet, redrawn at most 10×/s after the
 * first second, erased before anything else is printed there. A file shows a bar, %, ETA, packets, flows and
 * MB/s; stdin (size unknown) shows packets, flows, MB read and the rate; a slow step before the packets (loading a
 * large list) shows what it is doing and for how long.
 */
export interface ProgressCounts {
  /** Input bytes consumed. */
  bytes: number;
  packets: number;
  /** Flows ended so far. */
  flows: number;
}

const REDRAW_MS = 100;
const QUIET_START_MS = 1000;

function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const t = Math.round(s);
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  const mm = String(m).padStart(2, '0'), ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function count(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}k` : String(n);
}

export class Progress {
  private readonly enabled: boolean;
  private last = 0;
  private t0 = Date.now();
  private drawn = false;
  private phaseName: string | null = null;
  private phaseTimer: ReturnType<typeof setInterval> | null = null;

  /** `total`: input size in bytes, 0 when unknown (stdin). */
  constructor(
    private total: number,
    quiet: boolean,
    private readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number } = process.stderr,
  ) {
    this.enabled = !quiet && this.stderr.isTTY === true && !process.env['CI'];
  }

  /**
   * A step before the packets (e.g. 'loading lists'): shown with its elapsed time while it runs, when it takes
   * longer than a second. Synchronous work blocks the timer, so callers also call `tick()` from long loops.
   */
  phase(name: string | null): void {
    if (!this.enabled) return;
    this.phaseName = name;
    if (this.phaseTimer !== null) clearInterval(this.phaseTimer);
    this.phaseTimer = null;
    if (name === null) {
      this.clear();
      this.t0 = Date.now();
      return;
    }
    const start = Date.now();
    const draw = (): void => {
      const s = (Date.now() - start) / 1000;
      if (s >= QUIET_START_MS / 1000) this.draw(`${this.phaseName ?? ''}… ${s.toFixed(1)} s`);
    };
    this.phaseTimer = setInterval(draw, 250);
    this.phaseTimer.unref?.();
  }

  /** A new input (several captures in one run): its size, 0 when unknown. */
  input(total: number): void {
    this.total = total;
  }

  update(c: ProgressCounts): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < REDRAW_MS || now - this.t0 < QUIET_START_MS) return;
    this.last = now;
    const secs = (now - this.t0) / 1000;
    const mbps = c.bytes / 1e6 / secs;
    const counts = `${count(c.packets)} packets, ${count(c.flows)} flows`;
    if (this.total > 0) {
      const frac = Math.min(1, c.bytes / this.total);
      const width = 24;
      const fill = Math.round(frac * width);
      const eta = frac > 0 ? secs * (1 / frac - 1) : NaN;
      this.draw(`[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}%  ETA ${duration(eta)}  ${counts}  ${mbps.toFixed(1)} MB/s`);
    } else {
      this.draw(`${counts}, ${(c.bytes / 1e6).toFixed(1)} MB read, ${mbps.toFixed(1)} MB/s, ${duration(secs)} elapsed`);
    }
  }

  /** Erase the line (before summaries or errors). */
  done(): void {
    if (this.phaseTimer !== null) clearInterval(this.phaseTimer);
    this.phaseTimer = null;
    this.clear();
  }

  private draw(text: string): void {
    const cols = this.stderr.columns ?? 80;
    this.stderr.write(`\r${text.length >= cols ? text.slice(0, cols - 1) : text}\x1b[K`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.stderr.write('\r\x1b[K');
    this.drawn = false;
  }
}
