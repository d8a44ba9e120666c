/**
 * ESP (IP protocol 50, RFC 4303 §2): constant SPI per direction, sequence numbers from 1 counting up, IV +
 * ciphertext in 16-byte blocks + 12-byte ICV (HMAC-SHA1-96 / AES-CBC shape).
 */
import type { Rng } from '../rng.js';
import { fillPool, put32, type FlowKind, type SynthContext, type SynthFlow } from './types.js';

export const esp: FlowKind = {
  key: 'esp', transport: 'esp', expect: 'vpn', protocol: 'esp', minPackets: 2, packetWeight: 1.2,
  setup(f, rng) {
    f.cport = 0; f.sport = 0;
    f.a = (rng.u32() | 0x100) >>> 0; // SPI of client→server SA (values 1–255 are reserved)
    f.b = (rng.u32() | 0x100) >>> 0;
    f.c = 0; f.d = 0;
  },
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number, size: number, rng: Rng, ctx: SynthContext): number {
    f.dir = k === 0 ? 0 : k === 1 ? 1 : rng.chance(0.45) ? 0 : 1;
    const len = 8 + 16 + 16 * Math.max(1, Math.min(84, Math.round((size - 36) / 16))) + 12;
    fillPool(buf, off + 8, len - 8, rng, ctx);
    put32(buf, off, f.dir === 0 ? f.a : f.b);
    put32(buf, off + 4, f.dir === 0 ? ++f.c : ++f.d);
    return len;
  },
};

/** AH (IP protocol 51, RFC 4302 §2): next header, length in 32-bit words minus 2, SPI, sequence, 12-byte ICV. */
export const ah: FlowKind = {
  key: 'ah', transport: 'ah', expect: 'vpn', protocol: 'ah', minPackets: 2, packetWeight: 0.5,
  setup(f, rng) {
    f.cport = 0; f.sport = 0;
    f.a = (rng.u32() | 0x100) >>> 0;
    f.b = (rng.u32() | 0x100) >>> 0;
    f.c = 0; f.d = 0;
  },
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number, size: number, rng: Rng, ctx: SynthContext): number {
    f.dir = k === 0 ? 0 : k === 1 ? 1 : rng.chance(0.5) ? 0 : 1;
    const inner = Math.max(20, Math.min(1300, size - 24));
    fillPool(buf, off + 12, 12 + inner, rng, ctx);
    buf[off] = 4; // tunnel mode: an (authenticated, not encrypted) IPv4 packet follows
    buf[off + 1] = (12 + 12) / 4 - 2;
    buf[off + 2] = 0; buf[off + 3] = 0;
    put32(buf, off + 4, f.dir === 0 ? f.a : f.b);
    put32(buf, off + 8, f.dir === 0 ? ++f.c : ++f.d);
    // Inner IPv4 header shape so the bytes after the ICV read as a packet.
    const o = off + 24;
    buf[o] = 0x45; buf[o + 1] = 0; buf[o + 2] = inner >> 8; buf[o + 3] = inner & 255; buf[o + 9] = 17;
    return 24 + inner;
  },
};
