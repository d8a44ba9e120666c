/**
 * Names a flow reveals in clear, for list matching (reference part 3 §"VPN-provider names"): TLS SNI and ALPN,
 * TLS ≤ 1.2 server certificate subject CN and subjectAltName dNSNames (a leaf spread over server segments is joined
 * through a per-flow {@link CertSlot}, cert-stream.ts), HTTP Host, DTLS SNI, the SNI/ALPN of decrypted QUIC v1/v2/draft client
 * Initials, the SNI of Google QUIC CHLOs (≤ Q046, in clear), and DNS query names. Looks only at the newest payload packet of the flow view (whose whole payload is
 * available) and allocates only when it finds a name; the gates before each parser are byte compares.
 * Must never: throw, or turn a name into a tunnel verdict by itself (that is the combiner's job).
 */
import type { Evidence, FlowView } from '../types.js';
import { findSniExtension, parseClientHello, parseServerCertificate, type CertNames } from './tls.js';
import { IPPROTO_TCP, IPPROTO_UDP, u8, u24be } from '../types.js';
import { parseHttpRequest } from './http.js';
import { isDnsPort, parseDnsQuery } from './dns.js';
import { parseDtlsClientHello } from './dtls.js';
import { looksLikeInitial, parseQuicInitial } from './quic.js';
import { parseGquicChlo } from './gquic.js';
import { continueCertStream, startCertStream, type CertSlot } from './cert-stream.js';

export interface FlowNames {
  kind: 'tls' | 'dtls' | 'quic' | 'dns' | 'http' | 'cert';
  /** TLS/DTLS/QUIC server name. */
  sni?: string;
  alpn?: string[];
  /** DNS query name. */
  dnsName?: string;
  /** HTTP Host. */
  host?: string;
  /** TLS ≤ 1.2 server certificate subject. */
  cert?: CertNames;
  /** Payload packet index the name came from (a certificate read across segments: the one that completed it). */
  packet: number;
  /** A certificate read across server segments: the payload packet its handshake bytes began in. */
  from?: number;
  /** Offset of the name in that packet's payload, where it is in clear (TLS/DTLS SNI, DNS name). */
  offset?: number;
  /** TLS/DTLS/QUIC: the whole ClientHello was received and every length is consistent. */
  complete?: boolean;
}

/** Client packets a ClientHello may span (spec budget: the first 8 client data segments). */
const MAX_HELLO_SEGMENTS = 8;

/**
 * True when client packet i continues a TLS ClientHello that started in an earlier client packet and was not
 * complete there (reads only the first 9 bytes of that earlier packet, which the flow table keeps).
 */
function continuesClientHello(f: FlowView, i: number): boolean {
  let sum = 0;
  let seen = 0;
  for (let j = i - 1; j >= 0 && seen < MAX_HELLO_SEGMENTS; j--) {
    if (f.dir(j) !== 0) return false; // the server spoke: the hello is over
    seen++;
    sum += f.len(j);
    if (u8(f, j, 0) === 0x16 && u8(f, j, 1) === 0x03 && u8(f, j, 5) === 0x01) {
      const hl = u24be(f, j, 6);
      return hl > 0 && sum < 9 + hl;
    }
  }
  return false;
}

/**
 * The DCID of the client's first Initial (packet 0), whose bytes the flow table keeps: a later client Initial
 * is protected with keys from it (RFC 9001 §5.2). Undefined when packet 0 is not a client long-header packet.
 */
function firstInitialDcid(f: FlowView): Uint8Array | undefined {
  if (f.dir(0) !== 0 || (u8(f, 0, 0) & 0xc0) !== 0xc0) return undefined;
  const dl = u8(f, 0, 5);
  if (dl < 0 || dl > 20 || f.avail(0) < 6 + dl) return undefined;
  return f.buf(0).slice(f.start(0) + 6, f.start(0) + 6 + dl);
}

/**
 * Names in the newest payload packet of `f`, or null. `slot`: the flow's certificate stream state, kept by the
 * caller between packets; without it a certificate is read from one segment only.
 */
export function flowNames(f: FlowView, slot: CertSlot | null = null): FlowNames | null {
  const i = f.nPackets - 1;
  if (i < 0) return null;
  if (slot !== null && slot.certStream !== null) {
    const from = slot.certStream.first;
    const cert = continueCertStream(slot, f, i);
    if (cert !== null) return { kind: 'cert', cert, packet: i, from };
    // Still joining: this segment continues the server's flight and holds no other name.
    if (slot.certStream !== null) return null;
  }
  const b = f.buf(i), s = f.start(i), e = s + f.avail(i);
  if (e - s < 4) {
    // A server segment of 1–3 bytes may still begin the handshake stream (a record header split early).
    if (slot !== null && !slot.certTried && e > s && b[s] === 0x16 && f.transport === IPPROTO_TCP && f.dir(i) === 1) startCertStream(slot, f, i);
    return null;
  }
  const first = b[s]!;
  if (f.transport === IPPROTO_TCP) {
    if (first === 0x16) {
      if (f.dir(i) === 0) {
        const ch = parseClientHello(b, s, e);
        if (ch && (ch.sni || ch.alpn.length)) {
          const out: FlowNames = { kind: 'tls', packet: i, alpn: ch.alpn, complete: ch.complete };
          if (ch.sni) out.sni = ch.sni;
          if (ch.sniOffset >= 0) out.offset = ch.sniOffset - s;
          return out;
        }
        if (ch) return null;
      }
      if (f.dir(i) === 0 && i > 0 && continuesClientHello(f, i)) return continuationSni(b, s, e, i);
      if (f.dir(i) === 0) return null;
      const cert = parseServerCertificate(b, s, e);
      if (slot !== null && !slot.certTried) startCertStream(slot, f, i);
      return cert ? { kind: 'cert', cert, packet: i } : null;
    }
    if (f.dir(i) === 0 && i > 0 && continuesClientHello(f, i)) return continuationSni(b, s, e, i);
    if (f.dir(i) === 0 && first >= 0x41 && first <= 0x5a) {
      const r = parseHttpRequest(b, s, e);
      if (r?.host) return { kind: 'http', host: r.host, packet: i };
    }
    if (isDnsPort(f.dstPort) || isDnsPort(f.srcPort)) return dnsName(f, i, b, s, e, true);
    return null;
  }
  if (f.transport !== IPPROTO_UDP) return null;
  if (first === 0x16) {
    const d = parseDtlsClientHello(b, s, e - s, f.len(i));
    if (d && (d.sni || d.alpn.length)) {
      const out: FlowNames = { kind: 'dtls', packet: i, alpn: d.alpn, complete: d.complete };
      if (d.sni) out.sni = d.sni;
      if (d.sniOffset >= 0) out.offset = d.sniOffset - s;
      return out;
    }
  } else if (first >= 0xc0 && f.dir(i) === 0 && looksLikeInitial(b, s, e - s)) {
    const q = parseQuicInitial(b, s, e - s, i > 0 ? firstInitialDcid(f) : undefined);
    const h = q?.hello;
    if (h && (h.sni || h.alpn.length)) {
      const out: FlowNames = { kind: 'quic', packet: i, alpn: h.alpn, complete: h.complete };
      if (h.sni) out.sni = h.sni;
      else if (q!.laterSni) out.sni = q!.laterSni;
      return out;
    }
    if (q?.laterSni) return { kind: 'quic', packet: i, sni: q.laterSni, complete: false };
  }
  if (f.dir(i) === 0 && e - s >= 40 && (first === 0xc3 || (first & 0x89) === 0x09)) {
    const g = parseGquicChlo(b, s, e - s);
    if (g?.sni) return { kind: 'quic', sni: g.sni, packet: i, offset: g.sniOffset - s, complete: true };
  }
  if (isDnsPort(f.dstPort) || isDnsPort(f.srcPort)) return dnsName(f, i, b, s, e, false);
  return null;
}

/**
 * The name a DNS message in packet i asks for. A response from the flow's responder repeats the question the
 * initiator's query already gave (a packet earlier): it names nothing new, and evidence citing it as "query name"
 * would point at the wrong packet. A response is used only when the capture began with it.
 */
function dnsName(f: FlowView, i: number, b: Uint8Array, s: number, e: number, tcp: boolean): FlowNames | null {
  const flags = s + (tcp ? 4 : 2); // the QR bit: top bit of the flags' first byte (after TCP's length prefix)
  if (f.dir(i) === 1 && flags < e && (b[flags]! & 0x80) !== 0) return null;
  const q = parseDnsQuery(b, s, e, tcp);
  return q ? { kind: 'dns', dnsName: q.name, packet: i, offset: q.offset } : null;
}

function continuationSni(b: Uint8Array, s: number, e: number, i: number): FlowNames | null {
  const r = findSniExtension(b, s, e - s);
  return r ? { kind: 'tls', sni: r.sni, packet: i, offset: r.offset, complete: false } : null;
}

/**
 * The main name of `n` (SNI, HTTP Host, certificate CN — else its first SAN dNSName —, DNS name): the one that
 * identifies it. A certificate has more names for a list to match; see {@link matchListedName}.
 */
export function listedName(n: FlowNames): string | null {
  return n.sni ?? n.host ?? n.cert?.cn ?? n.cert?.san?.[0] ?? n.dnsName ?? null;
}

/** A domain list as the name matcher sees it (DomainSet). */
export interface NameList<V> {
  match(name: string): { suffix: string; value: V } | undefined;
}

/** A name of a flow that a domain list matched: which name, which of the flow's names it was, which entry. */
export interface ListedNameHit<V> {
  suffix: string;
  value: V;
  /** The name that matched. */
  name: string;
  /** -1: the flow's main name (listedName; a certificate's subject CN); k ≥ 0: the certificate's SAN dNSName k. */
  field: number;
}

/**
 * The first of `n`'s names that `list` matches, or null: the main name, then a certificate's SAN dNSNames in
 * certificate order. A SAN name counts exactly as the CN does (same rule, strength and kind): both are the names a
 * TLS ≤ 1.2 server presents for itself. A wildcard entry `*.example.org` is matched as written: its `*` label stands
 * for one unknown label (RFC 6125 §6.4.3), so it matches list entries `example.org` and `*.example.org` (every
 * host it can serve is below them) and never an entry below it such as `vpn.example.org` (it may serve
 * `www.example.org` just as well; reference §"Matching pitfalls": a wildcard names the operator, not the host).
 * Allocates only for a hit.
 */
export function matchListedName<V>(n: FlowNames, list: NameList<V>): ListedNameHit<V> | null {
  const main = n.cert !== undefined ? n.cert.cn : listedName(n);
  if (main !== null) {
    const m = list.match(main);
    if (m !== undefined) return { suffix: m.suffix, value: m.value, name: main, field: -1 };
  }
  const san = n.cert?.san;
  if (san !== undefined) {
    for (let k = 0; k < san.length; k++) {
      const m = list.match(san[k]!);
      if (m !== undefined) return { suffix: m.suffix, value: m.value, name: san[k]!, field: k };
    }
  }
  return null;
}

const RULES: Record<FlowNames['kind'], string> = {
  tls: 'sni.list',
  dtls: 'dtls-sni.list',
  quic: 'quic-sni.list',
  http: 'http-host.list',
  cert: 'cert.list',
  dns: 'dns.list',
};

const WHAT: Record<FlowNames['kind'], string> = {
  tls: 'TLS ClientHello SNI',
  dtls: 'DTLS ClientHello SNI',
  quic: 'QUIC Initial (decrypted) ClientHello SNI',
  http: 'HTTP Host',
  cert: 'TLS certificate subject CN',
  dns: 'DNS query name',
};

/**
 * Evidence for a name on the VPN-provider/operator domain list (source `vpn-domains`, protocol
 * `vpn-provider`, kind `name`). SNI, Host and certificate names are medium ("a flow to provider X's
 * service"); a DNS lookup is weak: resolving a provider's name is not itself a tunnel, so the combiner must
 * never label the DNS flow a VPN from it.
 */
export function nameEvidence(n: FlowNames, m: { suffix: string; value: string; name?: string; field?: number }, listName: string): Evidence {
  const name = m.name ?? listedName(n) ?? '';
  const dns = n.kind === 'dns';
  // A caller that gives no field matched listedName(n): for a certificate without a CN, that is its first SAN entry.
  const field = m.field ?? (n.cert !== undefined && n.cert.cn === null && n.cert.san.length > 0 ? 0 : -1);
  const what = field >= 0 && n.cert !== undefined ? `TLS certificate subjectAltName dNSName ${field + 1} of ${n.cert.san.length}` : WHAT[n.kind];
  const where = n.from !== undefined && n.from !== n.packet ? `packets ${n.from}-${n.packet}` : `packet ${n.packet}`;
  const ev: Evidence = {
    source: 'vpn-domains',
    kind: 'name',
    protocol: 'vpn-provider',
    strength: dns ? 'weak' : 'medium',
    rule: RULES[n.kind],
    reason:
      `${where}: ${what} ${name} matched list entry '${m.suffix}' (${m.value || 'no provider named'}) of ${listName}` +
      (dns ? '; weak: a lookup of a provider name is not itself VPN traffic' : ''),
    packet: n.packet,
    ...(n.offset !== undefined ? { offset: n.offset } : {}),
  };
  return ev;
}
