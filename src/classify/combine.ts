/**
 * Evidence combination: a deterministic rule from evidence items to {isVpn, protocol, confidence}.
 * The table (mirrored in the README):
 *
 * | evidence present                                             | VPN? | confidence |
 * |--------------------------------------------------------------|------|-----------:|
 * | strong structural item + any other item of the same protocol | yes  | 0.99 |
 * | strong structural item                                       | yes  | 0.95 |
 * | two medium structural items of one protocol (different rules) | yes  | 0.85 |
 * | medium structural item + list hit (endpoint or name, incl. a
 * |   name bound to the server's address by a DNS answer)        | yes  | 0.90 |
 * | companion relation (tinc UDP; SSL-VPN DTLS or ESP data channel) | yes  | 0.80 |
 * | operator endpoint-list hit (vpn-endpoints)                   | yes  | 0.75 |
 * | VPN-provider name (SNI/Host/certificate) on the domain list,
 * |   or a certificate subject naming a VPN appliance              | yes  | 0.70 |
 * | one medium structural item alone                             | no   | —    |
 * | a listed name bound to the server's address by a DNS answer,
 * |   alone (it corroborates; the flow itself names nothing)     | no   | —    |
 * | weak items only (port, size, DNS lookup of a provider name)  | no   | —    |
 *
 * Registration evidence never counts here: registration decides registered vs unregistered, never VPN vs not.
 */
import type { Evidence } from '../detect/types.js';

/** Evidence sources that are lists (operator statements) rather than structure. */
export const LIST_SOURCES: ReadonlySet<string> = new Set(['vpn-endpoints', 'vpn-domains', 'companion']);
/**
 * Rule of the name a flow inherits from a DNS answer that returned its server's address: it corroborates structure
 * like any list hit, but alone it is not a tunnel (the flow itself names nothing; CDNs share addresses).
 */
export const DNS_BINDING_RULE = 'dns-binding.list';
/** Evidence source of registration items (never VPN evidence). */
export const REGISTRATION_SOURCE = 'registered';

/**
 * Protocols that refine another: a Tailscale or WARP flow is also WireGuard-shaped, and the more specific name
 * is the more useful label when both have evidence.
 */
const REFINES: Readonly<Record<string, string>> = { tailscale: 'wireguard', 'cloudflare-warp': 'wireguard', pulse: 'ipsec' };

/** Deterministic preference between two protocols with evidence of the same strength. */
function prefer(a: string, b: string): boolean {
  if (REFINES[a] === b) return true;
  if (REFINES[b] === a) return false;
  return a < b;
}

export interface Combined {
  isVpn: boolean;
  protocol: string | null;
  confidence: number;
  /** True when more packets cannot change the answer (a strong item is present). */
  final: boolean;
}

const NOT_VPN: Combined = Object.freeze({ isVpn: false, protocol: null, confidence: 0, final: false }) as Combined;

/** A protocol's own detector item of medium strength (what `combine` weighs as `medium`). */
function isDetectorMedium(e: Evidence): boolean {
  return (
    e.strength === 'medium' && e.source !== REGISTRATION_SOURCE && e.source !== 'vpn-endpoints' && e.kind !== 'list' &&
    e.rule !== DNS_BINDING_RULE && e.source !== 'vpn-domains' && e.kind !== 'name' && e.source !== 'companion' &&
    e.kind !== 'relation'
  );
}

/**
 * The protocol with two different medium rules (two rules of one protocol corroborate each other; the same rule
 * firing twice is one observation, not two), the preferred one if several, else null. Protocols are weighed in the
 * order of their first medium item. Pairwise over the items (at most 16 per flow): a verdict allocates nothing here.
 */
function corroboratedMedium(items: readonly Evidence[]): string | null {
  let best: string | null = null;
  outer: for (let i = 0; i < items.length; i++) {
    const a = items[i]!;
    if (!isDetectorMedium(a)) continue;
    for (let j = 0; j < i; j++) if (items[j]!.protocol === a.protocol && isDetectorMedium(items[j]!)) continue outer;
    for (let j = i + 1; j < items.length; j++) {
      const b = items[j]!;
      if (b.protocol === a.protocol && b.rule !== a.rule && isDetectorMedium(b)) {
        if (best === null || prefer(a.protocol, best)) best = a.protocol;
        continue outer;
      }
    }
  }
  return best;
}

export function combine(items: readonly Evidence[]): Combined {
  if (items.length === 0) return NOT_VPN;
  let strong: Evidence | undefined;
  let medium: Evidence | undefined;
  let endpoint: Evidence | undefined;
  let name: Evidence | undefined;
  let companion: Evidence | undefined;
  let bound: Evidence | undefined;
  for (const e of items) {
    if (e.source === REGISTRATION_SOURCE) continue;
    if (e.source === 'vpn-endpoints' || e.kind === 'list') {
      if (e.strength !== 'weak') endpoint ??= e;
      continue;
    }
    if (e.rule === DNS_BINDING_RULE) {
      if (e.strength !== 'weak') bound ??= e;
      continue;
    }
    if (e.source === 'vpn-domains' || e.kind === 'name') {
      if (e.strength !== 'weak') name ??= e;
      continue;
    }
    if (e.source === 'companion' || e.kind === 'relation') {
      if (e.strength !== 'weak') companion ??= e;
      continue;
    }
    if (e.strength === 'strong') {
      if (!strong || prefer(e.protocol, strong.protocol)) strong = e;
    } else if (e.strength === 'medium') {
      if (!medium || prefer(e.protocol, medium.protocol)) medium = e;
    }
  }
  const twoMedium = medium ? corroboratedMedium(items) : null;
  if (strong) {
    let corroborated = endpoint !== undefined || name !== undefined || companion !== undefined || bound !== undefined;
    for (const e of items) {
      if (e !== strong && e.protocol === strong.protocol && e.strength !== 'weak' && e.source !== REGISTRATION_SOURCE) corroborated = true;
    }
    // A strong relation may name the product behind a generic structure (ESP-in-UDP keyed inside Pulse's TLS);
    // the smallest such name wins so the result does not depend on item order.
    let protocol = strong.protocol;
    for (const e of items) {
      if ((e.source === 'companion' || e.kind === 'relation') && e.strength === 'strong' && REFINES[e.protocol] === strong.protocol) {
        if (protocol === strong.protocol || e.protocol < protocol) protocol = e.protocol;
      }
    }
    return { isVpn: true, protocol, confidence: corroborated ? 0.99 : 0.95, final: true };
  }
  if (medium && (endpoint || name || bound)) return { isVpn: true, protocol: medium.protocol, confidence: 0.9, final: false };
  if (twoMedium !== null) return { isVpn: true, protocol: twoMedium, confidence: 0.85, final: false };
  if (companion) return { isVpn: true, protocol: companion.protocol, confidence: 0.8, final: false };
  if (endpoint) return { isVpn: true, protocol: endpoint.protocol, confidence: 0.75, final: false };
  if (name) return { isVpn: true, protocol: name.protocol, confidence: 0.7, final: false };
  return NOT_VPN;
}
