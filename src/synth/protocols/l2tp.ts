/**
 * L2TPv2 over UDP 1701 (RFC 2661 §3.1, §4.4): control messages with T/L/S bits and version 2 (0xC802), AVPs
 * (Message Type first), SCCRQ → SCCRP → SCCCN → ICRQ → ICRP → ICCN, then data messages (0x0002) with tunnel
 * and session ids carrying PPP (compressed datagrams, so nothing looks like a decapsulable inner IP packet).
 */
import type { Rng } from '../rng.js';
import { fillPool, put16, type FlowKind, type SynthContext, type SynthFlow } from './types.js';

function avp(type: number, value: number[]): number[] {
  const len = 6 + value.length;
  return [0x80 | (len >> 8), len & 255, 0, 0, type >> 8, type & 255, ...value];
}

function control(tunnel: number, session: number, ns: number, nr: number, avps: number[]): number[] {
  const len = 12 + avps.length;
  return [0xc8, 0x02, len >> 8, len & 255, tunnel >> 8, tunnel & 255, session >> 8, session & 255, ns >> 8, ns & 255, nr >> 8, nr & 255, ...avps];
}

const enc = new TextEncoder();
const DIRS = [0, 1, 0, 0, 1, 0] as const;

export const l2tp: FlowKind = {
  key: 'l2tp', transport: 'udp', expect: 'vpn', protocol: 'l2tp', minPackets: 6, packetWeight: 0.5,
  setup(f, rng) {
    f.cport = 1701; f.sport = 1701;
    const ct = rng.range(1, 65535), st = rng.range(1, 65535), cs = rng.range(1, 65535), ss = rng.range(1, 65535);
    const host = [...enc.encode(`lac-${rng.range(1, 999)}`)];
    const msgs = [
      control(0, 0, 0, 0, [...avp(0, [0, 1]), ...avp(2, [1, 0]), ...avp(7, host), ...avp(3, [0, 0, 0, 3]), ...avp(9, [ct >> 8, ct & 255])]),
      control(ct, 0, 0, 1, [...avp(0, [0, 2]), ...avp(2, [1, 0]), ...avp(7, [...enc.encode('lns')]), ...avp(3, [0, 0, 0, 3]), ...avp(9, [st >> 8, st & 255])]),
      control(st, 0, 1, 1, avp(0, [0, 3])),
      control(st, 0, 2, 1, [...avp(0, [0, 10]), ...avp(14, [cs >> 8, cs & 255]), ...avp(15, [0, 0, 0, 1])]),
      control(ct, cs, 1, 3, [...avp(0, [0, 11]), ...avp(14, [ss >> 8, ss & 255])]),
      control(st, ss, 3, 2, [...avp(0, [0, 12]), ...avp(24, [0, 0, 0x27, 0x10]), ...avp(19, [0, 0, 0, 1])]),
    ];
    f.buf = Uint8Array.from(msgs.flat());
    let e = 0;
    [f.a, f.b, f.c, f.d, f.e, f.f] = msgs.map((m) => (e += m.length)) as [number, number, number, number, number, number];
    f.g = (st << 16) | ss; // ids the client addresses (server's)
    f.h = (ct << 16) | cs;
  },
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number, size: number, rng: Rng, ctx: SynthContext): number {
    if (k < 6) {
      f.dir = DIRS[k]!;
      const ends = [0, f.a, f.b, f.c, f.d, f.e, f.f];
      buf.set(f.buf!.subarray(ends[k]!, ends[k + 1]!), off);
      return ends[k + 1]! - ends[k]!;
    }
    f.dir = rng.chance(0.45) ? 0 : 1;
    const ids = f.dir === 0 ? f.g : f.h;
    const len = Math.max(16, Math.min(1400, size));
    fillPool(buf, off + 10, len - 10, rng, ctx);
    buf[off] = 0x00; buf[off + 1] = 0x02; // data message, no length/sequence fields
    put16(buf, off + 2, ids >>> 16); put16(buf, off + 4, ids & 0xffff);
    buf[off + 6] = 0xff; buf[off + 7] = 0x03; buf[off + 8] = 0x00; buf[off + 9] = 0xfd; // PPP: compressed datagram
    return len;
  },
};
