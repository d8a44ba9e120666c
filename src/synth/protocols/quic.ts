/**
 * QUIC v1 over UDP 443 (RFC 9000 §17, RFC 9001 §5): a protected client Initial carrying a ClientHello with SNI
 * (padded to 1200 bytes), a protected server Initial with ACK + ServerHello, then 1-RTT short-header packets
 * addressed to the peer's connection id. Initials are real: a decryptor recovers the SNI with the RFC keys.
 */
import { initialKeys, protectLong } from '../quic-crypto.js';
import { clientHello, serverHello } from '../tls.js';
import type { Rng } from '../rng.js';
import { clamp, ephemeralPort, fillPool, type FlowKind, type SynthContext, type SynthFlow } from './types.js';

const CID_LEN = 8;
const PN_LEN = 2;
/** RFC 9000 §14.1: a client's Initial datagram is at least 1200 bytes. */
export const QUIC_MIN_INITIAL = 1200;

function longHeader(dcid: Uint8Array, scid: Uint8Array, payloadLen: number, pn: number): Uint8Array {
  const h = new Uint8Array(1 + 4 + 1 + dcid.length + 1 + scid.length + 1 + 2 + PN_LEN);
  let o = 0;
  h[o++] = 0xc0 | (PN_LEN - 1); // long header, fixed bit, type Initial (0), 2-byte packet number
  h[o++] = 0; h[o++] = 0; h[o++] = 0; h[o++] = 1;
  h[o++] = dcid.length; h.set(dcid, o); o += dcid.length;
  h[o++] = scid.length; h.set(scid, o); o += scid.length;
  h[o++] = 0; // token length
  const len = PN_LEN + payloadLen + 16;
  h[o++] = 0x40 | (len >> 8); h[o++] = len & 255; // 2-byte varint
  h[o++] = pn >> 8; h[o++] = pn & 255;
  return h;
}

function cryptoFrame(data: Uint8Array, padTo: number): Uint8Array {
  const out = new Uint8Array(Math.max(padTo, 4 + data.length));
  out[0] = 0x06; out[1] = 0x00; out[2] = 0x40 | (data.length >> 8); out[3] = data.length & 255;
  out.set(data, 4);
  return out; // the zero tail is PADDING frames
}

export function buildClientInitial(host: string, dcid: Uint8Array, scid: Uint8Array, rng: Rng): Uint8Array {
  const ch = clientHello({ host, alpn: ['h3'], quic: true }, rng);
  const hdrLen = 1 + 4 + 1 + CID_LEN + 1 + CID_LEN + 1 + 2 + PN_LEN;
  const frames = cryptoFrame(ch, QUIC_MIN_INITIAL - hdrLen - 16);
  return protectLong(longHeader(dcid, scid, frames.length, 0), PN_LEN, 0, frames, initialKeys(dcid, 'client'));
}

function buildServerInitial(odcid: Uint8Array, clientScid: Uint8Array, serverCid: Uint8Array, rng: Rng): Uint8Array {
  const sh = serverHello(new Uint8Array(0), rng);
  const frames = new Uint8Array(5 + 4 + sh.length);
  frames.set([0x02, 0x00, 0x00, 0x00, 0x00], 0); // ACK largest 0, delay 0, no extra ranges, first range 0
  frames.set(cryptoFrame(sh, 0), 5);
  return protectLong(longHeader(clientScid, serverCid, frames.length, 0), PN_LEN, 0, frames, initialKeys(odcid, 'server'));
}

export const quic: FlowKind = {
  key: 'quic', transport: 'udp', expect: 'ordinary', protocol: null, minPackets: 3, packetWeight: 1,
  setup(f, rng, ctx) {
    f.cport = ephemeralPort(rng);
    f.sport = 443;
    f.host = rng.pick(ctx.webDomains);
    const odcid = rng.bytes(CID_LEN), cscid = rng.bytes(CID_LEN), scid = rng.bytes(CID_LEN);
    const ci = buildClientInitial(f.host, odcid, cscid, rng);
    const si = buildServerInitial(odcid, cscid, scid, rng);
    const b = new Uint8Array(ci.length + si.length + 2 * CID_LEN);
    b.set(ci, 0); b.set(si, ci.length); b.set(cscid, ci.length + si.length); b.set(scid, ci.length + si.length + CID_LEN);
    f.buf = b; f.a = ci.length; f.b = si.length;
  },
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number, size: number, rng: Rng, ctx: SynthContext): number {
    const t = f.buf!;
    if (k === 0) { f.dir = 0; buf.set(t.subarray(0, f.a), off); return f.a; }
    if (k === 1) { f.dir = 1; buf.set(t.subarray(f.a, f.a + f.b), off); return f.b; }
    f.dir = rng.chance(0.3) ? 0 : 1;
    const len = clamp(size, 1 + CID_LEN + 20, 1350);
    fillPool(buf, off, len, rng, ctx);
    buf[off] = 0x40 | (buf[off]! & 0x3f); // short header, fixed bit; other bits header-protected
    // Destination CID: the server's id towards the server, the client's SCID back to the client.
    const cid = f.a + f.b + (f.dir === 0 ? CID_LEN : 0);
    buf.set(t.subarray(cid, cid + CID_LEN), off + 1);
    return len;
  },
};
