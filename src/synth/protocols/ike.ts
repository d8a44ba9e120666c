/**
 * IKEv2 (RFC 7296 §3.1–3.5; reference part 2): IKE_SA_INIT request/response with an SA → KE → Nonce payload
 * chain whose lengths sum to the header length; the responder echoes the initiator SPI. Then IKE_AUTH as an
 * encrypted SK payload (46) and INFORMATIONAL keep-alives. Some flows run on UDP 4500 with the 4-byte non-ESP
 * marker (RFC 3948 §2.2) and carry UDP-encapsulated ESP afterwards.
 *
 * Large handshakes, sent as IP fragments by the scheduler when they exceed the flow's path MTU: an IKE_AUTH carrying
 * certificates (an SK payload of 1.6–3.9 KB each way — the case the issue names: above the MTU, after NAT detection
 * on 4500) and an IKE_SA_INIT with a 1024-byte MODP-8192 key exchange (group 18, RFC 3526 §7) plus the usual
 * notifies and, in the response, a CERTREQ — about 1.3 KB, above a 1280-byte path (the IPv6 minimum, common on
 * tunnelled paths). RFC 7383's IKE fragmentation does not cover IKE_SA_INIT, so such messages rely on IP
 * fragmentation.
 */
import type { Rng } from '../rng.js';
import { ephemeralPort, fillPool, put16, put32, type FlowKind, type SynthContext, type SynthFlow } from './types.js';

export const IKE_HEADER_LEN = 28;
export const IKE_SA_INIT = 34, IKE_AUTH = 35, INFORMATIONAL = 37;
const PL_SA = 33, PL_KE = 34, PL_CERTREQ = 38, PL_NONCE = 40, PL_N = 41, PL_V = 43, PL_SK = 46;
/** Flow flags (in `f.f`): a certificate-sized IKE_AUTH; a MODP-8192 IKE_SA_INIT. */
const LARGE_AUTH = 1, LARGE_INIT = 2;
/** Packets a large flow needs: 4 handshake messages + up to 7 more fragments (see `fit`). */
const LARGE_MIN_PACKETS = 11;
const MODP8192 = 18, ECP256 = 19;

/** SA payload: one IKE proposal, AES-CBC-128 / PRF-HMAC-SHA256 / HMAC-SHA256-128 / D-H `group`. */
function saPayload(next: number, group: number): number[] {
  const transforms = [
    [3, 0, 0, 12, 1, 0, 0, 12, 0x80, 0x0e, 0x00, 0x80], // ENCR_AES_CBC + key length 128
    [3, 0, 0, 8, 2, 0, 0, 5],
    [3, 0, 0, 8, 3, 0, 0, 12],
    [0, 0, 0, 8, 4, 0, 0, group],
  ].flat();
  const proposal = [0, 0, 0, 0, 1, 1, 0, 4, ...transforms];
  proposal[3] = proposal.length;
  const len = 4 + proposal.length;
  return [next, 0, len >> 8, len & 255, ...proposal];
}

/** A notify payload (RFC 7296 §3.10): protocol 0, no SPI, `type`, `data`. */
function notify(next: number, type: number, data: Uint8Array | number[]): number[] {
  const len = 8 + data.length;
  return [next, 0, len >> 8, len & 255, 0, 0, type >> 8, type & 255, ...data];
}

/**
 * Whole IKE_SA_INIT message: SA → KE → Nonce, or with `large` a MODP-8192 key exchange (1024 bytes) followed by
 * NAT_DETECTION_SOURCE/DESTINATION_IP (16388/16389), IKEV2_FRAGMENTATION_SUPPORTED (16430),
 * SIGNATURE_HASH_ALGORITHMS (16431), two vendor IDs and, in a response, a CERTREQ of five X.509 CA hashes.
 */
export function ikeSaInit(ispi: Uint8Array, rspi: Uint8Array, response: boolean, rng: Rng, large = false): Uint8Array {
  const keLen = large ? 1024 : 64;
  const nonce = [large ? PL_N : 0, 0, 0, 36, ...rng.bytes(32)];
  const ke = [PL_NONCE, 0, (8 + keLen) >> 8, (8 + keLen) & 255, 0, large ? MODP8192 : ECP256, 0, 0, ...rng.bytes(keLen)];
  const extra: number[] = [];
  if (large) {
    extra.push(...notify(PL_N, 16388, rng.bytes(20)), ...notify(PL_N, 16389, rng.bytes(20)), ...notify(PL_N, 16430, []));
    extra.push(...notify(PL_V, 16431, [0, 2, 0, 3, 0, 4]));
    extra.push(PL_V, 0, 0, 20, ...rng.bytes(16), response ? PL_CERTREQ : 0, 0, 0, 20, ...rng.bytes(16)); // two vendor IDs
    if (response) extra.push(0, 0, 0, 105, 4, ...rng.bytes(100)); // CERTREQ: X.509 signature, five SHA-1 CA hashes
  }
  const body = [...saPayload(PL_KE, large ? MODP8192 : ECP256), ...ke, ...nonce, ...extra];
  const total = IKE_HEADER_LEN + body.length;
  const out = new Uint8Array(total);
  out.set(ispi, 0); out.set(rspi, 8);
  out[16] = PL_SA; out[17] = 0x20; out[18] = IKE_SA_INIT; out[19] = response ? 0x20 : 0x08;
  put32(out, 20, 0); put32(out, 24, total);
  out.set(body, IKE_HEADER_LEN);
  return out;
}

/** An encrypted exchange: header + SK payload (IV 16, ciphertext multiple of 16, ICV 16). */
function encrypted(f: SynthFlow, buf: Uint8Array, off: number, exch: number, msgId: number, response: boolean, blocks: number, rng: Rng, ctx: SynthContext): number {
  const skLen = 4 + 16 + 16 * blocks + 16;
  const total = IKE_HEADER_LEN + skLen;
  const t = f.buf!;
  buf.set(t.subarray(0, 16), off); // both SPIs
  buf[off + 16] = PL_SK; buf[off + 17] = 0x20; buf[off + 18] = exch;
  buf[off + 19] = (response ? 0x20 : 0) | (f.dir === 0 ? 0x08 : 0);
  put32(buf, off + 20, msgId); put32(buf, off + 24, total);
  buf[off + 28] = exch === IKE_AUTH ? 35 : 0; buf[off + 29] = 0; put16(buf, off + 30, skLen); // first inner payload: IDi
  fillPool(buf, off + 32, skLen - 4, rng, ctx);
  return total;
}

export const ike: FlowKind = {
  key: 'ike', transport: 'udp', expect: 'vpn', protocol: 'ike', minPackets: 2, packetWeight: 0.4,
  setup(f, rng) {
    const natT = rng.chance(0.3);
    f.sport = natT ? 4500 : 500;
    f.cport = natT ? (rng.chance(0.5) ? 4500 : ephemeralPort(rng)) : rng.chance(0.7) ? 500 : ephemeralPort(rng);
    f.e = natT ? 4 : 0; // non-ESP marker length
    // Certificates in IKE_AUTH for a third of the flows, a MODP-8192 IKE_SA_INIT for a fifth; such a flow's path
    // MTU is the IPv6 minimum (1280) on IPv6 and 1500 or 1280 on IPv4.
    f.f = (rng.chance(0.35) ? LARGE_AUTH : 0) | (rng.chance(0.2) ? LARGE_INIT : 0);
    if (f.f !== 0) f.mtu = f.v6 || rng.chance(0.5) ? 1280 : 1500;
    const ispi = rng.bytes(8), rspi = rng.bytes(8);
    const b = new Uint8Array(16);
    b.set(ispi, 0); b.set(rspi, 8);
    f.buf = b; // SPIs; the IKE_SA_INIT pair is built at the first packet, once `fit` has settled the flags
    f.c = rng.u32() | 0x100; f.d = rng.u32() | 0x100; // ESP SPIs for the encapsulated traffic (4500 only)
    f.g = 0; f.h = 0; // ESP sequence numbers per direction
  },
  fit(f) {
    if (f.f !== 0 && f.n < LARGE_MIN_PACKETS) {
      f.f = 0;
      f.mtu = 1500;
    }
  },
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number, size: number, rng: Rng, ctx: SynthContext): number {
    if (k === 0) {
      const ispi = f.buf!.subarray(0, 8), rspi = f.buf!.subarray(8, 16);
      const large = (f.f & LARGE_INIT) !== 0;
      const req = ikeSaInit(ispi, new Uint8Array(8), false, rng, large);
      const resp = ikeSaInit(ispi, rspi, true, rng, large);
      const b = new Uint8Array(16 + req.length + resp.length);
      b.set(f.buf!.subarray(0, 16), 0); b.set(req, 16); b.set(resp, 16 + req.length);
      f.buf = b; f.a = req.length; f.b = resp.length;
    }
    const m = f.e;
    if (m > 0 && k >= 4) {
      // UDP-encapsulated ESP (RFC 3948): SPI (never 0, so no marker), sequence number, IV, ciphertext, ICV.
      f.dir = rng.chance(0.45) ? 0 : 1;
      const len = 8 + 16 + 16 * Math.max(1, Math.min(84, Math.floor((size - 36) / 16))) + 12; // ≤ size: fits the path MTU
      fillPool(buf, off + 8, len - 8, rng, ctx);
      put32(buf, off, f.dir === 0 ? f.c : f.d);
      put32(buf, off + 4, f.dir === 0 ? ++f.g : ++f.h);
      return len;
    }
    if (m > 0) put32(buf, off, 0);
    const o = off + m;
    let n: number;
    if (k === 0) { f.dir = 0; buf.set(f.buf!.subarray(16, 16 + f.a), o); n = f.a; }
    else if (k === 1) { f.dir = 1; buf.set(f.buf!.subarray(16 + f.a, 16 + f.a + f.b), o); n = f.b; }
    else if (k === 2) { f.dir = 0; n = encrypted(f, buf, o, IKE_AUTH, 1, false, f.f & LARGE_AUTH ? rng.range(100, 160) : 20, rng, ctx); }
    else if (k === 3) { f.dir = 1; n = encrypted(f, buf, o, IKE_AUTH, 1, true, f.f & LARGE_AUTH ? rng.range(160, 240) : 16, rng, ctx); }
    else {
      // INFORMATIONAL request/response pairs (dead-peer detection), message ids counting up.
      const req = (k & 1) === 0;
      f.dir = req ? 0 : 1;
      n = encrypted(f, buf, o, INFORMATIONAL, 2 + ((k - 4) >> 1), !req, 1, rng, ctx);
    }
    return n + m;
  },
};
