/**
 * Flow openings (detect/opening.ts) and the detector choice they drive (engine DetectorTable): what is recognised
 * and what deliberately is not, that a flow only meets the detectors riding its opening, and that on real and
 * synthetic traffic the choice changes no label, protocol or registrant compared with running every detector.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createClassifier } from '../../src/classify/classifier.js';
import { DetectorTable, FlowDetection } from '../../src/classify/engine.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { ArrayFlowView } from '../../src/detect/array-flow.js';
import { OPEN_DNS, OPEN_DTLS, OPEN_HTTP, OPEN_NONE, OPEN_QUIC, OPEN_TLS, isHttpRequestStart, isTlsClientHelloStart } from '../../src/detect/opening.js';
import { QUIC_V1 } from '../../src/detect/names/quic.js';
import { DETECTORS } from '../../src/detect/registry.js';
import type { Detector, Evidence, FlowView } from '../../src/detect/types.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/detect/types.js';
import { readCaptureBuffer, readCaptureFile } from '../../src/trace/reader.js';
import { synthesize } from '../../src/synth/generate.js';
import { corpusAvailable, listCaptures, PCAP_DIR } from '../helpers/corpus.js';
import { cryptoFrame, handshake, helloBody, protectInitial, sniExt, tlsRecord } from '../detect/names/builders.js';
import { dtlsHello } from './flow-builders.js';
import { ascii, concat, hex, rng, wgInit } from '../detect/udp-vpn-builders.js';

const HELLO = tlsRecord(helloBody({ exts: [sniExt('www.example.com')] }));

function openingOf(transport: number, dstPort: number, first: Uint8Array, dir = 0): number {
  const v = new ArrayFlowView({ transport, srcPort: 50000, dstPort });
  v.push({ dir, bytes: first });
  const d = new FlowDetection();
  d.inspect(v, new DetectorTable([]));
  return d.opening;
}

const dnsQuery = hex('1234 0100 0001 0000 0000 0000 03777777 076578616d706c65 03636f6d 00 0001 0001');

describe('flow openings', () => {
  it('recognises a TLS ClientHello, an HTTP request, DNS on a DNS port, a decrypting QUIC Initial, a whole DTLS hello', () => {
    expect(openingOf(IPPROTO_TCP, 443, HELLO)).toBe(OPEN_TLS);
    expect(openingOf(IPPROTO_TCP, 80, ascii('GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n'))).toBe(OPEN_HTTP);
    expect(openingOf(IPPROTO_TCP, 80, ascii('POST /api HTTP/1.0\r\n\r\n'))).toBe(OPEN_HTTP);
    expect(openingOf(IPPROTO_UDP, 53, dnsQuery)).toBe(OPEN_DNS);
    expect(openingOf(IPPROTO_TCP, 53, concat(Uint8Array.of(0, dnsQuery.length), dnsQuery))).toBe(OPEN_DNS);
    const dcid = hex('8394c8f03e515708');
    const initial = protectInitial(QUIC_V1, dcid, cryptoFrame(0, handshake(helloBody({ exts: [sniExt('www.example.com')] }))));
    expect(openingOf(IPPROTO_UDP, 443, initial)).toBe(OPEN_QUIC);
    expect(openingOf(IPPROTO_UDP, 443, dtlsHello())).toBe(OPEN_DTLS);
  });

  it('does not recognise what a tunnel may follow or imitate: CONNECT, SSTP, responder-first, DNS off its port, bad QUIC tags', () => {
    expect(openingOf(IPPROTO_TCP, 8080, ascii('CONNECT vpn.example.com:1194 HTTP/1.1\r\n\r\n'))).toBe(OPEN_NONE);
    expect(openingOf(IPPROTO_TCP, 443, ascii('SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n\r\n'))).toBe(OPEN_NONE);
    expect(openingOf(IPPROTO_TCP, 443, HELLO, 1)).toBe(OPEN_NONE);
    expect(openingOf(IPPROTO_UDP, 1194, dnsQuery)).toBe(OPEN_NONE);
    expect(openingOf(IPPROTO_TCP, 80, ascii('GET /index.html\r\n'))).toBe(OPEN_NONE); // HTTP/0.9: no version
    const dcid = hex('8394c8f03e515708');
    const initial = protectInitial(QUIC_V1, dcid, cryptoFrame(0, handshake(helloBody({ exts: [sniExt('www.example.com')] }))));
    initial[initial.length - 1]! ^= 1; // AEAD tag no longer verifies
    expect(openingOf(IPPROTO_UDP, 443, initial)).toBe(OPEN_NONE);
    expect(openingOf(IPPROTO_UDP, 51820, wgInit(1, rng(1)))).toBe(OPEN_NONE);
  });

  it('TLS: every header field is checked (record type, version, lengths, handshake type, client_version)', () => {
    const v = (b: Uint8Array): boolean => {
      const f = new ArrayFlowView({ transport: IPPROTO_TCP, srcPort: 1, dstPort: 2 });
      f.push({ dir: 0, bytes: b });
      return isTlsClientHelloStart(f, 0);
    };
    expect(v(HELLO)).toBe(true);
    for (const [k, x] of [[0, 0x17], [1, 0x02], [2, 0x05], [5, 0x02], [9, 0x02], [10, 0x05]] as const) {
      const b = HELLO.slice();
      b[k] = x;
      expect(v(b), `byte ${k} = ${x}`).toBe(false);
    }
    const short = HELLO.slice();
    short[3] = 0;
    short[4] = 10; // record too short for any ClientHello
    expect(v(short)).toBe(false);
    const f = new ArrayFlowView({ transport: IPPROTO_TCP, srcPort: 1, dstPort: 2 });
    f.push({ dir: 0, bytes: ascii('PATCH /x HTTP/1.1\r\n') });
    expect(isHttpRequestStart(f, 0)).toBe(true);
  });
});

/** A detector that records the flows it is called on and fires on nothing. */
function spy(id: string, carriers: Detector['carriers']): Detector & { calls: number } {
  const d = {
    id, transports: [IPPROTO_TCP, IPPROTO_UDP], maxPackets: 8, rules: {}, calls: 0,
    detect(_f: FlowView): Evidence[] | null {
      d.calls++;
      return null;
    },
    ...(carriers ? { carriers } : {}),
  };
  return d;
}

describe('detector choice by opening', () => {
  it('a flow meets only the detectors riding its opening; a detector without carriers sees every flow', () => {
    const raw = spy('raw', []), tls = spy('tls', ['tls']), any = spy('any', undefined);
    const table = new DetectorTable([raw, tls, any]);
    const run = (first: Uint8Array): void => {
      const v = new ArrayFlowView({ transport: IPPROTO_TCP, srcPort: 50000, dstPort: 443 });
      const d = new FlowDetection();
      v.push({ dir: 0, bytes: first });
      d.inspect(v, table);
      v.push({ dir: 1, bytes: Uint8Array.of(0x17, 3, 3, 0, 1, 0) });
      d.inspect(v, table);
    };
    run(HELLO);
    expect([raw.calls, tls.calls, any.calls]).toEqual([0, 2, 2]);
    run(ascii('0 alice 17\n'));
    expect([raw.calls, tls.calls, any.calls]).toEqual([2, 4, 4]);
  });

  it('the packet budget is that of the chosen detectors (a DNS flow is done after the name packets)', () => {
    const table = new DetectorTable(DETECTORS);
    expect(table.packetBudget(IPPROTO_UDP, OPEN_DNS)).toBe(4);
    expect(table.packetBudget(IPPROTO_UDP, OPEN_NONE)).toBe(table.maxPackets[IPPROTO_UDP]);
    expect(table.detectors(IPPROTO_TCP, OPEN_TLS).map((d) => d.id).sort()).toEqual(['anyconnect', 'directaccess', 'forticlient', 'provider-cert']);
    expect(table.detectors(IPPROTO_UDP, OPEN_QUIC)).toEqual([]);
  });
});

/** The same detectors with `carriers` removed: every detector sees every flow. */
const UNGATED: Detector[] = DETECTORS.map((d) => {
  const { carriers: _c, ...rest } = d;
  return rest as Detector;
});

const key = (r: FlowRecord): string => `${r.transport} ${r.src} ${r.dst} ${r.firstSeen}`;
const answer = (r: FlowRecord): string => `${r.label} ${r.protocol} ${r.registrant}`;

function compare(a: FlowRecord[], b: FlowRecord[]): string[] {
  const m = new Map(b.map((r) => [key(r), answer(r)]));
  const diffs: string[] = [];
  for (const r of a) if (m.get(key(r)) !== answer(r)) diffs.push(`${key(r)}: ${answer(r)} vs ${m.get(key(r))}`);
  if (a.length !== b.length) diffs.push(`${a.length} vs ${b.length} records`);
  return diffs;
}

describe('choosing detectors by opening changes no answer', () => {
  it('on a synthetic trace with every supported protocol', () => {
    const parts: Uint8Array[] = [];
    const res = synthesize({ packets: 60_000, flows: 3_000, vpnShare: 0.3, registeredShare: 0.5, seed: 7 }, (c) => parts.push(c.slice()));
    const buf = concat(...parts);
    const registered = res.registrations.map((r) => [r.cidr, r.registrant] as [string, string]);
    const run = (detectors: readonly Detector[]): FlowRecord[] => {
      const s = createClassifier({ detectors, registered }).session();
      const out: FlowRecord[] = [];
      s.on('flow', (r: FlowRecord) => out.push(r));
      readCaptureBuffer(buf, 'synth', (p) => s.pushRaw(p));
      s.end();
      return out;
    };
    const gated = run(DETECTORS);
    expect(gated.filter((r) => r.label !== 'ordinary').length).toBeGreaterThan(500);
    expect(compare(gated, run(UNGATED))).toEqual([]);
  });

  it.runIf(corpusAvailable())('on every corpus capture', async () => {
    const diffs: string[] = [];
    for (const pcap of listCaptures()) {
      const run = async (detectors: readonly Detector[]): Promise<FlowRecord[]> => {
        const s = createClassifier({ detectors }).session({ flow: { idleTimeoutSec: 1e6, tcpIdleTimeoutSec: 1e6 } });
        const out: FlowRecord[] = [];
        s.on('flow', (r: FlowRecord) => out.push(r));
        await readCaptureFile(join(PCAP_DIR, pcap), (p) => s.pushRaw(p)).catch(() => undefined);
        s.end();
        return out;
      };
      diffs.push(...compare(await run(DETECTORS), await run(UNGATED)).map((d) => `${pcap}: ${d}`));
    }
    expect(diffs).toEqual([]);
  }, 60_000);
});
