/**
 * `tunnelscope/report`: one self-contained HTML page from flow records — headline figures, charts and a flow
 * table with every verdict's evidence. Pure: records and metadata in, a string out; the caller writes the file.
 */
export { ReportBuilder, buildReport } from './builder.js';
export type { ReportRecord, ReportMeta, ReportList, ReportOptions } from './types.js';
export { escapeHtml, jsonForScript, visible } from './escape.js';
export { ndjsonRecords, parseRecordLine, toReportRecord, MAX_RECORD_LINE_BYTES } from './ndjson.js';
export { RecordParseError } from '../errors.js';
