/**
 * A text table that stays aligned: column widths come from the cells themselves, not from guesses. Rows are held
 * until `holdRows` have arrived (or `flush()` is called: the end of input, or a live run's flush timer), widths are
 * fitted to what was held, and from then on rows stream; a later cell wider than its column widens that column
 * for the rest of the table (a live run cannot know its widest IPv6 endpoint in advance). Columns may cap their
 * width (`max`, cut with '…'); the last column is cut to `lineWidth` when one is given (a terminal), and is not
 * padded unless right-aligned.
 */
import { escapeText, headText } from '../text.js';
import type { OutputSink } from './output.js';

export interface TableColumn<R> {
  header: string;
  /** Minimum width. */
  min?: number;
  /** Cells longer than this are cut with '…' (default: never cut). */
  max?: number;
  align?: 'left' | 'right';
  cell(r: R): string;
}

export interface TableOptions {
  /** Rows held to fit widths before streaming starts (default 1000). */
  holdRows?: number;
  /** Total line width to cut the last column at (a terminal's columns), or 0 for none. */
  lineWidth?: number;
  /** Printed instead of the table when it has no row. */
  empty?: string;
}

const GAP = '  ';

function cut(s: string, max: number): string {
  return max > 0 && s.length > max ? `${headText(s, Math.max(0, max - 1))}…` : s;
}

export class TableWriter<R> {
  private held: string[][] | null = [];
  private readonly widths: number[];
  private rows = 0;
  private readonly holdRows: number;

  constructor(
    private readonly sink: OutputSink,
    private readonly columns: readonly TableColumn<R>[],
    private readonly opts: TableOptions = {},
  ) {
    this.widths = columns.map((c) => Math.max(c.min ?? 0, c.header.length));
    this.holdRows = opts.holdRows ?? 1000;
  }

  /** Rows written so far. */
  get count(): number {
    return this.rows;
  }

  write(r: R): void {
    const cells = this.columns.map((c) => {
      // Cells quote packets and lists (names, registrants, evidence): controls and bidi marks are shown, not obeyed.
      const s = escapeText(c.cell(r));
      return c.max !== undefined ? cut(s, c.max) : s;
    });
    this.rows++;
    if (this.held !== null) {
      this.held.push(cells);
      if (this.held.length >= this.holdRows) this.flush();
      return;
    }
    this.line(cells);
  }

  /** Fit the widths to the held rows and print them; later rows stream. */
  flush(): void {
    const held = this.held;
    if (held === null || held.length === 0) return;
    this.held = null;
    for (const cells of held) this.fit(cells);
    this.line(this.columns.map((c) => c.header));
    for (const cells of held) this.line(cells);
  }

  /** End of table: prints held rows, or the `empty` text when there was none. */
  end(): void {
    if (this.rows === 0) {
      if (this.opts.empty !== undefined) this.sink.write(`${this.opts.empty}\n`);
      return;
    }
    this.flush();
  }

  private fit(cells: string[]): void {
    // A left-aligned last column is never padded, so its width does not matter.
    const n = this.columns[cells.length - 1]?.align === 'right' ? cells.length : cells.length - 1;
    for (let i = 0; i < n; i++) if (cells[i]!.length > this.widths[i]!) this.widths[i] = cells[i]!.length;
  }

  private line(cells: string[]): void {
    this.fit(cells);
    let out = '';
    const last = cells.length - 1;
    for (let i = 0; i < last; i++) {
      const s = cells[i]!, w = this.widths[i]!;
      out += (this.columns[i]!.align === 'right' ? s.padStart(w) : s.padEnd(w)) + GAP;
    }
    const lw = this.opts.lineWidth ?? 0;
    const tail = this.columns[last]!.align === 'right' ? cells[last]!.padStart(this.widths[last]!) : cells[last]!;
    out += lw > 0 ? cut(tail, Math.max(8, lw - out.length)) : tail;
    this.sink.write(`${out.trimEnd()}\n`);
  }
}
