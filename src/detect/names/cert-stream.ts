/**
 * A TLS ≤ 1.2 server's leaf certificate that runs past the TCP segment it starts in (reference part 3
 * §ServerHello "TLS ≤ 1.2: the Certificate message … is in clear"; RFC 5246 §6.2.1 record layer, §7.3 message
 * order, §7.4.2 Certificate). The server's first flight (ServerHello, Certificate, …) usually spans 2–4 segments
 * and a leaf's subjectAltName sits at its end, so one segment is often not enough.
 *
 * Owns: per flow, the server's handshake bytes with the record headers stripped, from the segment that starts its
 * first handshake record up to the last byte of the leaf certificate and no further, then the leaf's names
 * (cert.ts {@link leafNames}). The buffer is released as soon as the leaf is whole, or the stream is given up, or
 * the flow's inspection ends (the caller's reset). A flow that needs a stream ends in exactly one outcome of
 * {@link CertStreamStats}: completed, tooLong, noSlot or abandoned — none is dropped without a count.
 *
 * Bounds: a stream holds at most {@link CERT_STREAM_MAX_BYTES} of handshake bytes and follows at most
 * {@link CERT_STREAM_MAX_SEGMENTS} server segments; a {@link CertStreams} pool (one per session) lends at most
 * `maxStreams` buffers at once, so the memory is ≤ maxStreams × 8 KiB whatever the input.
 *
 * Segments are taken in arrival order, as the TLS ClientHello continuation in index.ts does: the flow view has no
 * TCP sequence numbers. A segment with the same length and the same first bytes as one already fed is taken for a
 * retransmission and skipped; a segment the capture cut short (a gap), any other reordering or retransmission, or a
 * record that is not a handshake record ends the stream (counted as abandoned) — the framing checks below catch
 * most such breaks, and the DER walk bounds-checks every length, so a broken stream yields no name or the subject.
 * Must never: throw, allocate for a flow whose first server segment holds its leaf whole or holds no Certificate,
 * or keep bytes past the leaf.
 */
import type { FlowView } from '../../flow/view.js';
import { InvalidArgumentError } from '../../errors.js';
import { leafNames, type CertNames } from './cert.js';

/** Handshake bytes a stream may hold: ServerHello, the Certificate header and the leaf (a leaf is ~1–2 KiB). */
export const CERT_STREAM_MAX_BYTES = 8192;
/** Server segments a stream follows, the first included (8 KiB is ~6 full-size segments). */
export const CERT_STREAM_MAX_SEGMENTS = 8;
/** Streams a session holds at once by default (≤ 8 MiB of buffers). */
export const DEFAULT_MAX_CERT_STREAMS = 1024;

/** Outcomes of the flows whose leaf certificate ran past the segment it started in. */
export interface CertStreamStats {
  /** Streams opened (a buffer was lent). */
  started: number;
  /** Outcome: the leaf became whole in a later segment and was parsed. */
  completed: number;
  /** Outcome: ServerHello + Certificate header + leaf would exceed {@link CERT_STREAM_MAX_BYTES}; not buffered. */
  tooLong: number;
  /** Outcome: every buffer of the pool was lent; not buffered (only the first segment's subject is read). */
  noSlot: number;
  /**
   * Outcome: given up — the capture cut a segment (a gap), the client spoke before the leaf was whole, a record
   * that is not a handshake record or a message other than ServerHello before the Certificate, more than
   * {@link CERT_STREAM_MAX_SEGMENTS} segments, or the flow's inspection ended first.
   */
  abandoned: number;
}

/** The flow's side of a stream; the classifier's per-flow detection state implements it. */
export interface CertSlot {
  /** Where this flow's stream comes from; null: certificates are read from single segments only. */
  certStreams: CertStreams | null;
  /** The stream in progress, or null. */
  certStream: CertStream | null;
  /** A stream was needed once already (opened or refused): a flow gets at most one. */
  certTried: boolean;
}

const MORE = 0, DONE = 1, NONE = 2, TOO_LONG = 3;
const HS_SERVER_HELLO = 0x02, HS_CERTIFICATE = 0x0b;
const REC_HANDSHAKE = 0x16;
/** TLSPlaintext.length ≤ 2^14 (RFC 5246 §6.2.1). */
const MAX_RECORD = 16384;
/** First bytes compared to recognise a retransmitted segment (the flow table keeps 48 of earlier packets). */
const RETRANSMIT_PREFIX = 16;

/** One flow's buffered handshake bytes and record-layer position. */
export class CertStream {
  readonly buf = new Uint8Array(CERT_STREAM_MAX_BYTES);
  /** Handshake bytes held in `buf`. */
  hsLen = 0;
  /** Body bytes of the current record still to come (0: a record header is next). */
  recLeft = 0;
  /** Bytes of a record header split across segments, and those bytes. */
  hdrHave = 0;
  readonly hdr = new Uint8Array(5);
  /** Handshake offset of the leaf certificate's first byte, and of the byte after its last (-1 until known). */
  leafAt = -1;
  need = -1;
  /** Handshake offset where the message walk stopped (a message boundary when it equals hsLen). */
  walked = 0;
  /** Payload packet the stream began in, server segments fed. */
  first = 0;
  segments = 0;

  reset(): void {
    this.hsLen = 0;
    this.recLeft = 0;
    this.hdrHave = 0;
    this.leafAt = -1;
    this.need = -1;
    this.walked = 0;
    this.first = 0;
    this.segments = 0;
  }
}

/**
 * A bounded pool of stream buffers, one per session (or classifier).
 * @example
 * const certs = new CertStreams(1024);
 * flowNames(view, { certStreams: certs, certStream: null, certTried: false });
 */
export class CertStreams {
  readonly stats: CertStreamStats = { started: 0, completed: 0, tooLong: 0, noSlot: 0, abandoned: 0 };
  readonly maxStreams: number;
  private readonly free: CertStream[] = [];
  private lent = 0;
  private made = 0;

  /** @throws {InvalidArgumentError} `maxStreams` is not an integer 0 … 2^20 (0: never buffer). */
  constructor(maxStreams: number = DEFAULT_MAX_CERT_STREAMS) {
    if (!Number.isInteger(maxStreams) || maxStreams < 0 || maxStreams > 1 << 20) {
      throw new InvalidArgumentError(`maxCertStreams must be an integer 0 … 1048576, got ${String(maxStreams)}`);
    }
    this.maxStreams = maxStreams;
  }

  /** Streams lent now. */
  get size(): number {
    return this.lent;
  }

  /** Bytes of the buffers made so far (lent and free); at most maxStreams × CERT_STREAM_MAX_BYTES. */
  memoryBytes(): number {
    return this.made * CERT_STREAM_MAX_BYTES;
  }

  /** @internal */
  take(): CertStream | null {
    if (this.lent >= this.maxStreams) return null;
    this.lent++;
    const s = this.free.pop();
    if (s !== undefined) return s;
    this.made++;
    return new CertStream();
  }

  /** @internal The stream goes back; its bytes are wiped (payload is kept no longer than needed). */
  give(s: CertStream): void {
    s.buf.fill(0, 0, s.hsLen);
    s.reset();
    this.lent--;
    this.free.push(s);
  }
}

/** Walks the first segment of each flow's server flight; copied into a lent stream only when the leaf runs on. */
const PROBE = new CertStream();

/**
 * Server payload packet `i` (the newest, whole) starts with a handshake record. When its leaf certificate runs
 * past it, open a stream for the flow (the caller reads this packet's names with parseServerCertificate as before).
 */
export function startCertStream(slot: CertSlot, f: FlowView, i: number): void {
  const pool = slot.certStreams;
  if (pool === null || slot.certTried || slot.certStream !== null) return;
  const pr = PROBE;
  const s = f.start(i);
  const r = feed(pr, f.buf(i), s, s + f.avail(i));
  // Nothing to carry over when the segment ends at a record and message boundary before a Certificate began
  // (TLS 1.3's ServerHello alone, a server that flushes each message): a later segment starts afresh.
  const carry = r === MORE && !(pr.recLeft === 0 && pr.hdrHave === 0 && pr.need < 0 && pr.walked === pr.hsLen);
  if (r === DONE) {
    // The leaf was whole in this segment (the caller reads it in place): the flight's later segments are the rest of
    // its records, and one that happens to begin with 0x16 (a byte inside the chain) starts nothing.
    slot.certTried = true;
  } else if (r === TOO_LONG) {
    slot.certTried = true;
    pool.stats.tooLong++;
  } else if (carry) {
    slot.certTried = true;
    if (f.avail(i) < f.len(i)) pool.stats.abandoned++; // the capture cut this segment: nothing can be joined to it
    else {
      const st = pool.take();
      if (st === null) pool.stats.noSlot++;
      else {
        for (let k = 0; k < pr.hsLen; k++) st.buf[k] = pr.buf[k]!;
        st.hsLen = pr.hsLen;
        st.recLeft = pr.recLeft;
        st.hdrHave = pr.hdrHave;
        for (let k = 0; k < 5; k++) st.hdr[k] = pr.hdr[k]!;
        st.leafAt = pr.leafAt;
        st.need = pr.need;
        st.walked = pr.walked;
        st.first = i;
        st.segments = 1;
        slot.certStream = st;
        pool.stats.started++;
      }
    }
  }
  pr.buf.fill(0, 0, pr.hsLen);
  pr.reset();
}

/**
 * Feed payload packet `i` (the newest, whole) to the flow's stream. Returns the leaf's names when it became whole
 * with this packet; null otherwise — the stream then either goes on (`slot.certStream` still set) or has ended.
 */
export function continueCertStream(slot: CertSlot, f: FlowView, i: number): CertNames | null {
  const st = slot.certStream;
  if (st === null) return null;
  // In TLS ≤ 1.2 the client waits for ServerHelloDone (RFC 5246 §7.3): a client payload ends the server's flight.
  if (f.dir(i) !== 1) return end(slot, NONE);
  if (retransmitted(f, i, st.first)) return null;
  if (++st.segments > CERT_STREAM_MAX_SEGMENTS) return end(slot, NONE);
  const s = f.start(i), avail = f.avail(i);
  const r = feed(st, f.buf(i), s, s + avail);
  if (r === DONE) {
    const names = leafNames(st.buf, st.leafAt, st.need);
    end(slot, DONE);
    return names;
  }
  if (r !== MORE || avail < f.len(i)) end(slot, r === MORE ? NONE : r);
  return null;
}

/** End the flow's stream, if any, with inspection (counted as abandoned unless it completed). */
export function releaseCertStream(slot: CertSlot): void {
  if (slot.certStream !== null) end(slot, NONE);
}

function end(slot: CertSlot, outcome: number): null {
  const st = slot.certStream!;
  const pool = slot.certStreams!;
  if (outcome === DONE) pool.stats.completed++;
  else if (outcome === TOO_LONG) pool.stats.tooLong++;
  else pool.stats.abandoned++;
  slot.certStream = null;
  pool.give(st);
  return null;
}

/** Packet i repeats an earlier server packet of the stream: same length, same first bytes (both kept). */
function retransmitted(f: FlowView, i: number, first: number): boolean {
  const bi = f.buf(i), si = f.start(i), len = f.len(i);
  for (let j = first; j < i; j++) {
    if (f.dir(j) !== 1 || f.len(j) !== len || f.avail(j) < RETRANSMIT_PREFIX || f.avail(i) < RETRANSMIT_PREFIX) continue;
    const bj = f.buf(j), sj = f.start(j);
    const n = Math.min(f.avail(j), f.avail(i));
    let k = 0;
    while (k < n && bj[sj + k] === bi[si + k]) k++;
    if (k === n) return true;
  }
  return false;
}

/**
 * Strip record headers from `b[p, e)` into the stream, keeping handshake bytes only up to the leaf's end (or the
 * cap while that end is unknown). Returns MORE, DONE (leaf whole), NONE (not a TLS ≤ 1.2 flight with a leaf
 * certificate next) or TOO_LONG.
 */
function feed(st: CertStream, b: Uint8Array, p: number, e: number): number {
  const buf = st.buf;
  while (p < e) {
    if (st.recLeft > 0) {
      const take = st.recLeft < e - p ? st.recLeft : e - p;
      const room = (st.need >= 0 ? st.need : CERT_STREAM_MAX_BYTES) - st.hsLen;
      const keep = take < room ? take : room;
      for (let k = 0; k < keep; k++) buf[st.hsLen + k] = b[p + k]!;
      st.hsLen += keep;
      st.recLeft -= take;
      p += take;
      const r = examine(st);
      if (r !== MORE) return r;
      if (st.hsLen >= CERT_STREAM_MAX_BYTES) return TOO_LONG; // full, and the leaf's end still unknown
      continue;
    }
    st.hdr[st.hdrHave++] = b[p++]!;
    if (st.hdrHave < 5) continue;
    st.hdrHave = 0;
    const h = st.hdr;
    const len = (h[3]! << 8) | h[4]!;
    // A handshake record, version 3.0–3.3, 1 … 2^14 bytes (RFC 5246 §6.2.1; zero-length handshake fragments are
    // not allowed). Anything else — ChangeCipherSpec or application data (TLS 1.3 after its ServerHello, or a
    // resumed session), an alert — ends the cleartext flight before a leaf.
    if (h[0] !== REC_HANDSHAKE || h[1] !== 0x03 || h[2]! > 0x03 || len === 0 || len > MAX_RECORD) return NONE;
    st.recLeft = len;
  }
  return MORE;
}

/**
 * Walk the handshake messages held: only a ServerHello may precede the Certificate (RFC 5246 §7.3); the
 * Certificate's list and first-certificate lengths must be consistent (§7.4.2). Sets the leaf's extent once known.
 */
function examine(st: CertStream): number {
  const hs = st.buf, n = st.hsLen;
  let p = 0;
  while (p + 4 <= n) {
    const type = hs[p]!;
    const len = (hs[p + 1]! << 16) | (hs[p + 2]! << 8) | hs[p + 3]!;
    if (type === HS_CERTIFICATE) {
      st.walked = p;
      if (p + 10 > n) return p + 10 > CERT_STREAM_MAX_BYTES ? TOO_LONG : MORE;
      const listLen = (hs[p + 4]! << 16) | (hs[p + 5]! << 8) | hs[p + 6]!;
      const certLen = (hs[p + 7]! << 16) | (hs[p + 8]! << 8) | hs[p + 9]!;
      if (listLen + 3 !== len || certLen === 0 || 3 + certLen > listLen) return NONE;
      st.leafAt = p + 10;
      st.need = p + 10 + certLen;
      if (st.need > CERT_STREAM_MAX_BYTES) return TOO_LONG;
      return n >= st.need ? DONE : MORE;
    }
    if (type !== HS_SERVER_HELLO) return NONE;
    p += 4 + len;
  }
  st.walked = p;
  return p + 10 > CERT_STREAM_MAX_BYTES ? TOO_LONG : MORE;
}
