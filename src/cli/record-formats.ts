/**
 * classify's formats for other tools' pipelines (Zeek conn.log TSV/JSON, Suricata EVE, CSV), adapted from the
 * pure record formats of src/output/ to the CLI's format registry. Zeek's #open stamp is the run's start and
 * #close its end (wall clock, UTC).
 */
import type { FlowRecord } from '../classify/record.js';
import { OUTPUT_FORMATS, type RecordFormat } from '../output/index.js';
import type { OutputFormat } from './formats.js';

function cliFormat(f: RecordFormat): OutputFormat<FlowRecord> {
  return {
    name: f.name,
    description: f.description,
    human: false,
    open: (sink, ctx) => {
      const head = f.header({ time: ctx.meta.startedMs });
      if (head !== '') sink.write(head);
      return {
        record: (r) => sink.write(f.record(r)),
        end: () => {
          const tail = f.footer({ time: Date.now() });
          if (tail !== '') sink.write(tail);
        },
      };
    },
  };
}

/** zeek, zeek-json, eve, csv. */
export const PIPELINE_FORMATS: OutputFormat<FlowRecord>[] = Object.values(OUTPUT_FORMATS).map(cliFormat);
