/**
 * Cross-flow relations ("companion flows"): evidence a flow earns from another flow of the same hosts. Six
 * documented cases:
 *
 * - tinc (reference part 1): a UDP flow between the same two hosts and on the same port number as a tinc meta
 *   connection identified with strong evidence is tinc's data channel — legacy tinc UDP is encrypted from the
 *   first byte, so this relation is the only observable.
 * - SSL-VPN DTLS data channel (part 3, "Companion DTLS"): a UDP flow whose first datagram is a complete DTLS
 *   ClientHello without use_srtp and with no STUN on the flow, from the client of a TLS flow to the same server
 *   IP and the TLS flow's port (or 443, AnyConnect's default X-DTLS-Port), starting within the window (10 s)
 *   after the TLS flow started or while it is still open. Both flows are labelled.
 * - GlobalProtect ESP data channel (part 3, "Companion ESP, GlobalProtect"): UDP to port 4501 of a server the
 *   client has a TLS flow with, ESP-shaped (constant SPI ≥ 256, sequence numbers +1, ≥ 3 packets one way).
 * - Ivanti (Pulse) ESP data channel (part 3, "Companion ESP without IKE"): ESP-in-UDP on 4500 next to a TLS flow
 *   of the same hosts, with no IKE message between them (on UDP 500 or behind the non-ESP marker).
 * - IKE's NAT-T float (part 2 §2, RFC 7296 §2.23, RFC 3947): an IKE message behind the non-ESP marker on UDP 4500
 *   whose 64-bit initiator SPI is the one an IKE exchange used on UDP 500 between the same two hosts, with a
 *   non-zero responder SPI (equal to the 500 reply's when that reply was recorded) — the IKE SA moved to 4500
 *   because NAT detection found a NAT (`ike.natt-float`). It makes a 4500 message that alone is only medium (an
 *   IKEv1 encrypted message, a snaplen-cut one) part of an identified IKE SA: the reference rates it strong.
 * - SSL-VPN side connections (`sslvpn.side-connection`): once a client's server:port is identified as an SSL-VPN
 *   gateway by strong evidence (the CSTP tunnel request, a DTLS/ESP data channel tied to it, an SSTP/IF-T/
 *   GlobalProtect tunnel framing…), another TLS connection from that client to that server:port — a probe, an
 *   authentication exchange, a reconnect — carries no tunnel bytes of its own but is that VPN's: it is tied when
 *   it was alive between the gateway connection's start and `sideWindowUs` (default 300 s) after the
 *   identification. State: one entry per client→server:port, bounded like the rest (oldest dropped).
 *
 * Strengths: every relation here is a strong `relation` item (the reference rates each strong); the combiner lets a
 * relation decide alone at 0.80 and corroborate a strong structural item to 0.99. The random-byte bounds of the
 * NAT-T float and of the side-connection opening are argued and swept in test/classify/relations-random.property.test.ts.
 *
 * A lone TLS flow is never labelled from port, size or duration; it is labelled only when its data channel was
 * found, or when it is a side connection of a gateway strong evidence identified. The index is bounded (oldest entries dropped first) and keyed by short strings built only when a flow
 * is finalised or ends, never per packet. Limitation: a TLS flow that has already ended (and been emitted) when
 * its data channel is identified keeps its label; the data channel still gets its own.
 */
import type { Evidence, FlowView } from '../detect/types.js';
import { IPPROTO_TCP, IPPROTO_UDP, u8, u32be } from '../detect/types.js';
import { ESP_STRONG_RUN } from '../detect/esp.js';
import { formatIPv4, formatIPv6 } from '../ip/format.js';
import { formatEndpoint } from '../trace/flow-format.js';
import type { FlowAddresses } from './engine.js';
import { IKE_PORT, NATT_PORT } from '../detect/ike.js';
import { GLOBALPROTECT_ESP_PORT, TRAIT_DTLS_HELLO, TRAIT_ESP, TRAIT_IKE_MARKER, TRAIT_STUN, TRAIT_TLS_HELLO } from './traits.js';

/** Source id of companion evidence (decides alone: it ties a flow to an identified one). */
export const COMPANION_SOURCE = 'companion';

/** AnyConnect/OpenConnect's default DTLS port (X-DTLS-Port). */
const DEFAULT_DTLS_PORT = 443;
/** Default companion window after the TLS flow's start (reference: 10 s, configurable). */
export const DEFAULT_COMPANION_WINDOW_US = 10_000_000;
/** TLS flows remembered per client→server pair (newest kept). */
const TLS_PER_PAIR = 8;

interface Meta {
  protocol: string;
  rule: string;
  desc: string;
}

/** A TLS flow the index remembers (the session keeps a reference per flow slot, so no lookup is needed later). */
export interface TlsFlow {
  clientPort: number;
  serverPort: number;
  startUs: number;
  /** Last packet time once the flow ended; Infinity while it is open. */
  endUs: number;
  /** Set when a data channel was tied to this flow: the evidence the TLS flow itself then carries. */
  vouch: Evidence | null;
  /** The gateway entry this flow's tie created (its protocol follows the data channel's, see settleTie). */
  gateway?: Gateway;
}

export interface CompanionFlow extends FlowAddresses {
  readonly transport: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly firstSeenUs: number;
  readonly lastSeenUs: number;
  srcText(): string;
  dstText(): string;
}

function addrText(f: FlowAddresses, side: 0 | 1): string {
  if (f.ipVersion === 4) return formatIPv4(side === 0 ? f.src4 : f.dst4);
  return formatIPv6(f.addrBytes(), side === 0 ? f.src6Off() : f.dst6Off());
}

function hostKey(f: FlowAddresses): string {
  if (f.ipVersion === 4) {
    const a = f.src4, b = f.dst4;
    return a < b ? `${a}-${b}` : `${b}-${a}`;
  }
  const x = addrText(f, 0), y = addrText(f, 1);
  return x < y ? `${x}-${y}` : `${y}-${x}`;
}

/** Directional key: initiator (client) → responder (server). */
function pairKey(f: FlowAddresses): string {
  return f.ipVersion === 4 ? `${f.src4}>${f.dst4}` : `${addrText(f, 0)}>${addrText(f, 1)}`;
}

/** The TLS flow `c` ran between the same two hosts as `f`: its endpoints are `f`'s addresses with its own ports. */
function tlsDesc(f: CompanionFlow, c: TlsFlow): string {
  return `${formatEndpoint(f.ipVersion, f.src4, f.addrBytes(), f.src6Off(), c.clientPort, true)} → ${formatEndpoint(f.ipVersion, f.dst4, f.addrBytes(), f.dst6Off(), c.serverPort, true)}`;
}

/** Drop the oldest key of a Map or Set once it holds `max` entries (both iterate in insertion order). */
function bound<K>(m: Map<K, unknown> | Set<K>, max: number): void {
  if (m.size >= max) m.delete(m.keys().next().value!);
}

/** Protocols whose strongly identified TCP control flow vouches for UDP flows of the same hosts and port. */
const META_PROTOCOLS: ReadonlySet<string> = new Set(['tinc']);
/** SSL-VPN protocols: a TCP flow identified by a strong item of one of them makes its server:port a gateway. */
const SSL_VPN_PROTOCOLS: ReadonlySet<string> = new Set(['anyconnect', 'openconnect', 'ssl-vpn', 'globalprotect', 'pulse', 'forticlient', 'sstp']);
/** Default window after a gateway's identification in which another TLS connection to it is a side connection. */
export const DEFAULT_SIDE_WINDOW_US = 300_000_000;
const IKE_HDR = 28;
const MARKER = 4;

/** An identified SSL-VPN gateway for one client (a server:port). */
interface Gateway {
  protocol: string;
  rule: string;
  /** The connection that identified it (text) and its start; when it was identified. */
  desc: string;
  startUs: number;
  atUs: number;
}

/** IKE SPIs in hex: the initiator's (16 hex digits) and the responder's ('' when zero / not seen). */
export interface IkeSpis {
  initiator: string;
  responder: string;
}

function hex(b: Uint8Array, o: number, n: number): string {
  let t = '';
  for (let k = 0; k < n; k++) t += b[o + k]!.toString(16).padStart(2, '0');
  return t;
}

/**
 * IKE messages among a UDP flow's recorded packets (their first bytes): a header at offset `h` (0 on port 500, 4
 * behind the zero non-ESP marker on 4500) with version 0x10/0x20 and a length equal to the datagram's (minus `h`).
 * Read from the snippets before they are freed; returns at most 4 SPI pairs.
 */
export function ikeSpisOf(f: FlowView, h: number): IkeSpis[] {
  const out: IkeSpis[] = [];
  for (let i = 0; i < f.nPackets && out.length < 4; i++) {
    if (f.avail(i) < h + IKE_HDR || f.len(i) < h + IKE_HDR) continue;
    if (h === MARKER && u32be(f, i, 0) !== 0) continue;
    const v = u8(f, i, h + 17);
    if ((v !== 0x10 && v !== 0x20) || u32be(f, i, h + 24) !== f.len(i) - h) continue;
    const b = f.buf(i), o = f.start(i) + h;
    const initiator = hex(b, o, 8);
    if (initiator === '0000000000000000') continue;
    const r = hex(b, o + 8, 8);
    out.push({ initiator, responder: r === '0000000000000000' ? '' : r });
  }
  return out;
}

export class CompanionIndex {
  private readonly metas = new Map<string, Meta>();
  /** Host pairs (unordered) that exchanged an IKE message: their ESP-in-UDP is IPsec, not an SSL VPN's. */
  private readonly ikePairs = new Set<string>();
  private readonly tls = new Map<string, TlsFlow[]>();
  private tlsEntries = 0;
  /** IKE exchanges seen on UDP 500, by host pair and initiator SPI: the responder SPI ('' when not recorded). */
  private readonly ikeSas = new Map<string, { responder: string; desc: string }>();
  /** Identified SSL-VPN gateways: client>server|port → gateway. */
  private readonly gateways = new Map<string, Gateway>();
  /** The TLS flow the last `evidenceFor` call tied a data channel to (for {@link settleTie}). */
  private lastTie: TlsFlow | null = null;

  /** Ports where ESP-in-UDP with no IKE next to a TLS flow is an SSL VPN's data channel (default {4500}). */
  private readonly sslVpnEspPorts: ReadonlySet<number>;

  constructor(
    private readonly max = 65536,
    private readonly windowUs = DEFAULT_COMPANION_WINDOW_US,
    sslVpnEspPorts: readonly number[] = [NATT_PORT],
    private readonly sideWindowUs = DEFAULT_SIDE_WINDOW_US,
  ) {
    this.sslVpnEspPorts = new Set(sslVpnEspPorts);
  }

  /** Remembered meta connections, TLS flows, IKE exchanges on 500 and gateways (each bounded by `max`). */
  get size(): number {
    return this.metas.size + this.tlsEntries + this.ikeSas.size + this.gateways.size;
  }

  /**
   * A UDP flow on port 500 carried IKE (its verdict is IPsec): remember the SPIs of its recorded messages, for the
   * NAT-T float of the same exchange to port 4500.
   */
  noteIkeSpis(f: CompanionFlow, spis: readonly IkeSpis[]): void {
    if (f.transport !== IPPROTO_UDP || (f.srcPort !== IKE_PORT && f.dstPort !== IKE_PORT)) return;
    const hk = hostKey(f);
    for (const s of spis) {
      const key = `${hk}|${s.initiator}`;
      const old = this.ikeSas.get(key);
      if (old) {
        if (old.responder === '' && s.responder !== '') old.responder = s.responder;
        continue;
      }
      bound(this.ikeSas, this.max);
      this.ikeSas.set(key, { responder: s.responder, desc: `${f.srcText()} → ${f.dstText()}` });
    }
  }

  /**
   * `ike.natt-float` for a UDP flow on port 4500 whose recorded IKE messages (behind the non-ESP marker) are `spis`,
   * or null.
   */
  floatEvidence(f: CompanionFlow, spis: readonly IkeSpis[] | undefined): Evidence | null {
    if (spis === undefined || this.ikeSas.size === 0 || f.transport !== IPPROTO_UDP) return null;
    if (f.srcPort !== NATT_PORT && f.dstPort !== NATT_PORT) return null;
    const hk = hostKey(f);
    for (const s of spis) {
      if (s.responder === '') continue; // a float continues an SA: both SPIs are set
      const sa = this.ikeSas.get(`${hk}|${s.initiator}`);
      if (!sa || (sa.responder !== '' && sa.responder !== s.responder)) continue;
      return {
        source: COMPANION_SOURCE,
        kind: 'relation',
        protocol: 'ipsec',
        strength: 'strong',
        rule: 'ike.natt-float',
        reason:
          `IKE message behind the non-ESP marker on UDP ${NATT_PORT} with initiator SPI ${s.initiator} and responder SPI ${s.responder}: ` +
          `the IKE SA of the exchange on UDP ${IKE_PORT} between the same hosts (${sa.desc}${sa.responder ? `, responder SPI ${sa.responder}` : ', initiator SPI'}) moved to ${NATT_PORT} after NAT detection (NAT-T float, RFC 7296 §2.23)`,
      };
    }
    return null;
  }

  /** A client's server:port identified as an SSL-VPN gateway (by `rule`, through the connection `desc`). */
  private noteGateway(client: string, port: number, protocol: string, rule: string, desc: string, startUs: number, atUs: number): Gateway {
    const key = `${client}|${port}`;
    const old = this.gateways.get(key);
    if (old) {
      // Keep the first identification's connection; the window runs from the latest one.
      if (atUs > old.atUs) old.atUs = atUs;
      return old;
    }
    bound(this.gateways, this.max);
    const g: Gateway = { protocol, rule, desc, startUs, atUs };
    this.gateways.set(key, g);
    return g;
  }

  /**
   * `sslvpn.side-connection` for a TCP flow that opened with a TLS ClientHello (`traits`), or null: its client's
   * server:port is an identified gateway and the flow was alive between the gateway connection's start and the
   * side window after the identification. The identifying connection itself is not its own side connection.
   */
  private sideConnection(f: CompanionFlow): Evidence | null {
    if (this.gateways.size === 0) return null;
    const g = this.gateways.get(`${pairKey(f)}|${f.dstPort}`);
    if (!g) return null;
    if (f.lastSeenUs < g.startUs || f.firstSeenUs > g.atUs + this.sideWindowUs) return null;
    const self = `${f.srcText()} → ${f.dstText()}`;
    if (self === g.desc) return null;
    const when = f.firstSeenUs >= g.atUs ? `${((f.firstSeenUs - g.atUs) / 1e6).toFixed(1)} s after it was identified` : 'while the gateway connection was being set up';
    return {
      source: COMPANION_SOURCE,
      kind: 'relation',
      protocol: g.protocol,
      strength: 'strong',
      rule: 'sslvpn.side-connection',
      reason: `TLS connection from the same client to ${f.dstText()}, identified as an SSL-VPN gateway by ${g.rule} on ${g.desc}, ${when}: a side connection of that VPN (probe, authentication, reconnect)`,
    };
  }

  /**
   * Record a TCP flow whose first payload packet is a TLS ClientHello, as soon as it is seen (its data channel
   * may start, and be decided, before the TLS flow's own verdict).
   */
  noteTlsStart(f: CompanionFlow): TlsFlow {
    // Bounded by entries, not keys: drop the oldest pairs' lists until there is room for one more entry.
    while (this.tlsEntries >= this.max && this.tls.size > 0) {
      const [k, l] = this.tls.entries().next().value!;
      this.tlsEntries -= l.length;
      this.tls.delete(k);
    }
    const key = pairKey(f);
    let list = this.tls.get(key);
    if (!list) this.tls.set(key, (list = []));
    if (list.length >= TLS_PER_PAIR) {
      list.shift();
      this.tlsEntries--;
    }
    const e: TlsFlow = { clientPort: f.srcPort, serverPort: f.dstPort, startUs: f.firstSeenUs, endUs: Infinity, vouch: null };
    list.push(e);
    this.tlsEntries++;
    return e;
  }

  /**
   * Record a finalised flow that may vouch for companions: a strong TCP meta connection (tinc), or a TCP flow an
   * SSL-VPN protocol's strong item identified (its server:port becomes a gateway for its client).
   */
  noteVerdict(f: CompanionFlow, protocol: string | null, evidence: readonly Evidence[]): void {
    if (f.transport !== IPPROTO_TCP || protocol === null) return;
    if (SSL_VPN_PROTOCOLS.has(protocol)) {
      const strong = evidence.find((e) => e.strength === 'strong' && e.protocol === protocol && e.rule !== 'sslvpn.side-connection');
      if (strong) this.noteGateway(pairKey(f), f.dstPort, protocol, strong.rule, `${f.srcText()} → ${f.dstText()}`, f.firstSeenUs, f.lastSeenUs);
      return;
    }
    if (!META_PROTOCOLS.has(protocol)) return;
    const strong = evidence.find((e) => e.strength === 'strong' && e.protocol === protocol);
    if (!strong) return;
    const key = `${hostKey(f)}|${f.dstPort}`;
    if (this.metas.has(key)) this.metas.delete(key);
    else bound(this.metas, this.max);
    this.metas.set(key, { protocol, rule: strong.rule, desc: `${f.srcText()} → ${f.dstText()}` });
  }

  /** A flow carried an IKE message (ike.message / ike.reply / ike.header): its hosts run IKE-keyed IPsec. */
  noteIke(f: CompanionFlow): void {
    const k = hostKey(f);
    if (this.ikePairs.has(k)) return;
    bound(this.ikePairs, this.max);
    this.ikePairs.add(k);
  }

  /**
   * A TLS flow noted earlier has ended (closed, or gone from the table): later companions must start within the
   * window after its start. The first end noted stands (a closed connection's trailing packets do not reopen it).
   */
  noteEnd(e: TlsFlow, lastSeenUs: number): void {
    if (e.endUs === Infinity) e.endUs = lastSeenUs;
  }

  /**
   * Companion evidence for a flow, or null: for a TCP flow opening with TLS, a side connection of an identified
   * SSL-VPN gateway; for a UDP flow, the tinc data channel, SSL-VPN DTLS data channel, GlobalProtect or Pulse ESP
   * (finding one sets `vouch` on its TLS control flow's entry, the evidence that flow then carries) or the NAT-T
   * float of an IKE SA (`spis`: the flow's IKE messages behind the non-ESP marker).
   */
  evidenceFor(f: CompanionFlow, traits = 0, spis?: readonly IkeSpis[], selfStrong = false): Evidence | null {
    this.lastTie = null;
    if (f.transport === IPPROTO_TCP) return (traits & TRAIT_TLS_HELLO) !== 0 ? this.sideConnection(f) : null;
    if (f.transport !== IPPROTO_UDP) return null;
    if ((traits & TRAIT_IKE_MARKER) !== 0) {
      const e = this.floatEvidence(f, spis);
      if (e) return e;
    }
    if ((traits & (TRAIT_DTLS_HELLO | TRAIT_ESP)) !== 0 && this.tls.size > 0) {
      const e = this.dataChannel(f, traits, selfStrong);
      if (e) return e;
    }
    if (this.metas.size === 0) return null;
    const hk = hostKey(f);
    for (const port of f.srcPort === f.dstPort ? [f.srcPort] : [f.srcPort, f.dstPort]) {
      const m = this.metas.get(`${hk}|${port}`);
      if (m) {
        return {
          source: COMPANION_SOURCE,
          kind: 'relation',
          protocol: m.protocol,
          strength: 'medium',
          rule: `${m.protocol}.companion`,
          reason: `UDP flow between the same two hosts on port ${port}, the port of the ${m.protocol} meta connection ${m.desc} (identified by ${m.rule})`,
        };
      }
    }
    return null;
  }

  /**
   * Called with the verdict protocol of the flow last passed to `evidenceFor`: when the data channel itself was
   * identified more precisely (e.g. AnyConnect's legacy DTLS), its TLS control flow carries that name too.
   */
  settleTie(protocol: string | null): void {
    const c = this.lastTie;
    this.lastTie = null;
    if (c === null || c.vouch === null || protocol === null || protocol === c.vouch.protocol) return;
    c.vouch = { ...c.vouch, protocol };
    if (c.gateway && c.gateway.rule === c.vouch.rule) c.gateway.protocol = protocol;
  }

  /**
   * Tie a data channel to TLS flow `c`: the TLS flow keeps the first vouch it gets (`vouchReason`); the data
   * channel gets an item with `reason`. Both are strong relations of `protocol`.
   */
  private tie(f: CompanionFlow, c: TlsFlow, protocol: string, rule: string, vouchReason: string, reason: string): Evidence {
    this.lastTie = c;
    c.vouch ??= { source: COMPANION_SOURCE, kind: 'relation', protocol, strength: 'strong', rule, reason: vouchReason };
    // The control flow's server:port is now an identified gateway for this client (its side connections follow).
    c.gateway ??= this.noteGateway(pairKey(f), c.serverPort, c.vouch.protocol, rule, tlsDesc(f, c), c.startUs, f.firstSeenUs);
    return { source: COMPANION_SOURCE, kind: 'relation', protocol, strength: 'strong', rule, reason };
  }

  /**
   * `selfStrong`: the flow has strong evidence of its own (AnyConnect's legacy DTLS framing). Its DTLS port then need
   * not be the TLS port or 443: the server names it in X-DTLS-Port, inside TLS, so it can be any port, and the
   * port check only guards against tying somebody else's DTLS (WebRTC without use_srtp) to a TLS flow.
   */
  private dataChannel(f: CompanionFlow, traits: number, selfStrong: boolean): Evidence | null {
    const list = this.tls.get(pairKey(f));
    if (!list) return null;
    const t = f.firstSeenUs;
    const dtls = (traits & TRAIT_DTLS_HELLO) !== 0 && (traits & TRAIT_STUN) === 0;
    const esp = (traits & TRAIT_ESP) !== 0 && f.dstPort === GLOBALPROTECT_ESP_PORT;
    // Ivanti (Pulse) pattern: ESP-in-UDP on 4500 keyed through the TLS session, so no IKE anywhere between the pair.
    const noIkeEsp = (traits & TRAIT_ESP) !== 0 && (traits & TRAIT_IKE_MARKER) === 0 && this.sslVpnEspPorts.has(f.dstPort) && !this.ikePairs.has(hostKey(f));
    // Newest TLS flow first: the control connection that set up this data channel is the latest one.
    for (let i = list.length - 1; i >= 0; i--) {
      const c = list[i]!;
      const inTime = t >= c.startUs && (t <= c.startUs + this.windowUs || t <= c.endUs);
      if (!inTime) continue;
      const when = t <= c.startUs + this.windowUs ? `${((t - c.startUs) / 1e6).toFixed(1)} s after it started` : 'while it was open';
      if (dtls && (f.dstPort === c.serverPort || f.dstPort === DEFAULT_DTLS_PORT || selfStrong)) {
        const port = f.dstPort === c.serverPort ? 'the same port' : f.dstPort === DEFAULT_DTLS_PORT ? `port ${DEFAULT_DTLS_PORT} (default DTLS port)` : `port ${f.dstPort} (a DTLS port of the server's choice; the datagram's own framing is strong evidence)`;
        return this.tie(f, c, 'ssl-vpn', 'sslvpn.companion-dtls',
          `TLS control flow of the SSL-VPN DTLS data channel ${f.srcText()} → ${f.dstText()} (DTLS ClientHello without use_srtp, no STUN, ${when})`,
          `first datagram is a DTLS ClientHello without use_srtp (no STUN on the flow), to ${port} of the server of TLS flow ${tlsDesc(f, c)}, ${when}`);
      }
      if (esp) {
        return this.tie(f, c, 'globalprotect', 'globalprotect.companion-esp',
          `TLS control flow of the GlobalProtect ESP data channel ${f.srcText()} → ${f.dstText()} (UDP ${GLOBALPROTECT_ESP_PORT}, ${when})`,
          `ESP-in-UDP on port ${GLOBALPROTECT_ESP_PORT} (≥ ${ESP_STRONG_RUN} packets one way, constant SPI ≥ 256, sequence +1) to the server of TLS flow ${tlsDesc(f, c)}, ${when}`);
      }
      if (noIkeEsp) {
        return this.tie(f, c, 'pulse', 'pulse.companion-esp',
          `TLS control flow of the ESP data channel ${f.srcText()} → ${f.dstText()} (UDP ${f.dstPort}, no IKE between the hosts, ${when})`,
          `ESP-in-UDP on port ${f.dstPort} (≥ ${ESP_STRONG_RUN} packets one way, constant SPI ≥ 256, sequence +1) with no IKE message between the hosts, next to TLS flow ${tlsDesc(f, c)}, ${when}: an SSL VPN keying ESP inside TLS (Ivanti/Pulse pattern)`);
      }
    }
    return null;
  }
}
