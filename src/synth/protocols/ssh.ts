/** SSH over TCP 22 (RFC 4253 §4.2, §7.1): version banners, KEXINIT packets, then encrypted binary packets. */
import type { Rng } from '../rng.js';
import { clamp, ephemeralPort, fillPool, put32, type FlowKind, type SynthContext, type SynthFlow } from './types.js';

const enc = new TextEncoder();

function kexinit(rng: Rng): Uint8Array {
  const lists = ['curve25519-sha256,ecdh-sha2-nistp256', 'ssh-ed25519,rsa-sha2-512', 'chacha20-poly1305@openssh.com,aes128-ctr',
    'chacha20-poly1305@openssh.com,aes128-ctr', 'hmac-sha2-256', 'hmac-sha2-256', 'none', 'none', '', ''];
  const body: number[] = [20, ...rng.bytes(16)];
  for (const l of lists) { const b = enc.encode(l); body.push(0, 0, b.length >> 8, b.length & 255, ...b); }
  body.push(0, 0, 0, 0, 0);
  const pad = 8 - ((5 + body.length) % 8) + 4;
  const out = new Uint8Array(5 + body.length + pad);
  put32(out, 0, 1 + body.length + pad); out[4] = pad; out.set(body, 5);
  return out;
}

export const ssh: FlowKind = {
  key: 'ssh', transport: 'tcp', expect: 'ordinary', protocol: null, minPackets: 11, packetWeight: 0.5,
  setup(f, rng) {
    f.cport = ephemeralPort(rng); f.sport = 22;
    const parts = [enc.encode('SSH-2.0-OpenSSH_9.6p1 Ubuntu-3\r\n'), enc.encode('SSH-2.0-OpenSSH_9.7\r\n'), kexinit(rng), kexinit(rng)];
    const b = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    const ends: number[] = [];
    for (const p of parts) { b.set(p, o); o += p.length; ends.push(o); }
    f.buf = b; [f.a, f.b, f.c, f.d] = ends as [number, number, number, number];
  },
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number, size: number, rng: Rng, ctx: SynthContext): number {
    if (k < 4) {
      f.dir = k === 0 || k === 3 ? 1 : 0; // server banner first; server KEXINIT last
      const ends = [0, f.a, f.b, f.c, f.d];
      buf.set(f.buf!.subarray(ends[k]!, ends[k + 1]!), off);
      return ends[k + 1]! - ends[k]!;
    }
    f.dir = rng.chance(0.5) ? 0 : 1;
    const len = 4 + 16 * Math.max(2, Math.round(clamp(size, 36, 1400) / 16)) + 16;
    fillPool(buf, off, len, rng, ctx);
    put32(buf, off, len - 4 - 16); // chacha20-poly1305 encrypts the length too; a plain length keeps it framed
    return len;
  },
};
