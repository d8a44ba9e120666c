/**
 * The built-in detectors, listed explicitly (no registration by import side effect). The classifier indexes
 * them by transport (`Detector.transports`), so a packet only meets the detectors that could match it.
 * Order matters only for the order of evidence items in a verdict.
 */
import type { Detector } from './types.js';
import { wireguard } from './wireguard.js';
import { tailscale } from './tailscale.js';
import { cloudflareWarp } from './cloudflare-warp.js';
import { openvpn } from './openvpn.js';
import { zerotier } from './zerotier.js';
import { tinc } from './tinc.js';
import { softether } from './softether.js';
import { nebula } from './nebula.js';
import { ike } from './ike.js';
import { ikeTcp } from './ike-tcp.js';
import { esp } from './esp.js';
import { ah } from './ah.js';
import { l2tp } from './l2tp.js';
import { pptp } from './pptp.js';
import { sstp } from './sstp.js';
import { anyconnect } from './anyconnect.js';
import { forticlient } from './forticlient.js';
import { globalprotect } from './globalprotect.js';
import { pulse } from './pulse.js';
import { directaccess } from './directaccess.js';
import { providerCert } from './provider-cert.js';

export const DETECTORS: readonly Detector[] = Object.freeze([
  wireguard,
  tailscale,
  cloudflareWarp,
  openvpn,
  zerotier,
  tinc,
  softether,
  nebula,
  ike,
  ikeTcp,
  esp,
  ah,
  l2tp,
  pptp,
  sstp,
  anyconnect,
  forticlient,
  globalprotect,
  pulse,
  directaccess,
  providerCert,
]);
