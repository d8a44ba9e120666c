/** Test builders: ClientHellos (TLS/DTLS/QUIC) serialised from fields, and a QUIC Initial protector. */
import { createCipheriv } from 'node:crypto';
import { initialKeys, QUIC_V2 } from '../../../src/detect/names/quic.js';

export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex'));
}
const u16 = (v: number): number[] => [(v >> 8) & 255, v & 255];
const u24 = (v: number): number[] => [(v >> 16) & 255, (v >> 8) & 255, v & 255];
const ascii = (s: string): number[] => [...Buffer.from(s, 'latin1')];

export function ext(type: number, data: number[]): number[] {
  return [...u16(type), ...u16(data.length), ...data];
}
export function sniExt(name: string): number[] {
  const n = ascii(name);
  return ext(0, [...u16(n.length + 3), 0, ...u16(n.length), ...n]);
}
export function alpnExt(ids: string[]): number[] {
  const list = ids.flatMap((s) => [s.length, ...ascii(s)]);
  return ext(0x10, [...u16(list.length), ...list]);
}
export function versionsExt(vs: number[]): number[] {
  return ext(0x2b, [vs.length * 2, ...vs.flatMap(u16)]);
}

export interface HelloSpec {
  version?: number;
  sessionId?: number[];
  cookie?: number[] | null; // DTLS only
  suites?: number[];
  exts?: number[][]; // serialised extensions in order
  noExtensions?: boolean;
  random?: number;
}

/** ClientHello body (no handshake header). */
export function helloBody(h: HelloSpec): number[] {
  const sid = h.sessionId ?? [];
  const suites = h.suites ?? [0x1301, 0x1302, 0xc02f];
  const out = [...u16(h.version ?? 0x0303), ...new Array(32).fill(h.random ?? 0xa5), sid.length, ...sid];
  if (h.cookie !== undefined && h.cookie !== null) out.push(h.cookie.length, ...h.cookie);
  out.push(...u16(suites.length * 2), ...suites.flatMap(u16), 1, 0);
  if (!h.noExtensions) {
    const exts = (h.exts ?? []).flat();
    out.push(...u16(exts.length), ...exts);
  }
  return out;
}

export function handshake(body: number[]): number[] {
  return [1, ...u24(body.length), ...body];
}

/** TLS record(s) around a ClientHello; `split` cuts the handshake into records of at most that size. */
export function tlsRecord(body: number[], split = 16384, recVersion = 0x0301): Uint8Array {
  const hs = handshake(body);
  const out: number[] = [];
  for (let p = 0; p < hs.length; p += split) {
    const part = hs.slice(p, p + split);
    out.push(0x16, ...u16(recVersion), ...u16(part.length), ...part);
  }
  return Uint8Array.from(out);
}

/** DTLS record with a (possibly first-fragment-only) ClientHello. */
export function dtlsRecord(body: number[], opts: { recVersion?: number; seq?: number; fragLen?: number } = {}): Uint8Array {
  const fl = opts.fragLen ?? body.length;
  const hs = [1, ...u24(body.length), ...u16(opts.seq ?? 0), ...u24(0), ...u24(fl), ...body.slice(0, fl)];
  return Uint8Array.from([0x16, ...u16(opts.recVersion ?? 0xfefd), 0, 0, 0, 0, 0, 0, 0, 0, ...u16(hs.length), ...hs]);
}

/** CRYPTO frame. */
export function cryptoFrame(offset: number, data: number[]): number[] {
  const vi = (v: number): number[] => (v < 64 ? [v] : v < 16384 ? [0x40 | (v >> 8), v & 255] : [0x80 | (v >>> 24), (v >> 16) & 255, (v >> 8) & 255, v & 255]);
  return [6, ...vi(offset), ...vi(data.length), ...data];
}

/**
 * Protects a client Initial (RFC 9001 §5.3–5.4) with a 4-byte packet number; payload is padded to fill 1200 bytes.
 * `keyDcid` (default `dcid`): the client's first DCID, which keys every client Initial of the connection.
 */
export function protectInitial(version: number, dcid: Uint8Array, payload: number[], pn = 2, scid: number[] = [], pad = true, keyDcid = dcid): Uint8Array {
  const keys = initialKeys(version, keyDcid);
  const headLen = 1 + 4 + 1 + dcid.length + 1 + scid.length + 1 + 2 + 4;
  const body = payload.slice();
  if (pad) while (headLen + body.length + 16 < 1200) body.push(0);
  const length = 4 + body.length + 16;
  const type = version === QUIC_V2 ? 1 : 0;
  const first = 0xc0 | (type << 4) | 0x03;
  const hdr = Uint8Array.from([first, ...[(version >>> 24) & 255, (version >> 16) & 255, (version >> 8) & 255, version & 255], dcid.length, ...dcid, scid.length, ...scid, 0, 0x40 | (length >> 8), length & 255, ...[(pn >>> 24) & 255, (pn >> 16) & 255, (pn >> 8) & 255, pn & 255]]);
  const nonce = Buffer.from(keys.iv);
  for (let k = 0; k < 4; k++) nonce[11 - k]! ^= (pn >>> (8 * k)) & 255;
  const c = createCipheriv('aes-128-gcm', keys.key, nonce);
  c.setAAD(hdr);
  const ct = Buffer.concat([c.update(Uint8Array.from(body)), c.final(), c.getAuthTag()]);
  const pkt = Buffer.concat([Buffer.from(hdr), ct]);
  const pnOff = hdr.length - 4;
  const ecb = createCipheriv('aes-128-ecb', keys.hp, null);
  ecb.setAutoPadding(false);
  const mask = ecb.update(pkt.subarray(pnOff + 4, pnOff + 20));
  pkt[0]! ^= mask[0]! & 0x0f;
  for (let k = 0; k < 4; k++) pkt[pnOff + k]! ^= mask[1 + k]!;
  return Uint8Array.from(pkt);
}

/** RFC 9001 Appendix A.2 client Initial plaintext (CRYPTO frame; PADDING added by protectInitial). */
export const RFC9001_CRYPTO = hex(
  '060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868' +
    '04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578' +
    '616d706c652e636f6dff01000100000a00080006001d00170018001000070005' +
    '04616c706e000500050100000000003300260024001d00209370b2c9caa47fba' +
    'baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400' +
    '0d0010000e0403050306030203080408050806002d00020101001c0002400100' +
    '3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000' +
    '75300901100f088394c8f03e51570806048000ffff',
);
export const RFC_DCID = hex('8394c8f03e515708');

// ---- DNS responses (RFC 1035 §4.1) ----

export interface DnsRec {
  owner: string;
  type: 1 | 5 | 28 | 16;
  ttl: number;
  /** A: 4 bytes, AAAA: 16, CNAME: the target name, TXT (16): bytes. */
  data: Uint8Array | string;
}

function dnsNameBytes(name: string): number[] {
  const out: number[] = [];
  for (const l of name.split('.')) out.push(l.length, ...Buffer.from(l, 'ascii'));
  out.push(0);
  return out;
}

/** A response with one IN question; owners equal to the question name are written as a pointer to offset 12. */
export function dnsResponse(qname: string, recs: DnsRec[], opts: { rcode?: number; qr?: boolean; tcp?: boolean } = {}): Uint8Array {
  const flags = (opts.qr === false ? 0 : 0x8000) | 0x0100 | 0x0080 | (opts.rcode ?? 0);
  const m: number[] = [0x12, 0x34, flags >> 8, flags & 0xff, 0, 1, recs.length >> 8, recs.length & 0xff, 0, 0, 0, 0];
  m.push(...dnsNameBytes(qname), 0, 1, 0, 1);
  for (const r of recs) {
    if (r.owner === qname) m.push(0xc0, 12);
    else m.push(...dnsNameBytes(r.owner));
    const rd = typeof r.data === 'string' ? dnsNameBytes(r.data) : [...r.data];
    m.push(r.type >> 8, r.type & 0xff, 0, 1, (r.ttl >>> 24) & 0xff, (r.ttl >>> 16) & 0xff, (r.ttl >>> 8) & 0xff, r.ttl & 0xff, rd.length >> 8, rd.length & 0xff, ...rd);
  }
  const b = Uint8Array.from(m);
  if (!opts.tcp) return b;
  return Uint8Array.from([b.length >> 8, b.length & 0xff, ...b]);
}
