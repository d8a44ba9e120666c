/**
 * Output formats for flow records: pure functions from records to text, one file per format. The CLI's
 * `--format` choices beyond its own ndjson/table/json come from `OUTPUT_FORMATS`; embedders call the same
 * functions on records from a session or pool.
 */
import type { RecordFormat } from './types.js';
import { zeekFormat } from './zeek.js';
import { zeekJsonFormat } from './zeek-json.js';
import { eveFormat } from './eve.js';
import { csvFormat } from './csv.js';

export type { RecordFormat, FormatContext } from './types.js';
export { zeekFormat, zeekHeader, zeekLine, zeekFooter, zeekEscape } from './zeek.js';
export { zeekJsonFormat, zeekJsonLine } from './zeek-json.js';
export { ZEEK_FIELDS } from './zeek-fields.js';
export { eveFormat, eveFlowEvent, eveLine } from './eve.js';
export { csvFormat, csvHeader, csvLine, csvText, CSV_COLUMNS } from './csv.js';
export { communityId, flowId, flowUid, parseEndpoint, decidingEvidence } from './fields.js';

/** Every record format by its `--format` name. */
export const OUTPUT_FORMATS: Readonly<Record<string, RecordFormat>> = Object.freeze({
  zeek: zeekFormat,
  'zeek-json': zeekJsonFormat,
  eve: eveFormat,
  csv: csvFormat,
});
