/**
 * Test builders for server certificates: a tiny DER encoder (enough for a v3 certificate with a subjectAltName), the
 * real OpenSSL-made leaves of fixtures/certs (scripts/gen-cert-fixtures.sh), and a TLS 1.2 server flight
 * (ServerHello, Certificate, ServerHelloDone) in handshake records, cut into TCP segments.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** A real leaf: CN=gateway, O=Example VPN Ltd; SAN DNS:vpn.example.net, DNS:*.example.org, IP:192.0.2.1, email. */
export const VPN_SAN_DER = new Uint8Array(readFileSync(join(ROOT, 'fixtures', 'certs', 'vpn-san.der')));
/** A real leaf with no subject CN: O=Example Hosting; SAN DNS:www.example.com, DNS:example.com. */
export const SAN_ONLY_DER = new Uint8Array(readFileSync(join(ROOT, 'fixtures', 'certs', 'san-only.der')));

const u16 = (v: number): number[] => [(v >> 8) & 255, v & 255];
const u24 = (v: number): number[] => [(v >> 16) & 255, (v >> 8) & 255, v & 255];

/** DER TLV with a definite length in the shortest form. */
export function tlv(tag: number, body: readonly number[] | Uint8Array): number[] {
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 255] : [0x83, n >> 16, (n >> 8) & 255, n & 255];
  return [tag, ...len, ...body];
}

const atv = (oid: number, v: string): number[] => tlv(0x31, tlv(0x30, [...tlv(0x06, [0x55, 4, oid]), ...tlv(0x0c, [...Buffer.from(v, 'latin1')])]));

/** A GeneralName: [2] dNSName, [7] iPAddress, [1] rfc822Name, [6] URI, or [0] otherName (constructed). */
export type GeneralName = { tag: 'dns' | 'ip' | 'email' | 'uri' | 'other'; bytes: readonly number[] };
const GN_TAG = { dns: 0x82, ip: 0x87, email: 0x81, uri: 0x86, other: 0xa0 } as const;

export function sanExtension(names: readonly GeneralName[], critical = false): number[] {
  const gn = tlv(0x30, names.flatMap((g) => tlv(GN_TAG[g.tag], g.bytes)));
  return tlv(0x30, [...tlv(0x06, [0x55, 0x1d, 0x11]), ...(critical ? tlv(0x01, [0xff]) : []), ...tlv(0x04, gn)]);
}

/**
 * A v3 certificate: subject CN/O as given, a stand-in key of `keyBytes` bytes, extensions (basicConstraints,
 * then the SAN when `san` is given, then `padExt` bytes of an unknown extension), a stand-in signature.
 */
export function certDer(o: { cn?: string | undefined; org?: string; san?: readonly GeneralName[]; critical?: boolean; keyBytes?: number; padExt?: number }): Uint8Array {
  const subject = tlv(0x30, [...(o.org !== undefined ? atv(10, o.org) : []), ...(o.cn !== undefined ? atv(3, o.cn) : [])]);
  const alg = tlv(0x30, [...tlv(0x06, [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]), 0x05, 0x00]);
  const time = (s: string): number[] => tlv(0x17, [...Buffer.from(s)]);
  const spki = tlv(0x30, [...tlv(0x30, [...tlv(0x06, [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01])]), ...tlv(0x03, [0, ...new Array<number>(o.keyBytes ?? 64).fill(0x5a)])]);
  const exts: number[] = [...tlv(0x30, [...tlv(0x06, [0x55, 0x1d, 0x13]), ...tlv(0x04, tlv(0x30, []))])];
  if (o.san) exts.push(...sanExtension(o.san, o.critical));
  if (o.padExt) exts.push(...tlv(0x30, [...tlv(0x06, [0x2b, 6, 1, 4, 1, 0x7f]), ...tlv(0x04, new Array<number>(o.padExt).fill(0x11))]));
  const tbs = tlv(0x30, [
    ...tlv(0xa0, tlv(0x02, [2])),
    ...tlv(0x02, [0x01, 0x23]),
    ...alg,
    ...tlv(0x30, atv(3, 'Test CA')),
    ...tlv(0x30, [...time('260101000000Z'), ...time('360101000000Z')]),
    ...subject,
    ...spki,
    ...tlv(0xa3, tlv(0x30, exts)),
  ]);
  return Uint8Array.from(tlv(0x30, [...tbs, ...alg, ...tlv(0x03, [0, ...new Array<number>(64).fill(0x33)])]));
}

/** A TLS 1.2 ServerHello (session id, ECDHE-RSA-AES128-GCM, renegotiation_info and ec_point_formats). */
export function serverHello(): number[] {
  const exts = [0xff, 0x01, 0, 1, 0, 0, 0x0b, 0, 2, 1, 0];
  const body = [3, 3, ...new Array<number>(32).fill(0x42), 32, ...new Array<number>(32).fill(0x24), 0xc0, 0x2f, 0, ...u16(exts.length), ...exts];
  return [2, ...u24(body.length), ...body];
}

/** A Certificate message with the chain `certs` (leaf first). */
export function certificateMsg(certs: readonly Uint8Array[]): number[] {
  const list = certs.flatMap((c) => [...u24(c.length), ...c]);
  return [0x0b, ...u24(list.length + 3), ...u24(list.length), ...list];
}

/**
 * The server's first flight: ServerHello, Certificate (the chain), ServerHelloDone, in handshake records of at most
 * `recordMax` bytes of handshake data (RFC 5246 §6.2.1 lets a message span records).
 */
export function serverFlight(certs: readonly Uint8Array[], recordMax = 16384): Uint8Array {
  const hs = [...serverHello(), ...certificateMsg(certs), 0x0e, 0, 0, 0];
  const out: number[] = [];
  for (let p = 0; p < hs.length; p += recordMax) {
    const part = hs.slice(p, p + recordMax);
    out.push(0x16, 3, 3, ...u16(part.length), ...part);
  }
  return Uint8Array.from(out);
}

/** `b` cut at the (sorted, distinct, inside) offsets `cuts`: the TCP segments of one direction. */
export function segmentsAt(b: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const at = [0, ...[...new Set(cuts)].filter((c) => c > 0 && c < b.length).sort((x, y) => x - y), b.length];
  const out: Uint8Array[] = [];
  for (let k = 0; k + 1 < at.length; k++) out.push(b.slice(at[k], at[k + 1]));
  return out;
}

/** Offset of the first occurrence of `needle` in `b`, or -1. */
export function indexOfBytes(b: Uint8Array, needle: string | readonly number[]): number {
  const n = typeof needle === 'string' ? [...Buffer.from(needle, 'latin1')] : needle;
  outer: for (let i = 0; i + n.length <= b.length; i++) {
    for (let k = 0; k < n.length; k++) if (b[i + k] !== n[k]) continue outer;
    return i;
  }
  return -1;
}
