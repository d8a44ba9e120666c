/** The shape every record output format has: pure text functions, so writers, sinks and tests share them. */
import type { FlowRecord } from '../classify/record.js';

/** What a header or footer may depend on besides the records. */
export interface FormatContext {
  /** Wall-clock time (ms since the epoch, or a Date) for formats that stamp their log (Zeek's #open/#close). */
  readonly time: number | Date;
}

export interface RecordFormat {
  /** Name on the command line (`--format NAME`). */
  readonly name: string;
  /** One line for help text. */
  readonly description: string;
  /** Text before the first record ('' when the format has none). */
  header(ctx: FormatContext): string;
  /** One record's text, newline included. Pure: the same record gives the same bytes. */
  record(r: FlowRecord): string;
  /** Text after the last record ('' when the format has none). */
  footer(ctx: FormatContext): string;
}

/** A format with one line per record and no header or footer. */
export function lineFormat(name: string, description: string, record: (r: FlowRecord) => string): RecordFormat {
  return { name, description, header: () => '', record, footer: () => '' };
}
