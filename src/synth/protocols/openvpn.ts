/**
 * OpenVPN over UDP and TCP (reference part 1 §OpenVPN): opcode<<3|key-id first byte; P_CONTROL_HARD_RESET_
 * CLIENT_V2 (7) → P_CONTROL_HARD_RESET_SERVER_V2 (8) acknowledging packet-id 0 and echoing the client's session
 * id, P_ACK_V1 (5), P_CONTROL_V1 (4) carrying TLS, then P_DATA_V2 (9) with a 24-bit peer-id and packet-id.
 * Over TCP every packet is preceded by its 2-byte big-endian length.
 */
import { clientHello, clientHelloSessionId, record, serverHello } from '../tls.js';
import type { Rng } from '../rng.js';
import { ephemeralPort, fillPool, put16, put24, put32, type FlowKind, type SynthContext, type SynthFlow } from './types.js';

export const P_CONTROL_HARD_RESET_CLIENT_V2 = 7, P_CONTROL_HARD_RESET_SERVER_V2 = 8, P_CONTROL_V1 = 4, P_ACK_V1 = 5, P_DATA_V2 = 9;

/** One control-channel packet: opcode, own session id, ack array (+ remote session id), packet-id, payload. */
function ctl(op: number, sid: Uint8Array, acks: number[], remote: Uint8Array, pid: number | null, body: Uint8Array): number[] {
  const out = [op << 3, ...sid, acks.length];
  for (const a of acks) out.push((a >>> 24) & 255, (a >>> 16) & 255, (a >>> 8) & 255, a & 255);
  if (acks.length > 0) out.push(...remote);
  if (pid !== null) out.push((pid >>> 24) & 255, (pid >>> 16) & 255, (pid >>> 8) & 255, pid & 255);
  out.push(...body);
  return out;
}

function setup(f: SynthFlow, rng: Rng): void {
  const sc = rng.bytes(8), ss = rng.bytes(8);
  const ch = record(22, 0x0301, clientHello({ host: null, alpn: [] }, rng));
  const sh = record(22, 0x0303, serverHello(clientHelloSessionId(ch.subarray(5)), rng));
  const none = new Uint8Array(0);
  const msgs = [
    ctl(P_CONTROL_HARD_RESET_CLIENT_V2, sc, [], none, 0, none),
    ctl(P_CONTROL_HARD_RESET_SERVER_V2, ss, [0], sc, 0, none),
    ctl(P_ACK_V1, sc, [0], ss, null, none),
    ctl(P_CONTROL_V1, sc, [], none, 1, ch),
    ctl(P_CONTROL_V1, ss, [1], sc, 1, sh),
    ctl(P_ACK_V1, sc, [1], ss, null, none),
  ];
  const all = msgs.flat();
  f.buf = Uint8Array.from(all);
  // Message end offsets in f.a..f.f.
  let e = 0;
  const ends = msgs.map((m) => (e += m.length));
  [f.a, f.b, f.c, f.d, f.e, f.f] = ends as [number, number, number, number, number, number];
  f.g = rng.int(1 << 24); // peer-id the server assigned
  f.h = 0; // data packet-id counter (shared by both directions: each side's ids are independent in reality)
}

const DIRS = [0, 1, 0, 0, 1, 0] as const;

function write(f: SynthFlow, k: number, buf: Uint8Array, off: number, size: number, rng: Rng, ctx: SynthContext): number {
  if (k < 6) {
    f.dir = DIRS[k]!;
    const ends = [0, f.a, f.b, f.c, f.d, f.e, f.f];
    const s = ends[k]!, e = ends[k + 1]!;
    buf.set(f.buf!.subarray(s, e), off);
    return e - s;
  }
  f.dir = rng.chance(0.45) ? 0 : 1;
  const len = Math.max(24, Math.min(1380, size));
  fillPool(buf, off + 8, len - 8, rng, ctx);
  buf[off] = (P_DATA_V2 << 3) | 0; // key id 0: the first data channel key
  put24(buf, off + 1, f.g);
  put32(buf, off + 4, ++f.h);
  return len;
}

export const openvpnUdp: FlowKind = {
  key: 'openvpn-udp', transport: 'udp', expect: 'vpn', protocol: 'openvpn', minPackets: 7, packetWeight: 1.2,
  setup(f, rng) {
    f.cport = ephemeralPort(rng);
    const r = rng.float();
    f.sport = r < 0.7 ? 1194 : r < 0.85 ? 443 : 53; // providers also listen on 443/53 to pass firewalls
    setup(f, rng);
  },
  payload: write,
};

export const openvpnTcp: FlowKind = {
  key: 'openvpn-tcp', transport: 'tcp', expect: 'vpn', protocol: 'openvpn', minPackets: 14, packetWeight: 1.2,
  setup(f, rng) {
    f.cport = ephemeralPort(rng);
    f.sport = rng.chance(0.6) ? 1194 : 443;
    setup(f, rng);
  },
  payload(f, k, buf, off, size, rng, ctx) {
    const n = write(f, k, buf, off + 2, size - 2, rng, ctx);
    put16(buf, off, n);
    return n + 2;
  },
};
