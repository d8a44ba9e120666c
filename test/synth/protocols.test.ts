/**
 * Structural spec checks on the generated packets of every kind, parsed back from the capture with the
 * independent pcap-lite parser (reference parts 1–3: WireGuard, OpenVPN, IKEv2/ESP/AH, L2TP, PPTP/GRE, TLS,
 * QUIC, plus the ordinary look-alikes).
 */
import { createDecipheriv, createCipheriv, createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { synthesize, type TruthRecord } from '../../src/synth/generate.js';
import { VPN_PROVIDER_DOMAINS, WEB_DOMAINS } from '../../src/synth/names.js';
import { flowKey, packetFlowKey, parsePcap, type LitePacket } from './pcap-lite.js';

const parts: Uint8Array[] = [];
const res = synthesize({ packets: 70000, flows: 1600, vpnShare: 0.5, registeredShare: 0.5, seed: 5 }, (c) => parts.push(c.slice()));
const { packets } = parsePcap(Buffer.concat(parts));
const byKey = new Map<string, LitePacket[]>();
for (const p of packets) {
  const k = packetFlowKey(p);
  let l = byKey.get(k);
  if (!l) byKey.set(k, (l = []));
  l.push(p);
}
interface Flow { t: TruthRecord; ps: LitePacket[]; data: LitePacket[]; fromClient: (p: LitePacket) => boolean }
const flows: Flow[] = res.truth.map((t) => {
  const ps = byKey.get(flowKey(t.transport, t.src, t.dst))!;
  const c = ps[0]!.src;
  return { t, ps, data: ps.filter((p) => p.payload.length > 0), fromClient: (p: LitePacket) => p.src === c };
});
const ofKind = (k: string): Flow[] => flows.filter((f) => f.t.kind === k);

const u16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const u32le = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** SNI of a ClientHello handshake message (starting at the handshake type byte), parsed by the RFC layout. */
function sniOf(hs: Uint8Array): string | null {
  if (hs[0] !== 1) return null;
  let o = 4 + 2 + 32;
  o += 1 + hs[o]!;
  o += 2 + u16(hs, o);
  o += 1 + hs[o]!;
  const end = o + 2 + u16(hs, o);
  o += 2;
  while (o + 4 <= end) {
    const type = u16(hs, o), len = u16(hs, o + 2);
    if (type === 0) return Buffer.from(hs.subarray(o + 4 + 5, o + 4 + len)).toString('latin1');
    o += 4 + len;
  }
  return null;
}

describe('every kind is present', () => {
  it('all 19 kinds appear, each with at least one flow', () => {
    const kinds = new Set(res.truth.map((t) => t.kind));
    for (const k of ['wireguard', 'openvpn-udp', 'openvpn-tcp', 'ike', 'esp', 'ah', 'l2tp', 'pptp', 'pptp-gre', 'tls-vpn-provider',
      'tls', 'dns', 'quic', 'http', 'ssh', 'stun', 'webrtc-dtls', 'game-udp', 'ntp']) expect(kinds.has(k), k).toBe(true);
  });
});

describe('TCP', () => {
  it('opens with SYN / SYN-ACK / ACK, acknowledges sequence numbers, and closes with a FIN exchange', () => {
    for (const f of flows.filter((x) => x.t.transport === 'tcp')) {
      const [syn, synack, ack] = f.ps as [LitePacket, LitePacket, LitePacket];
      expect(syn.tcpFlags).toBe(0x02);
      expect(synack.tcpFlags).toBe(0x12);
      expect(synack.ack).toBe((syn.seq + 1) >>> 0);
      expect(ack.tcpFlags).toBe(0x10);
      expect(ack.ack).toBe((synack.seq + 1) >>> 0);
      const tail = f.ps.slice(-4);
      expect(tail.map((p) => p.tcpFlags)).toEqual([0x11, 0x10, 0x11, 0x10]);
      // Byte stream continuity per direction.
      let next = [(syn.seq + 1) >>> 0, (synack.seq + 1) >>> 0];
      for (const p of f.ps.slice(2)) {
        const d = f.fromClient(p) ? 0 : 1;
        expect(p.seq).toBe(next[d]);
        next[d] = (next[d]! + p.payload.length + (p.tcpFlags & 1)) >>> 0;
      }
    }
  });
});

describe('WireGuard', () => {
  it('initiation 148 B type 1, response 92 B echoing the sender index, data type 4 with 16-aligned length and counters', () => {
    for (const f of ofKind('wireguard')) {
      const [i, r] = f.ps as [LitePacket, LitePacket];
      expect(i.payload.length).toBe(148);
      expect([...i.payload.subarray(0, 4)]).toEqual([1, 0, 0, 0]);
      expect(r.payload.length).toBe(92);
      expect([...r.payload.subarray(0, 4)]).toEqual([2, 0, 0, 0]);
      expect(u32le(r.payload, 8)).toBe(u32le(i.payload, 4));
      const ctr = [0, 0];
      for (const p of f.ps.slice(2)) {
        const d = f.fromClient(p) ? 0 : 1;
        expect(p.payload[0]).toBe(4);
        expect((p.payload.length - 32) % 16).toBe(0);
        expect(p.payload.length).toBeGreaterThanOrEqual(32);
        expect(u32le(p.payload, 4)).toBe(d === 0 ? u32le(r.payload, 4) : u32le(i.payload, 4));
        expect(u32le(p.payload, 8)).toBe(ctr[d]!++);
      }
    }
  });
});

describe('OpenVPN', () => {
  function check(f: Flow, tcp: boolean): void {
    const msgs = f.data.map((p) => {
      if (!tcp) return p.payload;
      expect(u16(p.payload, 0)).toBe(p.payload.length - 2);
      return p.payload.subarray(2);
    });
    const [c0, s0, c1] = msgs as [Uint8Array, Uint8Array, Uint8Array];
    expect(c0[0]! >> 3).toBe(7);
    expect(c0[9]).toBe(0); // empty ack array
    expect(s0[0]! >> 3).toBe(8);
    expect(s0[9]).toBe(1);
    expect(u32(s0, 10)).toBe(0);
    expect(hex(s0.subarray(14, 22))).toBe(hex(c0.subarray(1, 9))); // the server echoes the client session id
    expect(c1[0]! >> 3).toBe(5);
    expect(hex(c1.subarray(14, 22))).toBe(hex(s0.subarray(1, 9)));
    const data = msgs.slice(6);
    const peers = new Set(data.map((m) => (m[1]! << 16) | (m[2]! << 8) | m[3]!));
    for (const m of data) expect(m[0]).toBe((9 << 3) | 0);
    expect(peers.size <= 1).toBe(true);
  }
  it('UDP: hard resets with session-id echo, ACK, P_DATA_V2 with key id 0 and one peer-id; some on 53/443', () => {
    const fs = ofKind('openvpn-udp');
    for (const f of fs) check(f, false);
    expect(fs.some((f) => f.t.dst.endsWith(':1194'))).toBe(true);
    expect(fs.some((f) => f.t.dst.endsWith(':443') || f.t.dst.endsWith(':53'))).toBe(true);
  });
  it('TCP: same exchange, each packet behind its 2-byte length', () => {
    for (const f of ofKind('openvpn-tcp')) check(f, true);
  });
});

describe('IKEv2 / ESP / AH', () => {
  function ikeMsg(p: LitePacket): Uint8Array {
    return p.sport === 4500 || p.dport === 4500 ? p.payload.subarray(4) : p.payload;
  }
  it('IKE_SA_INIT: header length = UDP payload, SA/KE/Nonce chain sums to it, responder echoes SPI; marker on 4500', () => {
    const fs = ofKind('ike');
    expect(fs.some((f) => f.t.dst.endsWith(':4500'))).toBe(true);
    expect(fs.some((f) => f.t.dst.endsWith(':500'))).toBe(true);
    for (const f of fs) {
      const [req, resp] = f.ps as [LitePacket, LitePacket];
      if (f.t.dst.endsWith(':4500')) expect(u32(req.payload, 0)).toBe(0);
      for (const [p, isResp] of [[req, false], [resp, true]] as const) {
        const m = ikeMsg(p);
        expect(u32(m, 24)).toBe(m.length);
        expect(m[17]).toBe(0x20);
        expect(m[18]).toBe(34);
        expect(m[19]).toBe(isResp ? 0x20 : 0x08);
        const chain: number[] = [];
        let next = m[16]!, o = 28;
        while (next !== 0) {
          chain.push(next);
          next = m[o]!;
          o += u16(m, o + 2);
        }
        // Small: SA, KE (ECP-256), Nonce. Large (MODP-8192): + 4 notifies, 2 vendor IDs, and a CERTREQ in the response.
        if (m.length < 600) expect(chain).toEqual([33, 34, 40]);
        else expect(chain).toEqual([33, 34, 40, 41, 41, 41, 41, 43, 43, ...(isResp ? [38] : [])]);
        expect(o).toBe(m.length);
      }
      expect(hex(ikeMsg(resp).subarray(0, 8))).toBe(hex(ikeMsg(req).subarray(0, 8)));
      expect(hex(ikeMsg(req).subarray(8, 16))).toBe('0000000000000000');
      expect(hex(ikeMsg(resp).subarray(8, 16))).not.toBe('0000000000000000');
      // Later IKE messages keep the SPIs and a consistent length.
      for (const p of f.ps.slice(2)) {
        const m = ikeMsg(p);
        if (f.t.dst.endsWith(':4500') && u32(p.payload, 0) !== 0) continue; // UDP-encapsulated ESP
        expect(u32(m, 24)).toBe(m.length);
        expect(hex(m.subarray(0, 8))).toBe(hex(ikeMsg(req).subarray(0, 8)));
      }
    }
  });
  it('large handshakes (IKE_AUTH with certificates, MODP-8192 IKE_SA_INIT) leave as IP fragments, IPv4 and IPv6, and join whole', () => {
    const fs = ofKind('ike');
    const fragmented = fs.flatMap((f) => f.ps.filter((p) => p.frames > 1).map((p) => ({ f, p })));
    expect(fragmented.some(({ p }) => p.v6)).toBe(true);
    expect(fragmented.some(({ p }) => !p.v6)).toBe(true);
    // Both message kinds, on 500 and behind the non-ESP marker on 4500.
    expect(fragmented.some(({ p }) => ikeMsg(p)[18] === 35)).toBe(true);
    expect(fragmented.some(({ p }) => ikeMsg(p)[18] === 34)).toBe(true);
    expect(fragmented.some(({ f }) => f.t.dst.endsWith(':4500'))).toBe(true);
    for (const { p } of fragmented) {
      const m = ikeMsg(p);
      expect(u32(m, 24)).toBe(m.length); // the joined message is whole: its length field holds
      // Each fragment fits the path (1280 or 1500): the frames of a joined datagram are no larger than that.
      expect(p.frameLen - 14 * p.frames).toBeLessThanOrEqual(p.frames * 1500);
      if (m[18] === 34) {
        // The MODP-8192 key exchange: KE payload of 8 + 1024 bytes, group 18.
        const sa = u16(m, 28 + 2);
        expect(u16(m, 28 + sa + 2)).toBe(8 + 1024);
        expect(u16(m, 28 + sa + 4)).toBe(18);
      }
    }
    // Datagrams above 1280 bytes on a 1280 path (IPv6) leave in pieces of at most 1280.
    expect(fragmented.filter(({ p }) => p.v6).every(({ p }) => p.frames >= 2)).toBe(true);
  });
  function seqCheck(fs: Flow[], spiOff: number): void {
    for (const f of fs) {
      const spi = new Map<number, number>(), seq = [0, 0];
      for (const p of f.ps) {
        const d = f.fromClient(p) ? 0 : 1;
        const s = u32(p.payload, spiOff);
        expect(s).toBeGreaterThan(255);
        if (!spi.has(d)) spi.set(d, s);
        expect(s).toBe(spi.get(d));
        expect(u32(p.payload, spiOff + 4)).toBe(++seq[d]!);
      }
    }
  }
  it('ESP: IP protocol 50, constant SPI per direction, sequence numbers from 1', () => {
    expect(ofKind('esp').every((f) => f.ps.every((p) => p.proto === 50))).toBe(true);
    seqCheck(ofKind('esp'), 0);
  });
  it('AH: IP protocol 51, payload length field 4 (12-byte ICV), SPI constant, sequence counting', () => {
    for (const f of ofKind('ah')) for (const p of f.ps) { expect(p.proto).toBe(51); expect(p.payload[1]).toBe(4); }
    seqCheck(ofKind('ah'), 4);
  });
});

describe('L2TP and PPTP', () => {
  it('L2TP: SCCRQ first (T/L/S, version 2, length field, Message Type AVP = 1), then SCCRP, SCCCN', () => {
    for (const f of ofKind('l2tp')) {
      const types = f.ps.slice(0, 3).map((p) => {
        expect(u16(p.payload, 0)).toBe(0xc802);
        expect(u16(p.payload, 2)).toBe(p.payload.length);
        expect(u16(p.payload, 12) & 0x3ff).toBe(8); // AVP length
        expect(u16(p.payload, 16)).toBe(0); // attribute 0: Message Type
        return u16(p.payload, 18);
      });
      expect(types).toEqual([1, 2, 3]);
      expect(f.t.src.endsWith(':1701') && f.t.dst.endsWith(':1701')).toBe(true);
    }
  });
  it('PPTP control: length, type 1, magic cookie, SCCRQ 156 B / SCCRP / OCRQ 168 B / OCRP 32 B', () => {
    for (const f of ofKind('pptp')) {
      const m = f.data.slice(0, 4).map((p) => {
        expect(u16(p.payload, 0)).toBe(p.payload.length);
        expect(u16(p.payload, 2)).toBe(1);
        expect(u32(p.payload, 4)).toBe(0x1a2b3c4d);
        return [u16(p.payload, 8), p.payload.length];
      });
      expect(m).toEqual([[1, 156], [2, 156], [7, 168], [8, 32]]);
    }
  });
  it('enhanced GRE: version 1, protocol 0x880B, key carries the payload length, sequence numbers per direction', () => {
    for (const f of ofKind('pptp-gre')) {
      const seq = [0, 0];
      for (const p of f.ps) {
        expect(p.proto).toBe(47);
        expect(p.payload[1]! & 7).toBe(1);
        expect(p.payload[0]! & 0x30).toBe(0x30);
        expect(u16(p.payload, 2)).toBe(0x880b);
        const hdr = p.payload[1]! & 0x80 ? 16 : 12;
        expect(u16(p.payload, 4)).toBe(p.payload.length - hdr);
        expect(u32(p.payload, 8)).toBe(seq[f.fromClient(p) ? 0 : 1]!++);
      }
    }
  });
});

describe('TLS, QUIC, DNS, HTTP and look-alikes', () => {
  it('TLS: ClientHello record with SNI (web or VPN provider), ServerHello back', () => {
    for (const k of ['tls', 'tls-vpn-provider']) {
      for (const f of ofKind(k)) {
        const [ch, sh] = f.data as [LitePacket, LitePacket];
        expect(ch.payload[0]).toBe(22);
        expect(u16(ch.payload, 3)).toBe(ch.payload.length - 5);
        const sni = sniOf(ch.payload.subarray(5))!;
        const pool = k === 'tls' ? WEB_DOMAINS : VPN_PROVIDER_DOMAINS;
        expect(pool.some((d) => sni === d || sni.endsWith(`.${d}`)), sni).toBe(true);
        expect(sh.payload[0]).toBe(22);
        expect(sh.payload[5]).toBe(2);
        expect(f.fromClient(sh)).toBe(false);
      }
    }
  });

  it('QUIC: the client Initial (≥1200 B) decrypts with RFC 9001 keys derived here and carries an SNI', () => {
    const salt = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');
    const label = (secret: Buffer, l: string, len: number): Buffer => {
      const full = Buffer.from(`tls13 ${l}`);
      return createHmac('sha256', secret).update(Buffer.concat([Buffer.from([0, len, full.length]), full, Buffer.from([0, 1])])).digest().subarray(0, len);
    };
    for (const f of ofKind('quic')) {
      const pkt = Buffer.from(f.ps[0]!.payload);
      expect(pkt.length).toBeGreaterThanOrEqual(1200);
      expect(pkt[0]! & 0xf0).toBe(0xc0);
      expect(pkt.readUInt32BE(1)).toBe(1);
      const dcid = pkt.subarray(6, 6 + pkt[5]!);
      let o = 6 + dcid.length;
      o += 1 + pkt[o]!;
      expect(pkt[o]).toBe(0); // no token
      o += 1;
      const len = ((pkt[o]! & 0x3f) << 8) | pkt[o + 1]!;
      o += 2;
      const secret = Buffer.from(hkdfSync('sha256', dcid, salt, Buffer.concat([Buffer.from([0, 32, 15]), Buffer.from('tls13 client in'), Buffer.from([0])]), 32));
      const key = label(secret, 'quic key', 16), iv = label(secret, 'quic iv', 12), hp = label(secret, 'quic hp', 16);
      const ecb = createCipheriv('aes-128-ecb', hp, null);
      const mask = ecb.update(pkt.subarray(o + 4, o + 20));
      const first = pkt[0]! ^ (mask[0]! & 0x0f);
      const pnLen = (first & 3) + 1;
      const hdr = Buffer.from(pkt.subarray(0, o + pnLen));
      hdr[0] = first;
      let pn = 0;
      for (let i = 0; i < pnLen; i++) { hdr[o + i] = pkt[o + i]! ^ mask[1 + i]!; pn = pn * 256 + hdr[o + i]!; }
      const nonce = Buffer.from(iv);
      nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ pn) >>> 0, 8);
      const d = createDecipheriv('aes-128-gcm', key, nonce);
      d.setAAD(hdr);
      d.setAuthTag(pkt.subarray(o + len - 16, o + len));
      const plain = Buffer.concat([d.update(pkt.subarray(o + pnLen, o + len - 16)), d.final()]);
      expect(plain[0]).toBe(0x06); // CRYPTO frame at offset 0
      const clen = ((plain[2]! & 0x3f) << 8) | plain[3]!;
      const sni = sniOf(plain.subarray(4, 4 + clen))!;
      expect(WEB_DOMAINS).toContain(sni);
      // Short-header packets afterwards: header form 0, fixed bit 1.
      for (const p of f.ps.slice(2)) expect(p.payload[0]! & 0xc0).toBe(0x40);
    }
  });

  it('DNS: queries and answers pair by id, one question with a well-formed name', () => {
    for (const f of ofKind('dns')) {
      for (let i = 0; i + 1 < f.ps.length; i += 2) {
        const q = f.ps[i]!.payload, a = f.ps[i + 1]!.payload;
        expect(u16(q, 0)).toBe(u16(a, 0));
        expect(u16(q, 2)).toBe(0x0100);
        expect(u16(a, 2) & 0x8000).toBe(0x8000);
        expect(u16(q, 4)).toBe(1);
        let o = 12;
        while (q[o] !== 0) { expect(q[o]!).toBeLessThan(64); o += 1 + q[o]!; }
        expect(o + 5).toBe(q.length);
        expect(u16(a, 6)).toBe(1);
      }
    }
  });

  it('HTTP, SSH, STUN, NTP, DTLS: first messages follow their formats', () => {
    for (const f of ofKind('http')) {
      expect(Buffer.from(f.data[0]!.payload.subarray(0, 4)).toString()).toBe('GET ');
      expect(Buffer.from(f.data[1]!.payload.subarray(0, 12)).toString()).toBe('HTTP/1.1 200');
    }
    for (const f of ofKind('ssh')) {
      expect(f.fromClient(f.data[0]!)).toBe(false);
      expect(Buffer.from(f.data[0]!.payload.subarray(0, 8)).toString()).toBe('SSH-2.0-');
      expect(f.data[2]!.payload[5]).toBe(20); // SSH_MSG_KEXINIT
    }
    for (const f of ofKind('stun')) for (const p of f.ps) { expect(u32(p.payload, 4)).toBe(0x2112a442); expect(u16(p.payload, 2)).toBe(p.payload.length - 20); }
    for (const f of ofKind('ntp')) for (const p of f.ps) { expect(p.payload.length).toBe(48); expect(p.payload[0]! & 7).toBe(f.fromClient(p) ? 3 : 4); }
    for (const f of ofKind('webrtc-dtls')) {
      expect(f.ps[2]!.payload[0]).toBe(22);
      expect(u16(f.ps[2]!.payload, 1)).toBe(0xfefd);
      expect(u16(f.ps[2]!.payload, 11)).toBe(f.ps[2]!.payload.length - 13);
    }
  });
});

describe('data channels follow their control flows', () => {
  const host = (ep: string): string => (ep.startsWith('[') ? ep.slice(1, ep.indexOf(']')) : ep.split(':')[0]!);
  it('most ESP flows run between the peers of an earlier IKE flow', () => {
    const ike = new Map(ofKind('ike').map((f) => [`${host(f.t.src)}|${host(f.t.dst)}`, f]));
    const esp = ofKind('esp');
    const paired = esp.filter((f) => {
      const c = ike.get(`${f.t.src}|${f.t.dst}`);
      return c !== undefined && c.ps[0]!.tsUs < f.ps[0]!.tsUs;
    });
    expect(paired.length / esp.length).toBeGreaterThan(0.5);
  });
  it('PPTP GRE carries the call ids negotiated on its control connection', () => {
    const ctl = new Map(ofKind('pptp').map((f) => [`${host(f.t.src)}|${host(f.t.dst)}`, f]));
    let n = 0;
    for (const g of ofKind('pptp-gre')) {
      const c = ctl.get(`${g.t.src}|${g.t.dst}`);
      if (!c) continue;
      n++;
      const ocrp = c.data[3]!.payload; // Outgoing-Call-Reply: own call id at 12, peer's at 14
      for (const p of g.ps) expect(u16(p.payload, 6)).toBe(g.fromClient(p) ? u16(ocrp, 12) : u16(ocrp, 14));
    }
    expect(n).toBeGreaterThan(0);
  });
});
