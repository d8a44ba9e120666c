/**
 * WireGuard over UDP (reference part 1 §WireGuard): handshake initiation (type 1, 148 B), response (type 2,
 * 92 B, receiver = initiator's sender index), then transport data (type 4, receiver index, 64-bit LE counter
 * incrementing per direction, encrypted payload padded to 16 + 16-byte tag: length = 32 + 16·m).
 */
import type { Rng } from '../rng.js';
import { ephemeralPort, fillPool, put32le, type FlowKind, type SynthContext, type SynthFlow } from './types.js';

export const WG_INIT_LEN = 148, WG_RESP_LEN = 92, WG_DATA_MIN = 32;

export const wireguard: FlowKind = {
  key: 'wireguard', transport: 'udp', expect: 'vpn', protocol: 'wireguard', minPackets: 3, packetWeight: 1.2,
  setup(f, rng) {
    f.cport = ephemeralPort(rng);
    f.sport = rng.chance(0.7) ? 51820 : rng.range(1024, 65000);
    if (f.sport === 4789 || f.sport === 2152) f.sport = 51820; // keep clear of decapsulated tunnel ports
    f.a = rng.u32(); // initiator sender index
    f.b = rng.u32(); // responder sender index
    f.c = 0; f.d = 0; // counters client→server, server→client
  },
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number, size: number, rng: Rng, ctx: SynthContext): number {
    if (k === 0) {
      f.dir = 0;
      fillPool(buf, off, WG_INIT_LEN, rng, ctx);
      buf[off] = 1; buf[off + 1] = 0; buf[off + 2] = 0; buf[off + 3] = 0;
      put32le(buf, off + 4, f.a);
      buf.fill(0, off + 132, off + 148); // mac2 zero: no cookie
      return WG_INIT_LEN;
    }
    if (k === 1) {
      f.dir = 1;
      fillPool(buf, off, WG_RESP_LEN, rng, ctx);
      buf[off] = 2; buf[off + 1] = 0; buf[off + 2] = 0; buf[off + 3] = 0;
      put32le(buf, off + 4, f.b);
      put32le(buf, off + 8, f.a);
      buf.fill(0, off + 76, off + 92);
      return WG_RESP_LEN;
    }
    // The initiator sends first after the response (it confirms the session), then both directions.
    f.dir = k === 2 ? 0 : rng.chance(0.45) ? 0 : 1;
    const m = rng.chance(0.05) ? 0 : Math.max(1, Math.min(88, Math.round((size - 32) / 16)));
    const len = WG_DATA_MIN + 16 * m;
    fillPool(buf, off + 16, len - 16, rng, ctx);
    buf[off] = 4; buf[off + 1] = 0; buf[off + 2] = 0; buf[off + 3] = 0;
    put32le(buf, off + 4, f.dir === 0 ? f.b : f.a);
    const ctr = f.dir === 0 ? f.c++ : f.d++;
    put32le(buf, off + 8, ctr);
    put32le(buf, off + 12, 0);
    return len;
  },
};
