/** A progress bar on stderr: only on a TTY, never under CI, redrawn at most 10×/s, erased before summaries. */
export class Progress {
  private readonly enabled: boolean;
  private last = 0;
  private readonly t0 = Date.now();
  private drawn = false;

  constructor(
    private readonly total: number,
    quiet: boolean,
    private readonly stderr: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
  ) {
    this.enabled = !quiet && this.stderr.isTTY === true && !process.env['CI'] && total > 0;
  }

  update(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 || now - this.t0 < 1000) return;
    this.last = now;
    const frac = Math.min(1, done / this.total);
    const width = 30;
    const fill = Math.round(frac * width);
    const rate = done / 1e6 / ((now - this.t0) / 1000);
    this.stderr.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${rate.toFixed(1)} MB/s`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.stderr.write('\r\x1b[K');
    this.drawn = false;
  }
}
