/** NTPv4 over UDP 123 (RFC 5905 §7.3): 48-byte packets, mode 3 (client) / mode 4 (server). */
import type { Rng } from '../rng.js';
import { fillPool, put32, type FlowKind, type SynthContext, type SynthFlow } from './types.js';

export const ntp: FlowKind = {
  key: 'ntp', transport: 'udp', expect: 'ordinary', protocol: null, minPackets: 2, packetWeight: 0.1,
  setup(f, rng) { f.cport = rng.chance(0.5) ? 123 : rng.range(49152, 65535); f.sport = 123; },
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number, _size: number, rng: Rng, ctx: SynthContext): number {
    f.dir = (k & 1) as 0 | 1;
    fillPool(buf, off, 48, rng, ctx);
    buf[off] = f.dir === 0 ? 0x23 : 0x24; // LI 0, version 4, mode 3/4
    buf[off + 1] = f.dir === 0 ? 0 : 2; buf[off + 2] = 6; buf[off + 3] = 0xe9;
    put32(buf, off + 4, 0); put32(buf, off + 8, 0);
    return 48;
  },
};
