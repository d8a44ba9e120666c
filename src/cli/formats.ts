/**
 * Output formats as a registry: each format is a name, a line of help, and a writer over the batched stdout sink.
 * A subcommand offers the formats of its record type (classify: CLASSIFY_FORMATS in records.ts; flows: its own),
 * so adding a format is adding an entry, and `--format`'s help and validation follow.
 */
import { escapeJson } from '../text.js';
import type { CliIo } from './io.js';
import type { OutputSink } from './output.js';

/** What a run knows about itself that some formats put in a header or trailer. */
export interface RunMeta {
  /** The command (`classify`, `flows`). */
  command: string;
  /** Inputs as given on the command line (`-` for stdin). */
  inputs: readonly string[];
  /** Wall-clock start of the run, ms since the epoch (Zeek's #open line). */
  startedMs: number;
  /** A run over several captures: every record names its capture, and a table shows it too. */
  several?: boolean;
}

export interface FormatContext {
  io: CliIo;
  meta: RunMeta;
  /** Output is live (a stream input, or a terminal/pipe): writers should not hold rows for long. */
  live: boolean;
}

export interface FormatWriter<R> {
  record(r: R): void;
  /**
   * A verdict line (`classify --emit verdicts|both`): the flow's record so far, as soon as its label is final.
   * Present when the format's `verdicts` is true.
   */
  verdict?(r: R): void;
  /** Hand held rows to the sink now (a table fits its widths to what it held). */
  flush?(): void;
  /** End of output. `summary` is the run's summary object, for formats that embed it (json). */
  end(summary: object): void;
}

export interface OutputFormat<R> {
  readonly name: string;
  readonly description: string;
  /** A format for people: `--summary` goes on stdout after it (machine formats keep stdout parseable). */
  readonly human: boolean;
  /** Its writers stream verdict lines (`FormatWriter.verdict`); formats written at the end cannot. */
  readonly verdicts?: boolean;
  open(sink: OutputSink, ctx: FormatContext): FormatWriter<R>;
}

/** One JSON object per line. */
export function ndjsonFormat<R>(description: string): OutputFormat<R> {
  return {
    name: 'ndjson',
    description,
    human: false,
    verdicts: true,
    open: (sink) => ({
      // JSON.stringify leaves C1 controls, DEL and bidi marks raw: escaped, so a terminal shows them (same value).
      record: (r) => sink.writeLine(escapeJson(JSON.stringify(r))),
      // The record's fields after `"event":"verdict"`, so a reader tells the two kinds of line apart at once.
      verdict: (r) => sink.writeLine(escapeJson(JSON.stringify({ event: 'verdict', ...r }))),
      end: () => {},
    }),
  };
}

/** One JSON document `{ <key>: [...records], summary }` at the end of the run. */
export function jsonFormat<R>(key: string, description: string): OutputFormat<R> {
  return {
    name: 'json',
    description,
    human: false,
    open: (sink) => {
      let first = true;
      // Records are written as they come (no array of all records in memory); the document closes at the end.
      return {
        record: (r) => {
          sink.write(first ? `{"${key}":[\n` : ',\n');
          first = false;
          sink.write(escapeJson(JSON.stringify(r)));
        },
        end: (summary) => sink.write(`${first ? `{"${key}":[` : '\n'}],"summary":${escapeJson(JSON.stringify(summary))}}\n`),
      };
    },
  };
}

/** The format named `name` among `formats`, or the usage error listing them. */
export function findFormat<R>(formats: readonly OutputFormat<R>[], name: string): OutputFormat<R> | undefined {
  return formats.find((f) => f.name === name);
}

/** `--format`'s help text: every format with its line. */
export function formatsHelp<R>(formats: readonly OutputFormat<R>[]): string {
  return formats.map((f) => `${f.name} (${f.description})`).join(', ');
}
