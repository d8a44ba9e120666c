/**
 * CSV with a header row (`--format csv`), for spreadsheets and the tools that read `ndpiReader -C` or tshark's field
 * output. One row per flow; endpoints split into address and port; the deciding evidence item in three columns
 * and every rule in a fourth.
 *
 * RFC 4180: CRLF line ends; a field holding a comma, a double quote, CR or LF is quoted, quotes doubled.
 * Hostile text (list values, names read from packets) is neutralised twice:
 * - control characters (C0, DEL, C1), Unicode line/paragraph separators and bidirectional-override characters
 *   are written as `\xNN` / `\uNNNN`, and the backslash as `\x5c`, so a cell stays one visible line and reads as
 *   what it is;
 * - a text cell starting with `=`, `+`, `-`, `@` (or a tab/CR, already escaped above) gets a leading `'`, the
 *   OWASP advice against spreadsheet formula injection; numeric columns are written by tunnelscope and are never
 *   negative, so they are left as numbers.
 */
import type { FlowRecord } from '../classify/record.js';
import type { RecordFormat } from './types.js';
import { communityId, decidingEvidence, parseEndpoint } from './fields.js';
import { escapeText } from '../text.js';

export const CSV_COLUMNS = [
  'firstSeen', 'lastSeen', 'transport', 'srcIp', 'srcPort', 'dstIp', 'dstPort', 'vlan', 'encap',
  'label', 'protocol', 'confidence', 'registrant',
  'packets', 'bytes', 'srcPackets', 'srcBytes', 'dstPackets', 'dstBytes', 'end',
  'listVersion', 'decidedAtPacket', 'communityId', 'rule', 'strength', 'reason', 'rules', 'payloadCut',
  'captureCapped', 'capture',
] as const;

/** A text cell: escaped, formula-neutralised and quoted as the module comment says. */
export function csvText(s: string | null | undefined): string {
  if (s === null || s === undefined || s === '') return '';
  // The backslash first, so that the escapes escapeText writes (the set every printer shares) read back unambiguously.
  let t = escapeText(s.replace(/\\/g, '\\x5c'));
  const first = t.charCodeAt(0);
  if (first === 0x3d || first === 0x2b || first === 0x2d || first === 0x40) t = `'${t}`;
  return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

const numCell = (n: number | null | undefined): string => (n === null || n === undefined ? '' : String(n));

/** The header row. */
export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

/** One row (with its CRLF). */
export function csvLine(r: FlowRecord): string {
  const s = parseEndpoint(r.src), d = parseEndpoint(r.dst);
  const e = decidingEvidence(r);
  const cells = [
    csvText(r.firstSeen), csvText(r.lastSeen), csvText(r.transport),
    csvText(s.ip), numCell(s.port), csvText(d.ip), numCell(d.port), numCell(r.vlan), csvText(r.encap),
    csvText(r.label), csvText(r.protocol), String(r.confidence), csvText(r.registrant),
    numCell(r.packets), numCell(r.bytes), numCell(r.srcPackets), numCell(r.srcBytes), numCell(r.dstPackets), numCell(r.dstBytes), csvText(r.end),
    numCell(r.listVersion), numCell(r.decidedAtPacket), csvText(communityId(r)),
    csvText(e?.rule), csvText(e?.strength), csvText(e?.reason), csvText(r.evidence.map((x) => `${x.rule}:${x.strength}`).join(' ')),
    numCell(r.payloadCut ?? 0),
    r.captureCapped === true ? 'true' : 'false',
    // The capture file, in a run over several (empty for one capture or stdin).
    csvText(r.capture),
  ];
  return `${cells.join(',')}\r\n`;
}

export const csvFormat: RecordFormat = {
  name: 'csv',
  description: 'CSV with a header row, RFC 4180, formulas neutralised',
  header: csvHeader,
  record: csvLine,
  footer: () => '',
};
