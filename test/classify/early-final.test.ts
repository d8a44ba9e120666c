/**
 * When inspection ends: a QUIC flow whose first Initial held the whole ClientHello is final at once; a flow that
 * is TLS from its first packet and whose server has switched to encrypted records, or QUIC from its first packet,
 * is final once the name packets are seen (encrypted bytes cannot match any rule); every other flow keeps the
 * detectors' full packet budget.
 */
import { describe, expect, it } from 'vitest';
import type { VerdictEvent } from '../../src/classify/session.js';
import { NAME_PACKETS } from '../../src/classify/engine.js';
import { QUIC_V1 } from '../../src/detect/names/quic.js';
import { cryptoFrame, ext, handshake, helloBody, protectInitial, sniExt, tlsRecord } from '../detect/names/builders.js';
import { bytes, classify, CLIENT, SERVER, tlsFlow, type Pkt } from './flow-builders.js';

const decidedAt = (vs: VerdictEvent[], transport: string): number => {
  const v = vs.find((x) => x.flow.transport === transport);
  if (!v) throw new Error(`no ${transport} verdict`);
  return v.verdict.decidedAtPacket;
};

function tcpFlow(first: Uint8Array, server: (i: number) => Uint8Array): Pkt[] {
  const c = { src: CLIENT, dst: SERVER, proto: 6, srcPort: 50000, dstPort: 443 };
  const s = { src: SERVER, dst: CLIENT, proto: 6, srcPort: 443, dstPort: 50000 };
  const out: Pkt[] = [{ ...c, t: 0, payload: first }];
  for (let i = 0; i < 12; i++) out.push({ ...(i % 2 ? c : s), t: 0.01 * (i + 1), payload: i % 2 ? bytes(90, i) : server(i) });
  return out;
}

function udpFlow(first: Uint8Array): Pkt[] {
  const c = { src: CLIENT, dst: SERVER, proto: 17, srcPort: 40000, dstPort: 443 };
  const s = { src: SERVER, dst: CLIENT, proto: 17, srcPort: 443, dstPort: 40000 };
  const out: Pkt[] = [{ ...c, t: 0, payload: first }];
  // Short-header QUIC-looking datagrams (fixed bit set, first byte 0x40–0x7f).
  for (let i = 0; i < 12; i++) out.push({ ...(i % 2 ? c : s), t: 0.01 * (i + 1), payload: Uint8Array.from([0x41 + i, ...bytes(100, i)]) });
  return out;
}

const HELLO = tlsRecord(helloBody({ exts: [sniExt('www.example.com')] }));
const appData = (i: number): Uint8Array => Uint8Array.from([0x17, 0x03, 0x03, 0, 80, ...bytes(80, i)]);
const handshakeRec = (i: number): Uint8Array => Uint8Array.from([0x16, 0x03, 0x03, 0, 80, ...bytes(80, i)]);

describe('early end of inspection', () => {
  it('TLS both ways (server sends application data): final after the name packets', () => {
    const vs: VerdictEvent[] = [];
    classify(tcpFlow(HELLO, appData), vs);
    expect(decidedAt(vs, 'tcp')).toBe(NAME_PACKETS);
    vs.length = 0;
    classify(tlsFlow(50000, 443, 0, 5), vs);
    expect(decidedAt(vs, 'tcp')).toBe(NAME_PACKETS);
  });
  it('TLS hello but the server never switches to encrypted records: full budget', () => {
    const vs: VerdictEvent[] = [];
    classify(tcpFlow(HELLO, handshakeRec), vs);
    expect(decidedAt(vs, 'tcp')).toBe(8);
  });
  it('not TLS from the first packet (server app data alone is not enough): full budget', () => {
    const vs: VerdictEvent[] = [];
    classify(tcpFlow(bytes(200, 3), appData), vs);
    expect(decidedAt(vs, 'tcp')).toBe(8);
  });
  it('QUIC: a whole ClientHello in the first Initial is final at once; a partial one after the name packets; other UDP: full budget', () => {
    const ch = [...handshake(helloBody({ exts: [sniExt('www.example.com')] }))];
    const dcid = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const vs: VerdictEvent[] = [];
    classify(udpFlow(protectInitial(QUIC_V1, dcid, cryptoFrame(0, ch))), vs);
    expect(decidedAt(vs, 'udp')).toBe(1);
    vs.length = 0;
    // SNI first, then a key share cut short: the name is read, but the hello continues in a later Initial.
    const long = [...handshake(helloBody({ exts: [sniExt('www.example.com'), ext(51, new Array(100).fill(7))] }))];
    classify(udpFlow(protectInitial(QUIC_V1, dcid, cryptoFrame(0, long.slice(0, long.length - 10)))), vs);
    expect(decidedAt(vs, 'udp')).toBe(NAME_PACKETS);
    vs.length = 0;
    classify(udpFlow(bytes(1200, 5)), vs);
    expect(decidedAt(vs, 'udp')).toBe(8);
  });
});
