/**
 * A classic pcap byte stream written piece by piece (a slow capture on stdin): the global header, then one
 * record per frame. Frames are spec-built Ethernet frames (src/trace/frame-builder.ts); payloads come from the
 * detector test builders. Also the handful of flows the CLI stream tests send.
 */
import { buildFrame, TCP_ACK, TCP_FIN, TCP_SYN, type FrameSpec } from '../../src/trace/frame-builder.js';
import { ovpnControl, randomBytes, rng, wgInit, wgResp, type OvpnSide } from '../detect/udp-vpn-builders.js';

/** Classic pcap global header, microsecond timestamps, Ethernet. */
export function pcapHeader(linkType = 1): Uint8Array {
  const b = new Uint8Array(24);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, linkType, true);
  return b;
}

/** One pcap record holding `frame`, captured at `tsUs`. */
export function pcapRecord(frame: Uint8Array, tsUs: number): Uint8Array {
  const b = new Uint8Array(16 + frame.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, Math.floor(tsUs / 1e6), true);
  dv.setUint32(4, tsUs % 1e6, true);
  dv.setUint32(8, frame.length, true);
  dv.setUint32(12, frame.length, true);
  b.set(frame, 16);
  return b;
}

export type Spec = FrameSpec & { srcPort: number; dstPort: number };

const rev = (s: Spec): Spec => ({ ...s, src: s.dst, dst: s.src, srcPort: s.dstPort, dstPort: s.srcPort });

/** WireGuard initiation and the response echoing its sender index (strong at the second packet). */
export function wgHandshake(client: string, server: string, cport: number, seed: number): Spec[] {
  const r = rng(seed);
  const c: Spec = { src: client, dst: server, proto: 17, srcPort: cport, dstPort: 51820 };
  const sender = (r() * 2 ** 32) >>> 0;
  return [{ ...c, payload: wgInit(sender, r) }, { ...rev(c), payload: wgResp((r() * 2 ** 32) >>> 0, sender, r) }];
}

/** OpenVPN (tls-auth) client hard reset and the server reset echoing its session id. */
export function ovpnHandshake(client: string, server: string, cport: number, seed: number): Spec[] {
  const r = rng(seed);
  const c: Spec = { src: client, dst: server, proto: 17, srcPort: cport, dstPort: 1194 };
  const mode = { kind: 'A' as const, hmac: 20 };
  const cs: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: 0x6a2f1c40 };
  const ss: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: 0x6a2f1c41 };
  const none = new Uint8Array(0);
  return [{ ...c, payload: ovpnControl(0x38, mode, cs, [], null, 0, none, r) }, { ...rev(c), payload: ovpnControl(0x40, mode, ss, [0], cs.sid, 0, none, r) }];
}

/** A short TCP exchange that ends with FIN both ways (its record is due at the last packet). */
export function tcpExchange(client: string, server: string, cport: number, seed: number): Spec[] {
  const r = rng(seed);
  const c: Spec = { src: client, dst: server, proto: 6, srcPort: cport, dstPort: 8080 };
  const s = rev(c);
  return [
    { ...c, tcpFlags: TCP_SYN },
    { ...s, tcpFlags: TCP_SYN | TCP_ACK },
    { ...c, tcpFlags: TCP_ACK, payload: randomBytes(80, r) },
    { ...s, tcpFlags: TCP_ACK, payload: randomBytes(200, r) },
    { ...c, tcpFlags: TCP_FIN | TCP_ACK },
    { ...s, tcpFlags: TCP_FIN | TCP_ACK },
    { ...c, tcpFlags: TCP_ACK },
  ];
}

/** A datagram of random bytes (an ordinary UDP flow that stays open). */
export function udpDatagram(client: string, server: string, cport: number, sport: number, seed: number): Spec {
  return { src: client, dst: server, proto: 17, srcPort: cport, dstPort: sport, payload: randomBytes(100, rng(seed)) };
}

/** Writes pcap records of frames to a stream, with a capture clock that advances 1 ms per frame. */
export class PcapFeed {
  private tsUs: number;
  /** `startUs`: the capture clock's start (default 2023-11-14; `Date.now() * 1000` for a capture that looks live). */
  constructor(private readonly out: NodeJS.WritableStream, startUs = 1_700_000_000_000_000) {
    this.tsUs = startUs;
    out.write(pcapHeader());
  }
  /** Write the frames; resolves when the stream took them. */
  send(...specs: Spec[]): Promise<void> {
    const parts = specs.map((s) => pcapRecord(buildFrame(s), (this.tsUs += 1000)));
    const all = Buffer.concat(parts);
    return new Promise((ok, fail) => this.out.write(all, (e) => (e ? fail(e) : ok())));
  }
}
