/**
 * Where classify's records go besides stdout. A sink plugin adds its own options to `classify` and, when asked
 * for, a sink that receives every record (IPFIX export, a NATS stream…). Plugins load their heavy code only in
 * `create`, when their option is present, so a plain run pays nothing for them.
 */
import type { Option } from 'commander';
import type { FlowRecord } from '../classify/record.js';
import type { CliIo } from './io.js';

export interface RecordSink {
  /** Every flow's final record, in the order flows end. Must not throw for a record; count problems instead. */
  record(r: FlowRecord): void;
  /** End of the run: deliver what is pending, then release resources. A thrown error is reported (exit 1). */
  close(): Promise<void>;
  /** One line for the end-of-run diagnostics (e.g. records exported, dropped), or null. */
  report?(): string | null;
}

export interface SinkContext {
  io: CliIo;
}

export interface SinkPlugin {
  /** Options this sink adds to `classify` (commander Options). */
  options(): Option[];
  /**
   * The sink for these parsed options (commander's camelCase keys), or null when the run did not ask for it.
   * @throws {UsageError} for a bad option value.
   */
  create(opts: Record<string, unknown>, ctx: SinkContext): Promise<RecordSink | null>;
}

/** Sinks `classify` offers, in the order they receive each record (after stdout). */
export const SINK_PLUGINS: SinkPlugin[] = [];
