/**
 * Traffic mix: which kinds exist, their share of flows, and exact per-kind flow counts for a given flow total.
 * The base weights reproduce the perf recipe (../../../shared/perf/README.md) at --vpn-share 0.24; other VPN
 * shares scale the VPN part and the ordinary part proportionally. Small extra kinds (L2TP, PPTP, AH, SSH, STUN,
 * WebRTC, games, NTP) keep every supported protocol and the usual look-alikes present.
 */
import type { FlowKind } from './protocols/types.js';
import { wireguard } from './protocols/wireguard.js';
import { openvpnTcp, openvpnUdp } from './protocols/openvpn.js';
import { ike } from './protocols/ike.js';
import { ah, esp } from './protocols/esp.js';
import { tlsVpnProvider, tlsWeb } from './protocols/tls.js';
import { l2tp } from './protocols/l2tp.js';
import { pptp, pptpGre } from './protocols/pptp.js';
import { dns } from './protocols/dns.js';
import { quic } from './protocols/quic.js';
import { http } from './protocols/http.js';
import { ssh } from './protocols/ssh.js';
import { stun } from './protocols/stun.js';
import { dtls } from './protocols/dtls.js';
import { game } from './protocols/game.js';
import { ntp } from './protocols/ntp.js';

/** Relative flow weights inside the VPN part (recipe percentages; extras are small). */
export const VPN_WEIGHTS: readonly (readonly [FlowKind, number])[] = [
  [wireguard, 6], [openvpnUdp, 4], [ike, 4], [esp, 4], [tlsVpnProvider, 4], [openvpnTcp, 2],
  [l2tp, 0.25], [pptp, 0.25], [pptpGre, 0.25], [ah, 0.25],
];

/** Relative flow weights inside the ordinary part. */
export const ORDINARY_WEIGHTS: readonly (readonly [FlowKind, number])[] = [
  [tlsWeb, 30], [dns, 19], [quic, 16], [http, 12],
  [ssh, 0.5], [stun, 0.4], [dtls, 0.4], [game, 0.4], [ntp, 0.3],
];

export const ALL_KINDS: readonly FlowKind[] = [...VPN_WEIGHTS, ...ORDINARY_WEIGHTS].map(([k]) => k);

/** Share of all flows per kind for a VPN share in [0, 1]. */
export function kindShares(vpnShare: number): { kind: FlowKind; share: number }[] {
  const out: { kind: FlowKind; share: number }[] = [];
  const part = (ws: readonly (readonly [FlowKind, number])[], total: number): void => {
    const sum = ws.reduce((s, [, w]) => s + w, 0);
    for (const [kind, w] of ws) out.push({ kind, share: (total * w) / sum });
  };
  part(VPN_WEIGHTS, vpnShare);
  part(ORDINARY_WEIGHTS, 1 - vpnShare);
  return out;
}

/**
 * Exact flow counts per kind summing to `flows` (largest-remainder rounding, ties by list order), with the VPN
 * part rounded as a whole first so the VPN flow count is round(flows · vpnShare).
 */
export function kindCounts(flows: number, vpnShare: number): { kind: FlowKind; count: number }[] {
  const nVpn = Math.round(flows * vpnShare);
  const alloc = (ws: readonly (readonly [FlowKind, number])[], n: number): { kind: FlowKind; count: number }[] => {
    const sum = ws.reduce((s, [, w]) => s + w, 0);
    const raw = ws.map(([kind, w]) => ({ kind, exact: (n * w) / sum }));
    const res = raw.map((r) => ({ kind: r.kind, count: Math.floor(r.exact), frac: r.exact - Math.floor(r.exact) }));
    let left = n - res.reduce((s, r) => s + r.count, 0);
    const order = res.map((r, i) => i).sort((a, b) => res[b]!.frac - res[a]!.frac || a - b);
    for (const i of order) {
      if (left <= 0) break;
      res[i]!.count++;
      left--;
    }
    return res.map(({ kind, count }) => ({ kind, count }));
  };
  return [...alloc(VPN_WEIGHTS, nVpn), ...alloc(ORDINARY_WEIGHTS, flows - nVpn)];
}
