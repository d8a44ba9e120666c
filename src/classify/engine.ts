/**
 * The per-flow decision engine shared by one-shot classification, streaming sessions and workers.
 * Pure with respect to I/O: it is handed flows (views + addresses) and a list snapshot, and returns verdicts.
 *
 * Cost model: detectors run only on a flow's first payload packets, only those registered for its transport,
 * and only until the verdict is final; after that a packet costs the flow table's bookkeeping alone.
 */
import type { Detector, Evidence, FlowView } from '../detect/types.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../detect/types.js';
import { flowNames, listedName, matchListedName, nameEvidence, type FlowNames } from '../detect/names/index.js';
import { releaseCertStream, type CertSlot, type CertStream, type CertStreams } from '../detect/names/cert-stream.js';
import type { CidrMap } from '../trie/cidr-map.js';
import { writtenEntryAt } from '../lists/entry-names.js';
import { formatIPv4, formatIPv6 } from '../ip/format.js';
import { combine, DNS_BINDING_RULE, REGISTRATION_SOURCE } from './combine.js';
import type { BoundName } from './dns-bindings.js';
import { helloTrait, tlsEncryptedAt, TRAIT_DTLS_HELLO, TRAIT_QUIC, TRAIT_QUIC_HELLO_DONE, TRAIT_TLS_BOTH, TRAIT_TLS_HELLO, TRAIT_TLS_SERVER } from './traits.js';
import type { ListSnapshot } from './lists.js';
import { CARRIER_CODE, OPEN_DNS, OPEN_DTLS, OPEN_NONE, OPEN_QUIC, OPENINGS, tcpOpening } from '../detect/opening.js';
import type { Verdict } from './types.js';

/** Addresses of a flow: what the lists are matched against. */
export interface FlowAddresses {
  readonly ipVersion: 4 | 6;
  readonly src4: number;
  readonly dst4: number;
  addrBytes(): Uint8Array;
  src6Off(): number;
  dst6Off(): number;
}

/** Names (SNI, DNS) are looked for in this many first payload packets. */
export const NAME_PACKETS = 4;
/** At most this many evidence items are kept per flow (bounded memory under hostile input). */
export const MAX_EVIDENCE = 16;

/** Detectors indexed by IP protocol number and flow opening, with the packet budget of each such set. */
export class DetectorTable {
  /** Per transport: the largest packet budget of any of its detectors (and of the name parsers). */
  readonly maxPackets: Uint8Array = new Uint8Array(256);
  /** [transport * OPENINGS + opening]: the detectors that ride that opening, and their packet budget. */
  private readonly byOpening: (readonly Detector[])[] = [];
  private readonly budget: Uint8Array = new Uint8Array(256 * OPENINGS);
  readonly all: readonly Detector[];
  constructor(detectors: readonly Detector[]) {
    this.all = detectors;
    for (let k = 0; k < 256 * OPENINGS; k++) this.byOpening.push([]);
    for (const d of detectors) {
      const rides = d.carriers?.map((c) => CARRIER_CODE[c]);
      for (const t of d.transports) {
        const mp = Math.min(255, d.maxPackets);
        this.maxPackets[t] = Math.max(this.maxPackets[t]!, mp);
        for (let o = 0; o < OPENINGS; o++) {
          if (o !== OPEN_NONE && rides && !rides.includes(o)) continue;
          (this.byOpening[t * OPENINGS + o] as Detector[]).push(d);
          this.budget[t * OPENINGS + o] = Math.max(this.budget[t * OPENINGS + o]!, mp);
        }
      }
    }
    for (const t of [IPPROTO_TCP, IPPROTO_UDP]) {
      this.maxPackets[t] = Math.max(this.maxPackets[t]!, NAME_PACKETS);
      for (let o = 0; o < OPENINGS; o++) this.budget[t * OPENINGS + o] = Math.max(this.budget[t * OPENINGS + o]!, NAME_PACKETS);
    }
  }
  /** Detectors for a flow of `transport` that opened with `opening` (OPEN_NONE: all of the transport's). */
  detectors(transport: number, opening: number): readonly Detector[] {
    return this.byOpening[transport * OPENINGS + opening]!;
  }
  /** Payload packets after which no detector of that set, and no name parser, can add anything. */
  packetBudget(transport: number, opening: number): number {
    return this.budget[transport * OPENINGS + opening]!;
  }
}

/** Mutable per-flow detection state (one per undecided flow; dropped when the flow ends). */
export class FlowDetection implements CertSlot {
  evidence: Evidence[] = [];
  names: FlowNames[] = [];
  /** Evidence changed since the last combine. */
  dirty = false;
  /** Traits seen in the name packets (TRAIT_* in traits.ts: TLS/DTLS hello, TLS server encrypted, QUIC). */
  traits = 0;
  /** The flow's opening (OPEN_* in detect/opening.ts), set at its first payload packet. */
  opening = OPEN_NONE;
  /**
   * Bit k: detector k of the flow's set (`DetectorTable.detectors(transport, opening)`, k < 31) excluded the flow
   * ({@link Detector.excludes}) and is not called again. Sessions keep it per flow slot between packets, since most
   * flows are inspected with a shared scratch state.
   */
  excluded = 0;
  /** An evidence item or a name was added since the caller last cleared this (it then asks {@link labelIsVpn}). */
  fresh = false;
  /**
   * Set once the label is final before inspection ends (see {@link labelIsVpn}): the list snapshot and DNS binding
   * that verdict used, and the payload packet it was reached at. The end verdict is computed against the same
   * snapshot and binding, so its label and registrant are the early verdict's.
   */
  pinned: ListSnapshot | null = null;
  pinnedBound: BoundName | null = null;
  labelAt = 0;
  /** CertSlot: the session's certificate stream pool (set by inspect), this flow's stream, whether it had one. */
  certStreams: CertStreams | null = null;
  certStream: CertStream | null = null;
  certTried = false;

  reset(): void {
    if (this.certStream !== null) releaseCertStream(this);
    this.certTried = false;
    if (this.evidence.length) this.evidence = [];
    if (this.names.length) this.names = [];
    this.dirty = false;
    this.traits = 0;
    this.opening = OPEN_NONE;
    this.excluded = 0;
    this.fresh = false;
    if (this.pinned !== null) {
      this.pinned = null;
      this.pinnedBound = null;
      this.labelAt = 0;
    }
  }

  /**
   * The same name again (a DNS flow reusing its 5-tuple for a second lookup, a later QUIC Initial repeating the
   * SNI) adds no evidence: only its first packet is cited.
   */
  private hasName(nm: FlowNames): boolean {
    const name = listedName(nm);
    for (const o of this.names) if (o.kind === nm.kind && listedName(o) === name) return true;
    return false;
  }

  /**
   * Record a name. A certificate completed across segments replaces what its first segment gave (the subject of a
   * cut leaf): it holds the same subject plus the SAN, so a label decided on the first can only be confirmed.
   */
  private addName(nm: FlowNames): void {
    if (nm.from !== undefined) {
      for (let k = 0; k < this.names.length; k++) {
        const o = this.names[k]!;
        if (o.kind === 'cert' && o.packet === nm.from) {
          this.names[k] = nm;
          this.fresh = true;
          return;
        }
      }
    }
    if (this.names.length < 4 && !this.hasName(nm)) {
      this.names.push(nm);
      this.fresh = true;
    }
  }

  private add(items: readonly Evidence[]): void {
    outer: for (const e of items) {
      for (const o of this.evidence) {
        if (o.source === e.source && o.rule === e.rule && o.packet === e.packet) continue outer;
      }
      if (this.evidence.length >= MAX_EVIDENCE) return;
      this.evidence.push(e);
      this.dirty = true;
      this.fresh = true;
    }
  }

  /** A strong item: it decides alone. */
  hasStrong(): boolean {
    for (const e of this.evidence) if (e.strength === 'strong') return true;
    return false;
  }

  /** A structural item that is not weak: more packets may turn it into a decision. */
  private pending(): boolean {
    for (const e of this.evidence) if (e.strength !== 'weak') return true;
    return false;
  }

  /**
   * Inspect the newest payload packet of `view`. Returns true when more packets cannot change the label
   * (strong evidence, the transport's packet budget is spent, `recorded` — the flow table's
   * maxPayloadPackets — packets were seen, or PENDING_AFTER packets with no item pending), after which no detector
   * is called again.
   */
  inspect(view: FlowView, table: DetectorTable, recorded = 255, certs: CertStreams | null = null): boolean {
    const n = view.nPackets;
    const t = view.transport;
    if (this.certStream === null) this.certStreams = certs;
    // Names and traits first: on the first packet they tell the flow's opening, which picks the detectors. Past the
    // name packets only a server certificate still being joined across segments is read (cert-stream.ts).
    const namePacket = n <= NAME_PACKETS && (t === IPPROTO_TCP || t === IPPROTO_UDP);
    if (namePacket || this.certStream !== null) {
      if (n === 1) this.traits = helloTrait(view);
      else if (namePacket && (this.traits & TRAIT_TLS_HELLO) !== 0 && view.dir(n - 1) === 1 && tlsEncryptedAt(view, n - 1)) this.traits |= TRAIT_TLS_SERVER;
      // Past the name packets a stream that ended without a leaf does not turn this packet into a name packet.
      const got = flowNames(view, this);
      const nm = got !== null && (namePacket || got.from !== undefined) ? got : null;
      if (nm !== null) {
        this.addName(nm);
        if (nm.kind === 'quic' && nm.packet === 0) this.traits |= nm.complete ? TRAIT_QUIC | TRAIT_QUIC_HELLO_DONE : TRAIT_QUIC;
      }
      if (n === 1) this.opening = openingOf(view, this.traits, nm);
    }
    const dets = table.detectors(t, this.opening);
    // Detectors that may still add an item at a later packet: neither spent nor excluded.
    let live = 0;
    for (let i = 0; i < dets.length; i++) {
      const d = dets[i]!;
      if (n > d.maxPackets) continue;
      const bit = i < 31 ? 1 << i : 0;
      if ((this.excluded & bit) !== 0) continue;
      const r = d.detect(view);
      if (r !== null) this.add(r);
      else if (bit !== 0 && d.excludes !== undefined && d.excludes(view)) {
        this.excluded |= bit;
        continue;
      }
      if (n < d.maxPackets) live++;
    }
    // Final once the detectors' budget is spent, or once the flow table records no further payload packets.
    if (n >= table.packetBudget(t, this.opening) || n >= recorded) return true;
    // Past 8 payload packets only a flow with a medium item waiting for its corroboration is inspected further (an
    // OpenVPN data run seen mid-stream needs 8 packets each way): the others end here, as they did when 8 was all a
    // flow recorded, so ordinary traffic does not pay for the longer budgets.
    if (n >= PENDING_AFTER && !this.pending()) return true;
    // Or once every detector is spent or has excluded the flow by its framing, and the name packets are seen: no
    // later packet can add an item (the budget above is this same condition without exclusions).
    if (live === 0 && this.certStream === null && (n >= NAME_PACKETS || (t !== IPPROTO_TCP && t !== IPPROTO_UDP))) return true;
    // A flow that is TLS from its first packet and whose server has switched to encrypted records, or that is QUIC
    // from its first packet: once the name packets are seen, every later byte is encrypted, so no detector rule or
    // name can match there (the cleartext framings of SSL VPNs need TLS terminated before the gateway).
    if (n >= NAME_PACKETS && this.evidence.length === 0 && ((this.traits & TRAIT_TLS_BOTH) === TRAIT_TLS_BOTH || (this.traits & TRAIT_QUIC) !== 0)) {
      return true;
    }
    // A QUIC flow whose first Initial carried the whole ClientHello has told everything it will tell.
    if ((this.traits & TRAIT_QUIC_HELLO_DONE) !== 0 && this.evidence.length === 0) return true;
    if (this.dirty) {
      this.dirty = false;
      if (this.hasStrong()) return true;
    }
    return false;
  }
}

/** Payload packets after which a flow is inspected further only with a medium (or strong) item pending. */
export const PENDING_AFTER = 8;

/** A flow's opening from its first payload packet, the traits read from it and the names found in it. */
function openingOf(view: FlowView, traits: number, nm: FlowNames | null): number {
  if (view.dir(0) !== 0) return OPEN_NONE;
  if (view.transport === IPPROTO_TCP) return nm !== null && nm.kind === 'dns' ? OPEN_DNS : tcpOpening(view);
  if ((traits & TRAIT_QUIC) !== 0) return OPEN_QUIC;
  if ((traits & TRAIT_DTLS_HELLO) !== 0) return OPEN_DTLS;
  if (nm !== null && nm.kind === 'dns') return OPEN_DNS;
  return OPEN_NONE;
}

/**
 * Evidence for a flow to an address a DNS answer bound to a listed name (reference part 3, "DNS answer binding"):
 * medium within the binding, weak after it. Matched against `lists` (the verdict's snapshot), question name first.
 */
function boundNameEvidence(bound: BoundName, lists: ListSnapshot): Evidence | null {
  const b = bound.binding;
  for (const name of b.chain) {
    const m = lists.vpnDomains!.match(name);
    if (!m) continue;
    const via = b.chain.length > 1 ? ` (CNAME chain ${b.chain.join(' → ')})` : '';
    return {
      source: 'vpn-domains',
      kind: 'name',
      protocol: 'vpn-provider',
      strength: bound.within ? 'medium' : 'weak',
      rule: DNS_BINDING_RULE,
      reason:
        `dst ${bound.address} was returned for ${b.chain[0]}${via} in a DNS answer ${b.answer} (TTL ${b.ttl} s); ` +
        `${name} matched list entry '${m.suffix}' (${m.value || 'no provider named'}) of ${lists.names.vpnDomains} v${lists.version}` +
        (bound.within ? '' : '; weak: the flow started after the binding ended (TTL, capped at 1 h)'),
    };
  }
  return null;
}

interface Hit {
  side: 'src' | 'dst';
  ip: string;
  prefix: string;
  /** The range its list line wrote, when the prefix is one the range was split into (evidence names the line's text). */
  range: string | null;
  len: number;
  value: string;
}

function lookupSide(map: CidrMap<string>, f: FlowAddresses, side: 'src' | 'dst'): Hit | null {
  let idx: number;
  let ip: string;
  if (f.ipVersion === 4) {
    const a = side === 'src' ? f.src4 : f.dst4;
    idx = map.matchIndex4(a);
    if (idx < 0) return null;
    ip = formatIPv4(a);
  } else {
    const b = f.addrBytes();
    const off = side === 'src' ? f.src6Off() : f.dst6Off();
    idx = map.matchIndex6(b, off);
    if (idx < 0) return null;
    ip = formatIPv6(b, off);
  }
  const prefix = map.prefixAt(idx);
  const slash = prefix.lastIndexOf('/');
  return { side, ip, prefix, range: writtenEntryAt(map, idx), len: slash < 0 ? 128 : Number(prefix.slice(slash + 1)), value: map.valueAt(idx) };
}

/** The more specific of the two endpoint hits (source wins a tie). */
function bestHit(map: CidrMap<string>, f: FlowAddresses): Hit | null {
  const s = lookupSide(map, f, 'src');
  const d = lookupSide(map, f, 'dst');
  if (s && d) return d.len > s.len ? d : s;
  return s ?? d;
}

function inMap(map: CidrMap<string>, f: FlowAddresses): boolean {
  if (f.ipVersion === 4) return map.matchIndex4(f.src4) >= 0 || map.matchIndex4(f.dst4) >= 0;
  const b = f.addrBytes();
  return map.matchIndex6(b, f.src6Off()) >= 0 || map.matchIndex6(b, f.dst6Off()) >= 0;
}

// Stand-ins for the list items decide() would add: combine() reads only their source, kind, strength and rule.
const NAME_HIT: Evidence = { source: 'vpn-domains', kind: 'name', protocol: 'vpn-provider', strength: 'medium', rule: 'sni.list', reason: '' };
const BOUND_HIT: Evidence = { source: 'vpn-domains', kind: 'name', protocol: 'vpn-provider', strength: 'medium', rule: DNS_BINDING_RULE, reason: '' };
const CHECK: Evidence[] = [];

/**
 * True when the evidence a flow has so far, matched against `lists` (and the DNS binding `bound`), already makes it
 * a VPN: exactly when `decide(det, f, lists, n, null, bound)` would not say `ordinary` (property-tested against it),
 * without building any evidence text.
 *
 * Such a label is final. combine() is monotone in its items — every row of the table that says "yes" stays true
 * when items are added, and no item ever vetoes one — so later packets, later names and a companion relation can
 * raise the confidence or refine the protocol but never make the flow ordinary again; and registration depends
 * only on the flow's addresses and the list snapshot, which the session keeps for the flow's end verdict.
 * O(evidence + names): one CIDR lookup per endpoint, one domain-list match per name; allocates only when combine()
 * sees medium structural items.
 */
export function labelIsVpn(det: FlowDetection | null, f: FlowAddresses, lists: ListSnapshot, bound: BoundName | null): boolean {
  if (lists.vpnEndpoints !== null && inMap(lists.vpnEndpoints, f)) return true;
  const items = CHECK;
  items.length = 0;
  if (det !== null) {
    for (let i = 0; i < det.evidence.length; i++) items.push(det.evidence[i]!);
    if (lists.vpnDomains !== null) {
      for (let i = 0; i < det.names.length; i++) {
        const nm = det.names[i]!;
        // A DNS query name is weak (nameEvidence): combine() ignores it, so it is not matched here either.
        if (nm.kind === 'dns') continue;
        if (matchListedName(nm, lists.vpnDomains) !== null) {
          items.push(NAME_HIT);
          break;
        }
      }
    }
  }
  if (items.length === 0) return false;
  if (bound !== null && bound.within && lists.vpnDomains !== null && boundMatches(bound, lists.vpnDomains)) items.push(BOUND_HIT);
  const vpn = combine(items).isVpn;
  items.length = 0;
  return vpn;
}

function boundMatches(bound: BoundName, domains: NonNullable<ListSnapshot['vpnDomains']>): boolean {
  for (const name of bound.binding.chain) if (domains.match(name) !== undefined) return true;
  return false;
}

/**
 * Turn a flow's collected detection state into a verdict against one list snapshot. All list-derived evidence
 * (endpoint list, domain names, registration) is computed here, from `lists` alone, so a verdict never mixes
 * list versions. `payloadCut`: inspected payload packets the capture cut (see {@link Verdict.payloadCut});
 * `captureCapped`: a flow-table cap stopped the flow's recording early (see {@link Verdict.captureCapped}).
 */
export function decide(
  det: FlowDetection | null,
  f: FlowAddresses,
  lists: ListSnapshot,
  decidedAtPacket: number,
  extra: Evidence | null = null,
  bound: BoundName | null = null,
  payloadCut = 0,
  captureCapped = false,
): Verdict {
  const evidence: Evidence[] = det ? det.evidence.slice() : [];
  if (extra) evidence.push(extra);
  if (lists.vpnEndpoints) {
    const h = bestHit(lists.vpnEndpoints, f);
    if (h) {
      evidence.push({
        source: 'vpn-endpoints',
        kind: 'list',
        protocol: 'vpn-endpoint',
        strength: 'medium',
        rule: 'endpoint.list',
        reason: `${h.side} ${h.ip} is in VPN endpoint list ${h.range === null ? `entry ${h.prefix}` : `range '${h.range}'`} (${h.value}) of ${lists.names.vpnEndpoints} v${lists.version}`,
      });
    }
  }
  if (det && lists.vpnDomains) {
    for (const nm of det.names) {
      const m = matchListedName(nm, lists.vpnDomains);
      if (m) evidence.push(nameEvidence(nm, m, `${lists.names.vpnDomains} v${lists.version}`));
    }
  }
  if (bound && lists.vpnDomains) {
    const e = boundNameEvidence(bound, lists);
    if (e) evidence.push(e);
  }
  const c = combine(evidence);
  let label: Verdict['label'] = 'ordinary';
  let registrant: string | null = null;
  let registeredSide: Verdict['registeredSide'] = null;
  if (c.isVpn) {
    label = 'unregistered_vpn';
    if (lists.registered) {
      const h = bestHit(lists.registered, f);
      if (h) {
        label = 'registered_vpn';
        registrant = h.value;
        registeredSide = h.side;
        evidence.push({
          source: REGISTRATION_SOURCE,
          protocol: c.protocol ?? 'vpn',
          strength: 'medium',
          rule: 'registered.prefix',
          reason: `${h.side} ${h.ip} is in registered ${h.range === null ? `prefix ${h.prefix}` : `range '${h.range}'`} (registrant ${h.value}) of ${lists.names.registered} v${lists.version}`,
        });
      }
    }
  }
  return {
    label,
    protocol: c.isVpn ? c.protocol : null,
    // Ordinary: sure when payload was inspected whole and nothing argued for a tunnel; less sure when the capture
    // cut bytes the rules read (a name, a length field further on) or a table cap cut the packets they read;
    // unsure without payload.
    confidence: c.isVpn ? c.confidence : decidedAtPacket === 0 ? 0.5 : payloadCut > 0 || captureCapped ? 0.6 : evidence.length === 0 ? 0.9 : 0.7,
    registrant,
    registeredSide,
    evidence,
    listVersion: lists.version,
    decidedAtPacket,
    payloadCut,
    captureCapped,
  };
}
