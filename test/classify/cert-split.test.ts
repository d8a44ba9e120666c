/**
 * A TLS 1.2 server certificate whose host name is only in its subjectAltName, with the server's first flight cut
 * into TCP segments (in the record header, in length fields, inside the SAN), through a real session: a domain list
 * naming the SAN host makes the flow a VPN by rule cert.list with evidence naming the SAN entry; without the list,
 * or with certificate joining off, the flow is ordinary. Also: TCP flows that are not TLS open no stream.
 */
import { describe, expect, it } from 'vitest';
import { createClassifier, type ClassifierOptions } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import type { SessionOptions, VerdictEvent } from '../../src/classify/session.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { helloBody, sniExt, tlsRecord } from '../detect/names/builders.js';
import { indexOfBytes, SAN_ONLY_DER, segmentsAt, serverFlight, VPN_SAN_DER } from '../detect/names/cert-builders.js';
import { bytes, tcpConnection, type Pkt } from './flow-builders.js';

// The client names no listed host (an IP-literal connection would send no SNI at all).
const HELLO = tlsRecord(helloBody({ exts: [sniExt('portal.other.test')] }));
const FLIGHT = serverFlight([VPN_SAN_DER, SAN_ONLY_DER]);
const LIST = { vpnDomains: [['vpn.example.net', 'Example VPN']] as [string, string][], names: { vpnDomains: 'ops.txt' } };

function run(pkts: Pkt[], options: ClassifierOptions, session: SessionOptions = {}) {
  const s = createClassifier(options).session(session);
  const recs: FlowRecord[] = [];
  const verdicts: VerdictEvent[] = [];
  s.on('flow', (r: FlowRecord) => recs.push(r));
  s.on('verdict', (v: VerdictEvent) => verdicts.push(v));
  for (const p of pkts) s.push(buildFrame(p), BigInt(Math.round(p.t * 1e6)) * 1000n);
  s.end();
  return { recs, verdicts, stats: s.stats };
}

/** The TLS 1.2 handshake with the server's flight cut at `cuts`, then the client's key exchange and records. */
function connection(cuts: number[], flight = FLIGHT): Pkt[] {
  const payloads: { dir: 0 | 1; payload: Uint8Array }[] = [{ dir: 0, payload: HELLO }];
  for (const seg of segmentsAt(flight, cuts)) payloads.push({ dir: 1, payload: seg });
  payloads.push({ dir: 0, payload: Uint8Array.from([0x16, 3, 3, 0, 70, 0x10, 0, 0, 66, 65, ...bytes(65, 1), 0x14, 3, 3, 0, 1, 1]) });
  for (let k = 0; k < 4; k++) payloads.push({ dir: (k & 1) as 0 | 1, payload: Uint8Array.from([0x17, 3, 3, 0, 48, ...bytes(48, k)]) });
  return tcpConnection(50123, 443, payloads);
}

const sanAt = indexOfBytes(FLIGHT, 'vpn.example.net');
const leafLenAt = indexOfBytes(FLIGHT, [0, (VPN_SAN_DER.length >> 8) & 255, VPN_SAN_DER.length & 255, 0x30, 0x82]);
const CUTS: Record<string, number[]> = {
  'record header length': [4],
  'ServerHello length': [6],
  'leaf certificate length': [leafLenAt + 2],
  'inside the SAN dNSName': [sanAt + 5],
  'the default IPv4 MSS (536-byte segments)': [536, 1072, 1608],
  'four segments, one cut in the SAN': [200, 600, sanAt + 9],
};

describe('certificate subjectAltName across TCP segments, through a session', () => {
  it('the split points are where the test says (length fields, inside the SAN)', () => {
    expect(FLIGHT[4]).toBe((FLIGHT.length - 5) & 255); // one record: its length's low byte
    expect(leafLenAt).toBeGreaterThan(90);
    expect(sanAt).toBeGreaterThan(536); // past the first 536-byte segment
    expect(sanAt).toBeLessThan(VPN_SAN_DER.length + 100);
  });

  for (const [what, cuts] of Object.entries(CUTS)) {
    it(`cut at ${what}: the listed SAN host makes the flow a VPN by cert.list, naming the SAN entry`, () => {
      const { recs, verdicts, stats } = run(connection(cuts), LIST);
      expect(recs).toHaveLength(1);
      const r = recs[0]!;
      expect(r.label).toBe('unregistered_vpn');
      const e = r.evidence.find((x) => x.rule === 'cert.list');
      expect(e).toMatchObject({ source: 'vpn-domains', kind: 'name', strength: 'medium', protocol: 'vpn-provider' });
      expect(e!.reason).toMatch(/^packets? \d+(-\d+)?: TLS certificate subjectAltName dNSName 1 of 2 vpn\.example\.net matched list entry 'vpn\.example\.net' \(Example VPN\) of ops\.txt v1$/);
      expect(verdicts).toHaveLength(1);
      expect(verdicts[0]!.verdict.label).toBe('unregistered_vpn');
      expect(stats.certificates.completed).toBe(stats.certificates.started);
      expect(stats.certificates.abandoned + stats.certificates.noSlot + stats.certificates.tooLong).toBe(0);
    });
  }

  it('the listed name is matched whole-label: a list entry for the domain matches too, a look-alike does not', () => {
    expect(run(connection([700]), { vpnDomains: [['example.net', 'Example VPN']] }).recs[0]!.label).toBe('unregistered_vpn');
    expect(run(connection([700]), { vpnDomains: [['xample.net', 'X']] }).recs[0]!.label).toBe('ordinary');
    // The wildcard SAN *.example.org stands for hosts below example.org: a list naming one of them is not enough.
    expect(run(connection([700]), { vpnDomains: [['vpn.example.org', 'X']] }).recs[0]!.label).toBe('ordinary');
    expect(run(connection([700]), { vpnDomains: [['example.org', 'X']] }).recs[0]!.label).toBe('unregistered_vpn');
  });

  it('without the list entry the flow is ordinary', () => {
    for (const cuts of Object.values(CUTS)) {
      const { recs } = run(connection(cuts), { vpnDomains: [['nordvpn.com', 'NordVPN']] });
      expect(recs[0]!.label).toBe('ordinary');
      expect(recs[0]!.evidence.some((x) => x.rule === 'cert.list')).toBe(false);
    }
  });

  it('with certificate joining off (maxCertStreams 0) the SAN past the first segment is not seen, and that is counted', () => {
    const { recs, stats } = run(connection([700]), LIST, { maxCertStreams: 0 });
    expect(recs[0]!.label).toBe('ordinary');
    expect(stats.certificates).toEqual({ started: 0, completed: 0, tooLong: 0, noSlot: 1, abandoned: 0 });
  });

  it('a whole leaf in the first segment is read in place (no stream)', () => {
    const { recs, stats } = run(connection([]), LIST);
    expect(recs[0]!.label).toBe('unregistered_vpn');
    expect(stats.certificates.started).toBe(0);
  });

  it('TCP flows that are not TLS (HTTP, SSH, random bytes) open no stream', () => {
    const pkts: Pkt[] = [];
    let port = 51000;
    for (const first of [Uint8Array.from(Buffer.from('GET / HTTP/1.1\r\nHost: a.test\r\n\r\n')), Uint8Array.from(Buffer.from('SSH-2.0-OpenSSH_9.6\r\n')), bytes(300, 5)]) {
      pkts.push(...tcpConnection(port++, 443, [{ dir: 0, payload: first }, { dir: 1, payload: bytes(1400, 2) }, { dir: 1, payload: bytes(900, 3) }, { dir: 0, payload: bytes(40, 4) }]));
    }
    const { recs, stats } = run(pkts, LIST);
    expect(recs).toHaveLength(3);
    expect(stats.certificates).toEqual({ started: 0, completed: 0, tooLong: 0, noSlot: 0, abandoned: 0 });
  });
});
