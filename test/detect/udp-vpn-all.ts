/** The detectors written for the UDP/overlay VPN family, for the property and fuzz tests. */
import type { Detector } from '../../src/detect/types.js';
import { wireguard } from '../../src/detect/wireguard.js';
import { tailscale } from '../../src/detect/tailscale.js';
import { cloudflareWarp } from '../../src/detect/cloudflare-warp.js';
import { openvpn } from '../../src/detect/openvpn.js';
import { zerotier } from '../../src/detect/zerotier.js';
import { tinc } from '../../src/detect/tinc.js';
import { softether } from '../../src/detect/softether.js';
import { nebula } from '../../src/detect/nebula.js';

export const UDP_VPN_DETECTORS: readonly Detector[] = [wireguard, tailscale, cloudflareWarp, openvpn, zerotier, tinc, softether, nebula];
