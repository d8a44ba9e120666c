/**
 * Hand-built packets for the UDP/overlay VPN detector tests, following parts/1-udp-vpns.md field by field, and a
 * FlowView that behaves like the flow table (earlier packets expose only their first `keep` bytes).
 * Random-looking fields come from a seeded PRNG so tests are reproducible.
 */
import type { Detector, Evidence, FlowView } from '../../src/detect/types.js';

export const KEEP_BYTES = 48;

export interface Pkt {
  dir: number;
  bytes: Uint8Array;
}

/** FlowView over packets where packet i < nPackets-1 exposes only its first `keep` bytes, like the flow table. */
export class LimitedFlowView implements FlowView {
  readonly ipVersion = 4 as const;
  nPackets: number;
  constructor(
    readonly transport: number,
    readonly srcPort: number,
    readonly dstPort: number,
    private readonly pk: readonly Pkt[],
    n = pk.length,
    private readonly keep = KEEP_BYTES,
  ) {
    this.nPackets = n;
  }
  dir(i: number): number {
    return this.pk[i]!.dir;
  }
  len(i: number): number {
    return this.pk[i]!.bytes.length;
  }
  avail(i: number): number {
    const l = this.pk[i]!.bytes.length;
    return i === this.nPackets - 1 ? l : Math.min(this.keep, l);
  }
  buf(i: number): Uint8Array {
    return this.pk[i]!.bytes;
  }
  start(_i: number): number {
    return 0;
  }
}

/**
 * Calls `detect` as the classifier would: once per recorded packet, up to `maxPackets`, and never again once
 * `excludes` said the flow is not the detector's protocol — so every positive test here also checks that no
 * packet of a real-shaped flow is excluded.
 */
export function runFlow(det: Detector, transport: number, srcPort: number, dstPort: number, pk: readonly Pkt[], keep = KEEP_BYTES): Evidence[] {
  const out: Evidence[] = [];
  const v = new LimitedFlowView(transport, srcPort, dstPort, pk, 0, keep);
  for (let n = 1; n <= Math.min(pk.length, det.maxPackets); n++) {
    v.nPackets = n;
    const ev = det.detect(v);
    if (ev) out.push(...ev);
    else if (det.excludes?.(v) === true) break;
  }
  return out;
}

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s & 0xff;
  };
}
export function randomBytes(n: number, r: () => number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r();
  return b;
}
export function hex(s: string): Uint8Array {
  const t = s.replace(/[^0-9a-fA-F]/g, '');
  const b = new Uint8Array(t.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return b;
}
export function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
export function concat(...parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const b = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    b.set(p, o);
    o += p.length;
  }
  return b;
}
function putU32le(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
export function putU32be(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  putU32be(b, 0, v);
  return b;
}

// ---------------------------------------------------------------- WireGuard family

/** Spec worked example: initiation, sender index 0xd7519a3c, mac2 zero. */
export const WG_SPEC_INIT = hex(`
01 00 00 00 3c 9a 51 d7 58 01 16 46 ee fa 53 e0 d9 7e 26 00 1d 48 e7 95 0d b4 80 25 26 82 53 e6
a5 74 84 87 89 ba 47 ab 0f 9a 16 4d 0d 91 ef cd f5 ce da 6b a2 62 5c 3f 66 fb cb 62 27 d5 55 dc
c7 f9 37 ec 10 f7 d3 31 11 fb 6e ba fd 55 49 ef a5 11 86 ce c5 b5 a6 2d 04 2d 47 8c 7a de 26 68
11 e1 1f 03 ac ee 91 f2 c7 63 cf 70 6f e8 8b 69 b8 bb 8f 0a b7 03 fe ac c6 09 47 65 78 6e cf 49
1f 6e 17 b6 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00`);
/** Spec worked example: response, sender 0x056e2188, receiver = the initiation's sender. */
export const WG_SPEC_RESP = hex(`
02 00 00 00 88 21 6e 05 3c 9a 51 d7 16 dd f7 bd 99 6c 2d 9b 8c 67 26 4c a4 45 08 c3 70 dc 16 e6
16 9b 43 8a c9 dd 77 59 03 45 58 e2 5c a8 b4 aa 66 91 79 11 ec f8 a5 af f6 40 ae fa 1e 99 27 9d
65 ad 15 ee f9 b1 91 cd b2 77 90 ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00`);

export function wgInit(sender: number, r: () => number, reserved = 0): Uint8Array {
  const b = randomBytes(148, r);
  putU32le(b, 0, 1 | (reserved << 8));
  putU32le(b, 4, sender);
  b.fill(0, 132);
  return b;
}
export function wgResp(sender: number, receiver: number, r: () => number, reserved = 0): Uint8Array {
  const b = randomBytes(92, r);
  putU32le(b, 0, 2 | (reserved << 8));
  putU32le(b, 4, sender);
  putU32le(b, 8, receiver);
  b.fill(0, 76);
  return b;
}
export function wgCookie(receiver: number, r: () => number): Uint8Array {
  const b = randomBytes(64, r);
  putU32le(b, 0, 3);
  putU32le(b, 4, receiver);
  return b;
}
export function wgData(receiver: number, counter: number, len: number, r: () => number, typeWord = 4): Uint8Array {
  const b = randomBytes(len, r);
  putU32le(b, 0, typeWord);
  putU32le(b, 4, receiver);
  putU32le(b, 8, counter);
  putU32le(b, 12, 0);
  return b;
}
/** Spec worked example: Tailscale disco ping, 124 bytes. */
export const TS_SPEC_DISCO = hex(`
54 53 f0 9f 92 ac cd 02 80 1a dc 2c a1 23 d5 66 85 5b 29 50 7c 16 3a a0 93 a5 94 a8 03 c1 e6 60
b6 d4 75 f8 20 f3 62 60 b1 29 8e 52 ea b1 43 f0 98 5b 5c d2 ec 64 3a 07 7a 91 fe c6 a4 0c c3 71
58 51 ec 46 17 ac cb 34 f9 b8 92 29 49 8b 6b 8a a8 f2 46 ca cc 03 4d 8e 2b 06 80 04 4e 4a a2 08
22 f4 9c f6 28 57 b4 e8 ba 6b 13 03 5a a8 f0 91 9f 70 4d 54 d3 ef db 31 61 0e e1 c5`);
export function disco(key: Uint8Array, len: number, r: () => number): Uint8Array {
  const b = randomBytes(len, r);
  b.set([0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac], 0);
  b.set(key.subarray(0, 32), 6);
  return b;
}

// ---------------------------------------------------------------- OpenVPN

export type OvpnMode = { kind: 'N' } | { kind: 'A'; hmac: number } | { kind: 'C' };
export interface OvpnSide {
  sid: Uint8Array;
  replay: number;
  netTime: number;
}
/**
 * One control packet: opcode byte, session id, then per mode: N → acks…; A → HMAC, replay id, net time, acks…;
 * C → replay id, net time, 32-byte tag, then (encrypted) random bytes of the same size as the clear layout.
 */
export function ovpnControl(
  byte0: number, mode: OvpnMode, side: OvpnSide, acks: number[], remote: Uint8Array | null, msgId: number | null,
  payload: Uint8Array, r: () => number,
): Uint8Array {
  const inner: Uint8Array[] = [new Uint8Array([acks.length])];
  for (const a of acks) inner.push(u32(a));
  if (acks.length > 0 && remote) inner.push(remote);
  if (msgId !== null) inner.push(u32(msgId));
  inner.push(payload);
  const rest = concat(...inner);
  const head = concat(new Uint8Array([byte0]), side.sid);
  const replay = concat(u32(side.replay), u32(side.netTime));
  side.replay++;
  if (mode.kind === 'N') return concat(head, rest);
  if (mode.kind === 'A') return concat(head, randomBytes(mode.hmac, r), replay, rest);
  return concat(head, replay, randomBytes(32, r), randomBytes(rest.length, r));
}
export function tcpFrame(p: Uint8Array): Uint8Array {
  return concat(new Uint8Array([p.length >> 8, p.length & 0xff]), p);
}
/** Spec worked example 1 (tls-auth SHA1): client reset 42 bytes, server reset 54 bytes. */
export const OVPN_SPEC_CLIENT = hex(`
38 6a 1f 93 c2 0b 7e 4d 58 a3 3b 14 7b 08 41 4f 8c 1e 5e 89 3c 9e 8e 67 7c 58 6f 51 c1 00 00 00
01 6a 2f 1c 40 00 00 00 00 00`);
export const OVPN_SPEC_SERVER = hex(`
40 d4 e0 5b 77 91 a2 c3 6f 33 a3 e4 b2 a7 57 6c 0f bb d5 98 74 dd 8a 89 45 d9 a7 96 cc 00 00 00
01 6a 2f 1c 40 01 00 00 00 00 6a 1f 93 c2 0b 7e 4d 58 00 00 00 00`);
/** Spec worked example 2: TCP mode-N client reset segment. */
export const OVPN_SPEC_TCP_CLIENT = hex('00 0e 38 6a 1f 93 c2 0b 7e 4d 58 00 00 00 00 00');
export function ovpnDataV2(byte0: number, peer: number, pid: number, len: number, r: () => number): Uint8Array {
  const b = randomBytes(len, r);
  b[0] = byte0;
  b[1] = (peer >>> 16) & 0xff;
  b[2] = (peer >>> 8) & 0xff;
  b[3] = peer & 0xff;
  putU32be(b, 4, pid);
  return b;
}

// ---------------------------------------------------------------- SoftEther Pack

export type PackValue = { t: 0; v: number[] } | { t: 1 | 2 | 3; v: Uint8Array[] } | { t: 4; v: number[] };
export function pack(elements: [string, PackValue][]): Uint8Array {
  const parts: Uint8Array[] = [u32(elements.length)];
  for (const [name, val] of elements) {
    const nb = ascii(name);
    parts.push(u32(nb.length + 1), nb, u32(val.t), u32(val.v.length));
    for (const x of val.v) {
      if (val.t === 0) parts.push(u32(x as number));
      else if (val.t === 4) parts.push(u32(0), u32(x as number));
      else parts.push(u32((x as Uint8Array).length), x as Uint8Array);
    }
  }
  return concat(...parts);
}
/** Spec worked example: a one-element Pack (33 bytes). */
export const SOFTETHER_SPEC_PACK = hex('00 00 00 01 00 00 00 0a 68 6f 73 74 5f 6e 61 6d 65 00 00 00 02 00 00 00 01 00 00 00 04 76 70 6e 31');

// ---------------------------------------------------------------- ZeroTier

/** Spec worked example: HELLO with IPv4 destination 198.51.100.23:9993 (135 bytes). */
export const ZT_SPEC_HELLO = hex(`
86 6b 87 ae b2 d4 4c 7a 8a 3c 5e 01 d7 2b 91 0c 7e 44 00 db ff 3a 77 ac 5e f6 c7 01 0c 01 0e 00
02 00 00 01 9e c8 06 5a 7b 2b 91 0c 7e 44 00 9a e8 11 1c 04 d5 fc 0e 61 fa 74 88 3c 65 ff e2 fe
93 e6 15 f7 cf 44 86 d3 87 94 ef c3 5d 08 11 e9 d8 86 17 07 8b 1c 6a 2e ad 76 08 51 47 12 b5 14
ec cc df 63 9d f6 e8 d0 d2 a7 c1 6b f6 dc 68 00 04 c6 33 64 17 27 09 1f 33 14 11 72 3d 16 d6 00
00 01 8b cf e5 68 00`);
export function ztPacket(dest: Uint8Array, src: Uint8Array, flags: number, len: number, r: () => number): Uint8Array {
  const b = randomBytes(len, r);
  b.set(dest, 8);
  b.set(src, 13);
  b[18] = flags;
  return b;
}

// ---------------------------------------------------------------- Nebula

/** Spec worked example: stage 1, 354 bytes (keys and certificate bytes random; InitiatorIndex 0x4b2c1a07). */
export function nebulaStage1(r: () => number): Uint8Array {
  return concat(
    hex('10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01'),
    randomBytes(64, r),
    hex('0a 8f 02 0a fa 01'),
    randomBytes(250, r),
    hex('10 87 b4 b0 d9 04 28 95 9a 99 91 af f4 c3 dc 18 40 01'),
  );
}
