/**
 * TLS over TCP 443: ClientHello with SNI + ALPN, ServerHello + ChangeCipherSpec, then application-data records.
 * Two kinds: ordinary web sites, and endpoints of commercial VPN providers (SNI from the provider list), which
 * the truth marks `vpn` (reference part 3: provider endpoints count as VPN).
 */
import { clientHello, clientHelloSessionId, record, serverHello } from '../tls.js';
import type { Rng } from '../rng.js';
import { clamp, ephemeralPort, fillPool, type FlowKind, type SynthContext, type SynthFlow } from './types.js';

function setup(f: SynthFlow, rng: Rng, host: string): void {
  f.cport = ephemeralPort(rng);
  f.sport = 443;
  f.host = host;
  const ch = record(22, 0x0301, clientHello({ host, alpn: rng.chance(0.7) ? ['h2', 'http/1.1'] : ['http/1.1'] }, rng));
  const sh = record(22, 0x0303, serverHello(clientHelloSessionId(ch.subarray(5)), rng));
  const ccs = [20, 3, 3, 0, 1, 1];
  const first = new Uint8Array(ch.length + sh.length + ccs.length);
  first.set(ch, 0);
  first.set(sh, ch.length);
  first.set(ccs, ch.length + sh.length);
  f.buf = first;
  f.a = ch.length;
}

/** k=0 ClientHello, k=1 ServerHello+CCS, then app-data records mostly server→client with some pure ACKs. */
export function tlsPayload(f: SynthFlow, k: number, buf: Uint8Array, off: number, size: number, rng: Rng, ctx: SynthContext): number {
  const t = f.buf!;
  if (k === 0) {
    f.dir = 0;
    buf.set(t.subarray(0, f.a), off);
    return f.a;
  }
  if (k === 1) {
    f.dir = 1;
    buf.set(t.subarray(f.a), off);
    return t.length - f.a;
  }
  f.dir = rng.chance(0.35) ? 0 : 1;
  if (f.dir === 0 && rng.chance(0.5)) return 0;
  const len = clamp(size, 6 + 16, 1400);
  buf[off] = 23; buf[off + 1] = 3; buf[off + 2] = 3;
  buf[off + 3] = (len - 5) >> 8; buf[off + 4] = (len - 5) & 255;
  fillPool(buf, off + 5, len - 5, rng, ctx);
  return len;
}

export const tlsWeb: FlowKind = {
  key: 'tls', transport: 'tcp', expect: 'ordinary', protocol: null, minPackets: 9, packetWeight: 1,
  setup(f, rng, ctx) { setup(f, rng, rng.pick(ctx.webDomains)); },
  payload: tlsPayload,
};

export const tlsVpnProvider: FlowKind = {
  key: 'tls-vpn-provider', transport: 'tcp', expect: 'vpn', protocol: 'tls-vpn-provider', minPackets: 9, packetWeight: 1,
  setup(f, rng, ctx) {
    const d = rng.pick(ctx.vpnDomains);
    // Providers' endpoints are usually a host under the registered domain.
    setup(f, rng, rng.chance(0.6) ? `${rng.pick(['us', 'de', 'uk', 'nl', 'jp', 'ca'])}${rng.range(1, 99)}.${d}` : d);
  },
  payload: tlsPayload,
};
