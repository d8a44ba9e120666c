/** Game-like UDP: small frequent datagrams with a sequence counter and opaque state, on typical game ports. */
import type { Rng } from '../rng.js';
import { ephemeralPort, fillPool, put32le, type FlowKind, type SynthContext, type SynthFlow } from './types.js';

const PORTS = [27015, 3074, 7777, 25565, 9308, 5062];

export const game: FlowKind = {
  key: 'game-udp', transport: 'udp', expect: 'ordinary', protocol: null, minPackets: 2, packetWeight: 1,
  setup(f, rng) { f.cport = ephemeralPort(rng); f.sport = rng.pick(PORTS); f.a = rng.u32(); },
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number, _size: number, rng: Rng, ctx: SynthContext): number {
    f.dir = k === 0 ? 0 : rng.chance(0.5) ? 0 : 1;
    const len = rng.range(24, 180);
    fillPool(buf, off, len, rng, ctx);
    put32le(buf, off, f.a); put32le(buf, off + 4, k);
    return len;
  },
};
