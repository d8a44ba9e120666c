/**
 * IPFIX message encoder (RFC 7011): flow records in, whole IPFIX messages out. Pure — no socket, and time comes
 * from the caller — so the transport (udp.ts) and tests share it.
 *
 * One data record per flow, as an RFC 5103 biflow: forward counters (src → dst) in octetDeltaCount /
 * packetDeltaCount, reverse ones in the reverse elements; four templates: IPv4 (256) and IPv6 (257) with
 * transport ports, and IPv4 (258) and IPv6 (259) without them for flows whose endpoints carry no port (ICMP,
 * ICMPv6, ESP, GRE, …). A port field of 0 there would be a false value, and collectors read destinationTransportPort
 * of an ICMP flow as its type and code (0.0, echo reply): leaving the field out says "unknown". Over UDP templates
 * must be re-sent periodically (RFC 7011 §8.4): a message starts with the templates when none has been sent yet,
 * when `templateRefreshMs` has passed since they last were, or every `templateRefreshMessages` messages.
 * The sequence number of a message is the number of data records sent before it in this stream (§3.1), modulo 2^32.
 * No message exceeds `maxMessageSize` (default 1400 bytes: fits a 1500-byte MTU under IPv4 or IPv6 and UDP
 * headers, and most tunnels): strings are cut to 254 UTF-8 bytes on a character boundary, less when the size is
 * too small for four such strings in one record, and templates that do not fit beside the data go out alone (all
 * four take 484 bytes: one message at the smallest maxMessageSize, 512).
 */
import type { FlowRecord } from '../classify/record.js';
import { checkKnownOptions, checkOptions, MAX_DELAY_MS, numberOption } from '../errors.js';
import { addressBytes, decidingEvidence, directional, epochMillis, ipProtocol, parseEndpoint } from '../output/fields.js';
import { DOCUMENTATION_PEN, FLOW_END_REASON, IE, REVERSE_PEN, TS_IE, VARLEN, type FieldSpec } from './elements.js';

/** The keys of {@link IpfixOptions}: a misspelt one is refused, not left at its default in silence. */
export const IPFIX_OPTIONS = ['observationDomainId', 'maxMessageSize', 'templateRefreshMs', 'templateRefreshMessages', 'enterpriseNumber'] as const;

export interface IpfixOptions {
  /** Observation Domain ID in every message header (default 1). */
  observationDomainId?: number;
  /** Largest message in bytes, headers included (default 1400; at least 512, at most 65535). */
  maxMessageSize?: number;
  /** Re-send templates when this much wall-clock time has passed since they last were (default 60 000 ms; at most 2^31 - 1). */
  templateRefreshMs?: number;
  /** …and at least every this many messages (default 100). */
  templateRefreshMessages?: number;
  /** Private enterprise number of tunnelscope's own elements (default 32473, IANA's documentation PEN). */
  enterpriseNumber?: number;
}

export const TEMPLATE_V4 = 256;
export const TEMPLATE_V6 = 257;
/** IPv4 flows whose endpoints carry no transport port (ICMP, ESP, GRE, …): TEMPLATE_V4 without the port fields. */
export const TEMPLATE_V4_PORTLESS = 258;
/** IPv6 flows whose endpoints carry no transport port (ICMPv6, ESP, …): TEMPLATE_V6 without the port fields. */
export const TEMPLATE_V6_PORTLESS = 259;
const MESSAGE_HEADER = 16;
const SET_HEADER = 4;
// The longest string the one-byte length form can carry: a length byte of 255 announces a three-byte length
// (RFC 7011 §7), so a 255-byte string written with one length byte made collectors misread the rest of the record.
const MAX_STRING = 254;
/** An IPv6 record without its four strings and their length bytes (the larger template's fixed part). */
const V6_FIXED = 16 * 2 + 2 + 2 + 1 + 2 + 8 * 4 + 8 * 2 + 1 + 8 + 4 + 2 + 1;
const STRINGS = 4;
/** A template id no record has: setOverhead(NO_TEMPLATE) - SET_HEADER is the set headers of the pending records. */
const NO_TEMPLATE = -1;

/** The fields of a template in record order. */
function templateFields(v6: boolean, ported: boolean, pen: number): FieldSpec[] {
  const f = (id: number, length: number, p = 0): FieldSpec => ({ id, length, pen: p });
  return [
    f(v6 ? IE.sourceIPv6Address : IE.sourceIPv4Address, v6 ? 16 : 4),
    f(v6 ? IE.destinationIPv6Address : IE.destinationIPv4Address, v6 ? 16 : 4),
    ...(ported ? [f(IE.sourceTransportPort, 2), f(IE.destinationTransportPort, 2)] : []),
    f(IE.protocolIdentifier, 1),
    f(IE.vlanId, 2),
    f(IE.octetDeltaCount, 8),
    f(IE.packetDeltaCount, 8),
    f(IE.octetDeltaCount, 8, REVERSE_PEN),
    f(IE.packetDeltaCount, 8, REVERSE_PEN),
    f(IE.flowStartMilliseconds, 8),
    f(IE.flowEndMilliseconds, 8),
    f(IE.flowEndReason, 1),
    f(IE.applicationName, VARLEN),
    f(TS_IE.label, VARLEN, pen),
    f(TS_IE.registrant, VARLEN, pen),
    f(TS_IE.confidence, 8, pen),
    f(TS_IE.listVersion, 4, pen),
    f(TS_IE.rule, VARLEN, pen),
    f(TS_IE.payloadCut, 2, pen),
    f(TS_IE.captureCapped, 1, pen),
  ];
}

/** A template record: id, field count, field specifiers (enterprise bit and number where set). */
function templateRecord(id: number, fields: FieldSpec[]): Uint8Array {
  const n = 4 + fields.reduce((a, x) => a + (x.pen ? 8 : 4), 0);
  const b = new Uint8Array(n);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, id);
  dv.setUint16(2, fields.length);
  let o = 4;
  for (const x of fields) {
    dv.setUint16(o, x.pen ? x.id | 0x8000 : x.id);
    dv.setUint16(o + 2, x.length);
    o += 4;
    if (x.pen) {
      dv.setUint32(o, x.pen);
      o += 4;
    }
  }
  return b;
}

/** A Template Set (set id 2) of the given template records. */
function templateSet(records: Uint8Array[]): Uint8Array {
  const set = new Uint8Array(SET_HEADER + records.reduce((a, r) => a + r.length, 0));
  const dv = new DataView(set.buffer);
  dv.setUint16(0, 2);
  dv.setUint16(2, set.length);
  let o = SET_HEADER;
  for (const r of records) {
    set.set(r, o);
    o += r.length;
  }
  return set;
}

const utf8 = new TextEncoder();

/** UTF-8 bytes of `s`, cut to `max` bytes without splitting a character. */
export function cutUtf8(s: string, max = MAX_STRING): Uint8Array {
  const b = utf8.encode(s);
  if (b.length <= max) return b;
  let n = max;
  while (n > 0 && (b[n]! & 0xc0) === 0x80) n--; // b[n] continues a character: cut before its lead byte
  return b.subarray(0, n);
}

function u64(dv: DataView, o: number, v: number): void {
  dv.setUint32(o, Math.floor(v / 0x1_0000_0000));
  dv.setUint32(o + 4, v >>> 0);
}

/** Counters for reports and tests. */
export interface IpfixStats {
  messages: number;
  records: number;
  templates: number;
  bytes: number;
  /** Records whose addresses could not be encoded (never expected from tunnelscope's own records). */
  skipped: number;
}

/**
 * Turns flow records into IPFIX messages. Call `add` per record and `flush` when a message should go out now
 * (a timer, the end of input); both hand complete messages to `emit`.
 * @example
 * const enc = new IpfixEncoder();
 * enc.add(record, Date.now(), (msg) => socket.send(msg, 4739, '192.0.2.9'));
 * enc.flush(Date.now(), (msg) => socket.send(msg, 4739, '192.0.2.9'));
 */
export class IpfixEncoder {
  readonly stats: IpfixStats = { messages: 0, records: 0, templates: 0, bytes: 0, skipped: 0 };
  private readonly domain: number;
  private readonly max: number;
  /** Longest string in a record: what lets one IPv6 record with four of them fit in a message of `max` bytes. */
  private readonly maxString: number;
  private readonly refreshMs: number;
  private readonly refreshMessages: number;
  private readonly templates: Uint8Array;
  /** Data records of the message being built, each with its template id. */
  private pending: { tid: number; bytes: Uint8Array }[] = [];
  private pendingBytes = 0;
  private sequence = 0;
  private lastTemplateMs = -Infinity;
  private messagesSinceTemplate = 0;

  constructor(options: IpfixOptions = {}) {
    checkOptions('IPFIX', options);
    checkKnownOptions('IPFIX', options, IPFIX_OPTIONS);
    this.domain = numberOption('observationDomainId', options.observationDomainId, 1, 0, 0xffffffff, true);
    this.max = numberOption('maxMessageSize', options.maxMessageSize, 1400, 512, 65535, true);
    this.maxString = Math.min(MAX_STRING, Math.floor((this.max - MESSAGE_HEADER - SET_HEADER - V6_FIXED - STRINGS) / STRINGS));
    // The exporter runs it as a timer: longer than a Node timer holds would fire at once, every time.
    this.refreshMs = numberOption('templateRefreshMs', options.templateRefreshMs, 60_000, 0, MAX_DELAY_MS);
    this.refreshMessages = numberOption('templateRefreshMessages', options.templateRefreshMessages, 100, 1, Number.MAX_SAFE_INTEGER, true);
    const pen = numberOption('enterpriseNumber', options.enterpriseNumber, DOCUMENTATION_PEN, 1, 0xffffffff, true);
    // One Template Set of all four (484 bytes): it fits in a message of the smallest maxMessageSize.
    const v4 = [templateRecord(TEMPLATE_V4, templateFields(false, true, pen)), templateRecord(TEMPLATE_V4_PORTLESS, templateFields(false, false, pen))];
    const v6 = [templateRecord(TEMPLATE_V6, templateFields(true, true, pen)), templateRecord(TEMPLATE_V6_PORTLESS, templateFields(true, false, pen))];
    this.templates = templateSet([v4[0]!, v6[0]!, v4[1]!, v6[1]!]);
  }

  /** The data record of a flow, with the template it follows, or null when its addresses cannot be encoded. */
  encodeRecord(r: FlowRecord): { tid: number; bytes: Uint8Array } | null {
    const s = parseEndpoint(r.src), d = parseEndpoint(r.dst);
    const sa = addressBytes(s.ip), da = addressBytes(d.ip);
    if (sa === null || da === null || sa.length !== da.length) return null;
    const v6 = sa.length === 16;
    // Ports only when both endpoints have one: a record of a portless transport never invents port 0.
    const ported = s.port !== null && d.port !== null;
    const app = cutUtf8(r.label === 'ordinary' ? '' : (r.protocol ?? ''), this.maxString);
    const label = cutUtf8(r.label, this.maxString);
    const registrant = cutUtf8(r.registrant ?? '', this.maxString);
    const rule = cutUtf8(decidingEvidence(r)?.rule ?? '', this.maxString);
    const fixed = sa.length * 2 + (ported ? 4 : 0) + 1 + 2 + 8 * 4 + 8 * 2 + 1 + 8 + 4 + 2 + 1;
    const b = new Uint8Array(fixed + 4 + app.length + label.length + registrant.length + rule.length);
    const dv = new DataView(b.buffer);
    let o = 0;
    b.set(sa, o); o += sa.length;
    b.set(da, o); o += da.length;
    if (ported) {
      dv.setUint16(o, s.port!); o += 2;
      dv.setUint16(o, d.port!); o += 2;
    }
    const proto = ipProtocol(r.transport);
    b[o++] = proto < 0 ? 0 : proto;
    dv.setUint16(o, r.vlan ?? 0); o += 2;
    // A record without per-direction counters (NDJSON of an earlier version) exports its totals as forward.
    const dir = directional(r) ?? { srcPackets: r.packets, srcBytes: r.bytes, dstPackets: 0, dstBytes: 0 };
    u64(dv, o, dir.srcBytes); o += 8;
    u64(dv, o, dir.srcPackets); o += 8;
    u64(dv, o, dir.dstBytes); o += 8;
    u64(dv, o, dir.dstPackets); o += 8;
    u64(dv, o, epochMillis(r.firstSeen)); o += 8;
    u64(dv, o, epochMillis(r.lastSeen)); o += 8;
    b[o++] = r.end === undefined ? 0 : (FLOW_END_REASON[r.end] ?? 0);
    const str = (x: Uint8Array): void => {
      b[o++] = x.length; // <= MAX_STRING (254): the one-byte length form
      b.set(x, o);
      o += x.length;
    };
    str(app);
    str(label);
    str(registrant);
    dv.setFloat64(o, r.confidence); o += 8;
    dv.setUint32(o, r.listVersion >>> 0); o += 4;
    str(rule);
    dv.setUint16(o, Math.min(0xffff, r.payloadCut ?? 0)); o += 2;
    b[o++] = r.captureCapped === true ? 1 : 2;
    const tid = ported ? (v6 ? TEMPLATE_V6 : TEMPLATE_V4) : v6 ? TEMPLATE_V6_PORTLESS : TEMPLATE_V4_PORTLESS;
    return { tid, bytes: b.subarray(0, o) };
  }

  /** Queue a flow's record; emits the pending message first when the record would not fit in it. */
  add(r: FlowRecord, nowMs: number, emit: (message: Uint8Array) => void): void {
    const rec = this.encodeRecord(r);
    if (rec === null) {
      this.stats.skipped++;
      return;
    }
    // Worst case for the pending message plus this record: templates, and a set header for this record.
    const room = this.max - MESSAGE_HEADER - this.templates.length - SET_HEADER;
    if (this.pendingBytes + this.setOverhead(rec.tid) + rec.bytes.length > room) this.flush(nowMs, emit);
    this.pending.push(rec);
    this.pendingBytes += rec.bytes.length;
  }

  /** Set headers the pending records need if `tid` were appended. */
  private setOverhead(tid: number): number {
    let sets = 0, last = -1;
    for (const p of this.pending) if (p.tid !== last) { sets++; last = p.tid; }
    if (tid !== last) sets++;
    return sets * SET_HEADER;
  }

  /** Whether the next message must carry the templates. */
  private templateDue(nowMs: number): boolean {
    return nowMs - this.lastTemplateMs >= this.refreshMs || this.messagesSinceTemplate >= this.refreshMessages;
  }

  /** Emit the pending records as one message (with templates when due); nothing when none are pending. */
  flush(nowMs: number, emit: (message: Uint8Array) => void): void {
    if (this.pending.length === 0) return;
    let withTemplates = this.templateDue(nowMs);
    // add() leaves room for the templates, but a record larger than that room still goes out: then the templates
    // lead in a message of their own, as a collector needs them before the data either way.
    if (withTemplates && MESSAGE_HEADER + this.templates.length + this.pendingBytes + this.setOverhead(NO_TEMPLATE) - SET_HEADER > this.max) {
      emit(this.templateMessage(nowMs));
      withTemplates = false;
    }
    emit(this.build(nowMs, withTemplates));
  }

  /** A message with the templates and no data (what a collector needs before any data, or to refresh them). */
  templateMessage(nowMs: number): Uint8Array {
    const pending = this.pending;
    this.pending = [];
    const saved = this.pendingBytes;
    this.pendingBytes = 0;
    const m = this.build(nowMs, true);
    this.pending = pending;
    this.pendingBytes = saved;
    return m;
  }

  private build(nowMs: number, withTemplates: boolean): Uint8Array {
    const sets: Uint8Array[] = [];
    if (withTemplates) sets.push(this.templates);
    for (let i = 0; i < this.pending.length; ) {
      const tid = this.pending[i]!.tid;
      let j = i, len = SET_HEADER;
      while (j < this.pending.length && this.pending[j]!.tid === tid) len += this.pending[j++]!.bytes.length;
      const set = new Uint8Array(len);
      const dv = new DataView(set.buffer);
      dv.setUint16(0, tid);
      dv.setUint16(2, len);
      let o = SET_HEADER;
      for (let k = i; k < j; k++) {
        set.set(this.pending[k]!.bytes, o);
        o += this.pending[k]!.bytes.length;
      }
      sets.push(set);
      i = j;
    }
    const total = MESSAGE_HEADER + sets.reduce((a, s) => a + s.length, 0);
    const msg = new Uint8Array(total);
    const dv = new DataView(msg.buffer);
    dv.setUint16(0, 10); // IPFIX version
    dv.setUint16(2, total);
    dv.setUint32(4, Math.floor(nowMs / 1000) >>> 0); // export time, seconds
    dv.setUint32(8, this.sequence); // data records sent before this message
    dv.setUint32(12, this.domain);
    let o = MESSAGE_HEADER;
    for (const s of sets) {
      msg.set(s, o);
      o += s.length;
    }
    const n = this.pending.length;
    this.sequence = (this.sequence + n) >>> 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.stats.messages++;
    this.stats.records += n;
    this.stats.bytes += total;
    if (withTemplates) {
      this.stats.templates++;
      this.lastTemplateMs = nowMs;
      this.messagesSinceTemplate = 0;
    } else this.messagesSinceTemplate++;
    return msg;
  }
}
