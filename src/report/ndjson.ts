/**
 * Flow records from NDJSON text (what `tunnelscope classify --format ndjson` writes), checked field by field:
 * a record file is input like any other, so a line that is not JSON, not an object, or has a field of the wrong
 * type fails with `source:line: what is wrong` (RecordParseError) rather than reaching the page half-formed.
 * Works on any iterable of text or byte chunks (a file stream, stdin, a message stream); no I/O of its own.
 * Memory: one line at a time, lines capped at `maxLineBytes`.
 */
import { RecordParseError } from '../errors.js';
import type { Evidence } from '../detect/types.js';
import type { Label } from '../classify/types.js';
import { isoToMicros } from './format.js';
import type { ReportRecord } from './types.js';

const LABELS: ReadonlySet<string> = new Set(['registered_vpn', 'unregistered_vpn', 'ordinary']);
const STRENGTHS: ReadonlySet<string> = new Set(['strong', 'medium', 'weak']);
const KINDS: ReadonlySet<string> = new Set(['structure', 'name', 'list', 'relation']);

const MAX_INT32 = 0x7fff_ffff;
/** List versions are unsigned 32-bit (the IPFIX listVersion element). */
const MAX_LIST_VERSION = 0xffff_ffff;
/** An 802.1Q VLAN id is 12 bits. */
const MAX_VLAN = 4095;

/** Default longest line accepted: far above any real record (a record with 20 evidence items is ~6 kB). */
export const MAX_RECORD_LINE_BYTES = 1 << 20;

type Obj = Record<string, unknown>;

/**
 * Check one parsed JSON value as a flow record. Required: transport, src, dst, label, packets, bytes, firstSeen,
 * lastSeen. Optional with defaults: protocol (null), confidence (0), registrant (null), evidence ([]),
 * listVersion (0), decidedAtPacket (0); payloadCut, captureCapped, vlan, encap, sensor kept when present.
 * @throws {RecordParseError}
 */
export function toReportRecord(v: unknown, source: string, line: number): ReportRecord {
  const fail = (detail: string): never => {
    throw new RecordParseError(source, line, detail);
  };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('not a flow record (expected a JSON object)');
  const o = v as Obj;
  const str = (k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : fail(`field "${k}" must be a string`));
  const strOrNull = (k: string): string | null => (o[k] === undefined || o[k] === null ? null : str(k));
  const num = (k: string, dflt?: number): number => {
    const x = o[k];
    if (x === undefined && dflt !== undefined) return dflt;
    return typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : fail(`field "${k}" must be a number >= 0`);
  };
  // Counts and versions have the ranges classify writes; a value past them is refused here rather than shown
  // wrapped or clamped on the page (the builder keeps them in 32-bit columns).
  const int = (k: string, max: number, dflt?: number): number => {
    const x = o[k];
    if (x === undefined && dflt !== undefined) return dflt;
    return Number.isInteger(x) && (x as number) >= 0 && (x as number) <= max ? (x as number) : fail(`field "${k}" must be an integer in [0, ${max}]`);
  };
  const confidence = num('confidence', 0);
  if (confidence > 1) fail('field "confidence" must be a number in [0, 1]');
  const label = str('label');
  if (!LABELS.has(label)) fail(`field "label" must be registered_vpn, unregistered_vpn or ordinary, got ${JSON.stringify(label.slice(0, 40))}`);
  const firstSeen = str('firstSeen'), lastSeen = str('lastSeen');
  if (Number.isNaN(isoToMicros(firstSeen))) fail('field "firstSeen" must be an ISO-8601 UTC time like 2026-01-01T00:00:25.951994Z');
  if (Number.isNaN(isoToMicros(lastSeen))) fail('field "lastSeen" must be an ISO-8601 UTC time like 2026-01-01T00:00:25.951994Z');
  const evRaw = o.evidence === undefined ? [] : o.evidence;
  if (!Array.isArray(evRaw)) fail('field "evidence" must be an array');
  const evidence = (evRaw as unknown[]).map((e, k) => evidenceItem(e, k, fail));
  const r: ReportRecord = {
    transport: str('transport'),
    src: str('src'),
    dst: str('dst'),
    label: label as Label,
    protocol: strOrNull('protocol'),
    confidence,
    registrant: strOrNull('registrant'),
    evidence,
    packets: int('packets', Number.MAX_SAFE_INTEGER),
    bytes: int('bytes', Number.MAX_SAFE_INTEGER),
    firstSeen,
    lastSeen,
    listVersion: int('listVersion', MAX_LIST_VERSION, 0),
    decidedAtPacket: int('decidedAtPacket', MAX_INT32, 0),
  };
  if (o.payloadCut !== undefined) r.payloadCut = int('payloadCut', MAX_INT32);
  if (o.captureCapped !== undefined) r.captureCapped = o.captureCapped === true ? true : o.captureCapped === false ? false : fail('field "captureCapped" must be true or false');
  if (o.vlan !== undefined) r.vlan = int('vlan', MAX_VLAN);
  if (o.encap !== undefined) r.encap = str('encap');
  if (o.sensor !== undefined) r.sensor = str('sensor');
  return r;
}

function evidenceItem(e: unknown, k: number, fail: (d: string) => never): Evidence {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return fail(`evidence[${k}] must be an object`);
  const o = e as Obj;
  const s = (f: string): string => (typeof o[f] === 'string' ? (o[f] as string) : fail(`evidence[${k}].${f} must be a string`));
  const strength = s('strength');
  if (!STRENGTHS.has(strength)) fail(`evidence[${k}].strength must be strong, medium or weak`);
  const item: { -readonly [K in keyof Evidence]: Evidence[K] } = { source: s('source'), protocol: s('protocol'), strength: strength as Evidence['strength'], rule: s('rule'), reason: s('reason') };
  for (const f of ['packet', 'offset'] as const) {
    const x = o[f];
    if (x === undefined) continue;
    if (!Number.isInteger(x) || (x as number) < 0 || (x as number) > MAX_INT32) fail(`evidence[${k}].${f} must be an integer in [0, ${MAX_INT32}]`);
    item[f] = x as number;
  }
  if (o.kind !== undefined) {
    const kind = s('kind');
    if (!KINDS.has(kind)) fail(`evidence[${k}].kind must be structure, name, list or relation`);
    item.kind = kind as NonNullable<Evidence['kind']>;
  }
  return item;
}

/** One NDJSON line → a record; null for a blank line. @throws {RecordParseError} */
export function parseRecordLine(text: string, source: string, line: number): ReportRecord | null {
  if (text.trim() === '') return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new RecordParseError(source, line, `not JSON (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
  }
  return toReportRecord(v, source, line);
}

/**
 * Records from NDJSON chunks (strings or UTF-8 bytes, split anywhere). Blank lines are skipped; a UTF-8 BOM and
 * `\r\n` endings are accepted.
 * @throws {RecordParseError} on the first bad line, or a line longer than `maxLineBytes` (counted in UTF-16 units)
 */
export async function* ndjsonRecords(
  chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  source: string,
  options: { maxLineBytes?: number } = {},
): AsyncGenerator<ReportRecord> {
  const max = options.maxLineBytes ?? MAX_RECORD_LINE_BYTES;
  const decoder = new TextDecoder('utf-8', { ignoreBOM: false });
  let carry = '';
  let line = 0;
  let first = true;
  for await (const chunk of chunks) {
    let buf = carry + (typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    if (first && buf.length > 0) {
      if (buf.charCodeAt(0) === 0xfeff) buf = buf.slice(1);
      first = false;
    }
    let pos = 0, nl: number;
    while ((nl = buf.indexOf('\n', pos)) >= 0) {
      line++;
      if (nl - pos > max) throw new RecordParseError(source, line, `line longer than ${max} bytes`);
      const r = parseRecordLine(buf.slice(pos, nl), source, line);
      pos = nl + 1;
      if (r) yield r;
    }
    carry = buf.slice(pos);
    if (carry.length > max) throw new RecordParseError(source, line + 1, `line longer than ${max} bytes`);
  }
  carry += decoder.decode();
  if (carry.trim() !== '') {
    const r = parseRecordLine(carry, source, ++line);
    if (r) yield r;
  }
}
