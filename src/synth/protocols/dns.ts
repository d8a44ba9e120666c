/**
 * DNS over UDP 53 (RFC 1035 §4.1): alternating queries and answers (A or AAAA) with real-looking names. Names
 * of VPN providers appear too: a lookup is ordinary traffic whatever it asks for. A flow the planner made the
 * lookup before a VPN flow (`f.buf` = that server's address, `f.host` = a provider name) asks that name first and
 * answers with that address.
 */
import type { Rng } from '../rng.js';
import { ephemeralPort, put16, type FlowKind, type SynthContext, type SynthFlow } from './types.js';

const cache = new Map<string, Uint8Array>();
/** Wire form of a domain name (labels + root). */
export function encodeName(name: string): Uint8Array {
  let b = cache.get(name);
  if (b === undefined) {
    const parts = name.split('.').filter((p) => p.length > 0);
    const out: number[] = [];
    for (const p of parts) out.push(p.length, ...[...p].map((c) => c.charCodeAt(0) & 0x7f));
    out.push(0);
    b = Uint8Array.from(out);
    cache.set(name, b);
  }
  return b;
}

export const dns: FlowKind = {
  key: 'dns', transport: 'udp', expect: 'ordinary', protocol: null, minPackets: 2, packetWeight: 0.15,
  setup(f, rng) {
    f.cport = ephemeralPort(rng);
    f.sport = 53;
  },
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number, _size: number, rng: Rng, ctx: SynthContext): number {
    const bound = k < 2 && f.buf !== null;
    if ((k & 1) === 0) {
      // New question: id, name, type.
      f.a = rng.u32() & 0xffff;
      if (bound) f.b = f.buf!.length === 4 ? 1 : 28;
      else {
        const pool = rng.chance(0.1) ? ctx.vpnDomains : ctx.webDomains;
        f.host = (rng.chance(0.5) ? 'www.' : '') + rng.pick(pool);
        f.b = rng.chance(0.7) ? 1 : 28;
      }
      f.dir = 0;
    } else f.dir = 1;
    const name = encodeName(f.host);
    put16(buf, off, f.a);
    put16(buf, off + 2, f.dir === 0 ? 0x0100 : 0x8180);
    put16(buf, off + 4, 1);
    put16(buf, off + 6, f.dir === 0 ? 0 : 1);
    put16(buf, off + 8, 0);
    put16(buf, off + 10, 0);
    let o = off + 12;
    buf.set(name, o);
    o += name.length;
    put16(buf, o, f.b); put16(buf, o + 2, 1);
    o += 4;
    if (f.dir === 1) {
      const rdlen = f.b === 1 ? 4 : 16;
      put16(buf, o, 0xc00c); put16(buf, o + 2, f.b); put16(buf, o + 4, 1);
      buf[o + 6] = 0; buf[o + 7] = 0; put16(buf, o + 8, rng.range(30, 3600));
      put16(buf, o + 10, rdlen);
      o += 12;
      if (bound) buf.set(f.buf!, o);
      else if (rdlen === 4) { buf[o] = 93; buf[o + 1] = 184; buf[o + 2] = rng.int(256); buf[o + 3] = rng.range(1, 254); }
      else { buf.fill(0, o, o + 16); buf[o] = 0x26; buf[o + 1] = 0x06; buf[o + 15] = rng.range(1, 254); }
      o += rdlen;
    }
    return o - off;
  },
};
