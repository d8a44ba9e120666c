/**
 * Where classify's records go besides stdout. A sink plugin adds its own options to `classify` and, when asked
 * for, a sink that receives every record (IPFIX export, a NATS stream…). Plugins load their heavy code only in
 * `create`, when their option is present, so a plain run pays nothing for them. A plugin may also provide the
 * run's lists (`lists`, e.g. a fleet's list snapshot) and keep them current while the run goes on.
 */
import type { Option } from 'commander';
import type { FlowRecord } from '../classify/record.js';
import type { ListsInput } from '../classify/lists.js';
import type { CliIo } from './io.js';
import { natsPlugin } from './fleet-options.js';
import { ipfixSinkPlugin } from './ipfix-sink.js';

export interface RecordSink {
  /** Every flow's final record, in the order flows end. Must not throw for a record; count problems instead. */
  record(r: FlowRecord): void;
  /** End of the run: deliver what is pending, then release resources. A thrown error is reported (exit 1). */
  close(): Promise<void>;
  /** One line for the end-of-run diagnostics (e.g. records exported, dropped), or null. */
  report?(): string | null;
  /**
   * A promise the run awaits before reading more input (back-pressure on a file run), or null to go on. Only
   * asked between input chunks.
   */
  wait?(): Promise<void> | null;
  /** Exit code the sink asks for once closed (e.g. 1 when records were lost); 0 or absent: no objection. */
  exitCode?(): number;
  /** The sink takes the records instead of stdout (stdout then carries none). */
  readonly replacesStdout?: boolean;
}

export interface SinkContext {
  io: CliIo;
  /** The capture path, or '-' (stdin: a live capture that cannot be paused). */
  input: string;
  /** Whether a stop was asked for (SIGINT/SIGTERM): a sink's closing waits less on what is outside after one. */
  stop?: { readonly requested: boolean } | undefined;
}

/** What a lists provider updates: the run's classifier or worker pool. */
export interface ListsTarget {
  update(input: ListsInput): number;
  readonly listVersion: number;
}

/** The run's lists from somewhere other than list files, kept current while the run goes on. */
export interface ListsProvider {
  /** The lists to start with (including their version). */
  readonly input: ListsInput;
  /** Keep `target` current from now on; resolves once watching. */
  attach(target: ListsTarget): Promise<void>;
  close(): Promise<void>;
  report?(): string | null;
}

export interface SinkPlugin {
  /** Options this sink adds to `classify` (commander Options). */
  options(): Option[];
  /**
   * The sink for these parsed options (commander's camelCase keys), or null when the run did not ask for it.
   * @throws {UsageError} for a bad option value.
   */
  create(opts: Record<string, unknown>, ctx: SinkContext): Promise<RecordSink | null>;
  /** The run's lists, or null to use the list files (called before `create`). */
  lists?(opts: Record<string, unknown>, ctx: SinkContext): Promise<ListsProvider | null>;
}

/** Sinks `classify` offers, in the order they receive each record (after stdout). */
export const SINK_PLUGINS: SinkPlugin[] = [ipfixSinkPlugin, natsPlugin];
