/** Fuzz: every name parser, flowNames and every SSL-VPN detector on random and mutated bytes — never throws. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseTlsClientHello } from '../../../src/detect/names/tls.js';
import { parseDtlsClientHello } from '../../../src/detect/names/dtls.js';
import { collectCrypto, parseQuicInitial, QUIC_V1 } from '../../../src/detect/names/quic.js';
import { parseDnsAnswers, parseDnsQuery } from '../../../src/detect/names/dns.js';
import { parseGquicChlo } from '../../../src/detect/names/gquic.js';
import { parseServerCertificate } from '../../../src/detect/names/cert.js';
import { parseHttpRequest } from '../../../src/detect/names/http.js';
import { flowNames } from '../../../src/detect/names/index.js';
import { ArrayFlowView } from '../../../src/detect/array-flow.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../../src/detect/types.js';
import { sstp } from '../../../src/detect/sstp.js';
import { anyconnect } from '../../../src/detect/anyconnect.js';
import { forticlient } from '../../../src/detect/forticlient.js';
import { globalprotect } from '../../../src/detect/globalprotect.js';
import { pulse } from '../../../src/detect/pulse.js';
import { directaccess } from '../../../src/detect/directaccess.js';
import { alpnExt, dtlsRecord, helloBody, protectInitial, RFC9001_CRYPTO, RFC_DCID, sniExt, tlsRecord, versionsExt } from './builders.js';
import { serverFlight, VPN_SAN_DER } from './cert-builders.js';
import { CertStreams } from '../../../src/detect/names/cert-stream.js';

const SEEDS: Uint8Array[] = [
  tlsRecord(helloBody({ sessionId: new Array(32).fill(1), exts: [sniExt('vpn.example.org'), alpnExt(['openconnect-vpn/1.1', 'h2']), versionsExt([0x0304])] })),
  tlsRecord(helloBody({ exts: [sniExt('a.example')] }), 17),
  dtlsRecord(helloBody({ version: 0xfefd, cookie: [1, 2, 3], exts: [sniExt('d.example')] })),
  dtlsRecord(helloBody({ version: 0x0100, sessionId: new Array(32).fill(2), cookie: [], noExtensions: true }), { recVersion: 0x0100 }),
  Uint8Array.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x76, 0x70, 0x6e, 7, ...Buffer.from('example'), 0, 0, 1, 0, 1]),
  // A response: the question, a CNAME to a name with a pointer into the question, an A record of the target.
  Uint8Array.from([0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0, 3, 0x76, 0x70, 0x6e, 7, ...Buffer.from('example'), 0, 0, 1, 0, 1,
    0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 0x65, 0xc0, 16, 1, 0x65, 0xc0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]),
  Uint8Array.from(Buffer.from('SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nHost: x\r\n\r\n')),
  Uint8Array.from(Buffer.from('10010000e000100010001000600 01'.replace(/ /g, ''), 'hex')),
  Uint8Array.from(Buffer.from('GET /ssl-tunnel-connect.sslvpn?x HTTP/1.1\r\nUpgrade: IF-T/TLS 1.0\r\n\r\n')),
  Uint8Array.from(Buffer.from('1a2b3c4d080000040100000000000000450000140000559700000001000000140000000001020304', 'hex')),
  // A TLS 1.2 ServerHello choosing TLS_RSA_WITH_NULL_SHA256 (00 3b), then a null-suite application-data record.
  Uint8Array.from([0x16, 3, 3, 0, 74, 2, 0, 0, 70, 3, 3, ...new Array(32).fill(7), 32, ...new Array(32).fill(9), 0, 0x3b, 0]),
  Uint8Array.from([0x17, 3, 3, 0, 40, ...Buffer.from('POST /IPHTTPS HTTP/1.1\r\n'), ...new Array(15).fill(1)]),
  // A TLS 1.2 server flight (ServerHello, Certificate with a real leaf, ServerHelloDone), whole and its first part.
  serverFlight([VPN_SAN_DER]),
  serverFlight([VPN_SAN_DER]).slice(0, 500),
];

const mutated = fc.tuple(fc.constantFrom(...SEEDS), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(), fc.boolean()).map(([seed, flips, cut, doCut]) => {
  const b = seed.slice();
  for (const [pos, v] of flips) b[pos % b.length] = v;
  return doCut ? b.subarray(0, cut % (b.length + 1)) : b;
});
const bytes = fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated);

const DETS = [sstp, anyconnect, forticlient, globalprotect, pulse, directaccess];

function allParsers(b: Uint8Array): void {
  parseTlsClientHello(b, 0, b.length);
  parseDtlsClientHello(b, 0, b.length);
  parseDtlsClientHello(b, 0, b.length, b.length + 5);
  parseDnsQuery(b, 0, b.length);
  parseDnsQuery(b, 0, b.length, true);
  parseDnsAnswers(b, 0, b.length);
  parseDnsAnswers(b, 0, b.length, true);
  parseServerCertificate(b, 0, b.length);
  parseHttpRequest(b, 0, b.length);
  collectCrypto(b);
  parseQuicInitial(b, 0, b.length);
  parseGquicChlo(b, 0, b.length);
}

describe('fuzz', () => {
  it('parsers never throw on random or mutated bytes', () => {
    fc.assert(fc.property(bytes, (b) => {
      allParsers(b);
    }), { numRuns: 1500 });
  });
  it('QUIC: mutated protected packets and mutated plaintext frames never throw', () => {
    const pkt = protectInitial(QUIC_V1, RFC_DCID, [...RFC9001_CRYPTO]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1199 }), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.integer({ min: 0, max: 1200 }), (flips, cut) => {
        const b = pkt.slice();
        for (const [p, v] of flips) b[p] = v;
        expect(() => parseQuicInitial(b, 0, cut)).not.toThrow();
        expect(() => parseQuicInitial(b, 0, b.length)).not.toThrow();
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 250 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (flips) => {
        const pt = [...RFC9001_CRYPTO];
        for (const [p, v] of flips) pt[p % pt.length] = v;
        const q = parseQuicInitial(protectInitial(QUIC_V1, RFC_DCID, pt), 0, 1200);
        expect(q).not.toBeNull(); // the tag verifies: only the frame/TLS walk sees the damage
      }),
      { numRuns: 100 },
    );
  });
  it('flowNames and every detector never throw, packet by packet, both transports', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(bytes, fc.integer({ min: 0, max: 1 })), { minLength: 1, maxLength: 6 }), fc.constantFrom(IPPROTO_TCP, IPPROTO_UDP), fc.constantFrom(53, 443, 10443, 4501), (pk, t, port) => {
        const v = new ArrayFlowView({ transport: t, srcPort: 40000, dstPort: port });
        const slot = { certStreams: new CertStreams(1), certStream: null, certTried: false };
        for (const [b, dir] of pk) {
          v.push({ dir, bytes: b });
          expect(() => flowNames(v)).not.toThrow();
          expect(() => flowNames(v, slot)).not.toThrow();
          for (const d of DETS) {
            if (!d.transports.includes(t)) continue;
            const r = d.detect(v);
            if (r) for (const e of r) expect(e.reason.length).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
  it('random bytes almost never produce strong SSL-VPN evidence', () => {
    let strong = 0;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.constantFrom(IPPROTO_TCP, IPPROTO_UDP), (b, t) => {
        const v = new ArrayFlowView({ transport: t, srcPort: 40000, dstPort: 443 }, [{ dir: 0, bytes: b }]);
        for (const d of DETS) if (d.transports.includes(t)) for (const e of d.detect(v) ?? []) if (e.strength === 'strong') strong++;
      }),
      { numRuns: 2000 },
    );
    expect(strong).toBe(0);
  });
});
