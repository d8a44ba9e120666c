import { describe, expect, it } from 'vitest';
import { ArrayFlowView, type ArrayPacket } from '../../src/detect/array-flow.js';
import { IPPROTO_TCP, IPPROTO_UDP, type Detector, type Evidence } from '../../src/detect/types.js';
import { sstp } from '../../src/detect/sstp.js';
import { anyconnect } from '../../src/detect/anyconnect.js';
import { forticlient } from '../../src/detect/forticlient.js';
import { globalprotect } from '../../src/detect/globalprotect.js';
import { pulse } from '../../src/detect/pulse.js';
import { alpnExt, dtlsRecord, ext, helloBody, sniExt, tlsRecord } from './names/builders.js';

const A = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const H = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

/** Runs a detector packet by packet as the classifier does (not again once it excluded the flow); returns all evidence. */
function run(d: Detector, transport: number, packets: ArrayPacket[], ports: [number, number] = [50000, 443]): Evidence[] {
  const v = new ArrayFlowView({ transport, srcPort: ports[0], dstPort: ports[1] });
  const out: Evidence[] = [];
  for (const p of packets) {
    v.push(p);
    if (v.nPackets > d.maxPackets) break;
    const r = d.detect(v);
    if (r) out.push(...r);
    else if (d.excludes?.(v) === true) break; // as the classifier does
  }
  return out;
}
const rules = (ev: Evidence[]): string[] => ev.map((e) => `${e.strength}:${e.rule}`);

const SSTP_REQ = 'SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nHost: vpn.example.net\r\nContent-Length: 18446744073709551615\r\nSSTPCORRELATIONID: {00000000-0000-0000-0000-000000000001}\r\n\r\n';
// Spec worked example: CALL_CONNECT_REQUEST, 14 bytes.
const SSTP_CCR = H('10 01 00 0e 00 01 00 01 00 01 00 06 00 01');

describe('sstp', () => {
  it('sstp.http: the SSTP_DUPLEX_POST request line (strong)', () => {
    const ev = run(sstp, IPPROTO_TCP, [{ dir: 0, bytes: A(SSTP_REQ) }]);
    expect(rules(ev)).toEqual(['strong:sstp.http']);
    expect(ev[0]!.reason).toContain('Content-Length 2^64-1');
    expect(ev[0]!.reason).toContain('SSTPCORRELATIONID');
  });
  it('sstp.control: medium alone, strong after the request', () => {
    expect(rules(run(sstp, IPPROTO_TCP, [{ dir: 0, bytes: SSTP_CCR }]))).toEqual(['medium:sstp.control']);
    const ev = run(sstp, IPPROTO_TCP, [{ dir: 0, bytes: A(SSTP_REQ) }, { dir: 1, bytes: A('HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\n\r\n') }, { dir: 0, bytes: SSTP_CCR }]);
    expect(rules(ev)).toEqual(['strong:sstp.http', 'strong:sstp.control']);
  });
  it('rejects a control packet whose length or attribute chain is off', () => {
    for (const [k, v] of [[3, 0x0f], [5, 0x0a], [8, 1], [9, 5], [11, 0x07]] as const) {
      const b = SSTP_CCR.slice();
      b[k] = v;
      expect(run(sstp, IPPROTO_TCP, [{ dir: 0, bytes: b }])).toEqual([]);
    }
    expect(run(sstp, IPPROTO_TCP, [{ dir: 0, bytes: Uint8Array.from([...SSTP_CCR, 0]) }])).toEqual([]);
  });
  it('negatives: HTTPS ClientHello, ordinary POST, a different /sra_ GUID', () => {
    expect(run(sstp, IPPROTO_TCP, [{ dir: 0, bytes: tlsRecord(helloBody({ exts: [sniExt('www.example.com')] })) }])).toEqual([]);
    expect(run(sstp, IPPROTO_TCP, [{ dir: 0, bytes: A('POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n\r\n') }])).toEqual([]);
    expect(run(sstp, IPPROTO_TCP, [{ dir: 0, bytes: A('SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD76}/ HTTP/1.1\r\n\r\n') }])).toEqual([]);
  });
});

describe('anyconnect', () => {
  // AnyConnect's resumption: the 32-byte session id and the one cipher the CSTP connection handed over.
  const legacy = dtlsRecord(helloBody({ version: 0x0100, sessionId: new Array(32).fill(0x42), cookie: [], suites: [0x0035], noExtensions: true }), { recVersion: 0x0100 });
  it('anyconnect.dtls-legacy: 01 00 DTLS ClientHello resuming a session with one cipher (strong)', () => {
    expect(rules(run(anyconnect, IPPROTO_UDP, [{ dir: 0, bytes: legacy }]))).toEqual(['strong:anyconnect.dtls-legacy']);
    // OpenSSL appends the renegotiation SCSV (00 ff): still one cipher.
    const scsv = dtlsRecord(helloBody({ version: 0x0100, sessionId: new Array(32).fill(7), cookie: [], suites: [0xc030, 0x00ff] }), { recVersion: 0x0100 });
    expect(rules(run(anyconnect, IPPROTO_UDP, [{ dir: 0, bytes: scsv }]))).toEqual(['strong:anyconnect.dtls-legacy']);
  });
  it('a full 01 00 handshake of a general-purpose OpenSSL (HelloVerifyRequest, Certificate, ClientKeyExchange) does not match', () => {
    const suites = [0xc014, 0xc00a, 0x0039, 0x0038, 0x0035, 0xc013, 0xc009, 0x0033, 0x002f, 0x00ff];
    const hello1 = dtlsRecord(helloBody({ version: 0x0100, cookie: [], suites }), { recVersion: 0x0100 });
    const hvr = Uint8Array.of(0x16, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 3, 0, 0, 11, 0, 0, 0, 0, 0, 0, 11, 0x01, 0x00, 8, 1, 2, 3, 4, 5, 6, 7, 8);
    const hello2 = dtlsRecord(helloBody({ version: 0x0100, cookie: [1, 2, 3, 4, 5, 6, 7, 8], suites }), { recVersion: 0x0100, seq: 1 });
    const cert = Uint8Array.of(0x16, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0, 16, 11, 0, 0, 4, 0, 1, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0);
    const flow = [{ dir: 0, bytes: hello1 }, { dir: 1, bytes: hvr }, { dir: 0, bytes: hello2 }, { dir: 1, bytes: cert }];
    expect(run(anyconnect, IPPROTO_UDP, flow)).toEqual([]);
    // One cipher but no session to resume, or a resumption offering many ciphers: not AnyConnect's form either.
    const noSid = dtlsRecord(helloBody({ version: 0x0100, cookie: [], suites: [0x0035] }), { recVersion: 0x0100 });
    const many = dtlsRecord(helloBody({ version: 0x0100, sessionId: new Array(32).fill(9), cookie: [], suites }), { recVersion: 0x0100 });
    const sid16 = dtlsRecord(helloBody({ version: 0x0100, sessionId: new Array(16).fill(9), cookie: [], suites: [0x0035] }), { recVersion: 0x0100 });
    for (const b of [noSid, many, sid16]) expect(run(anyconnect, IPPROTO_UDP, [{ dir: 0, bytes: b }])).toEqual([]);
  });
  it('legacy rule needs the exact record chain', () => {
    expect(run(anyconnect, IPPROTO_UDP, [{ dir: 0, bytes: Uint8Array.from([...legacy, 0, 0]) }])).toEqual([]);
    expect(run(anyconnect, IPPROTO_UDP, [{ dir: 0, bytes: legacy, len: legacy.length + 10 }])).toEqual([]);
  });
  it('anyconnect.alpn: openconnect-vpn/1.1 in a complete TLS or DTLS ClientHello', () => {
    const tls = tlsRecord(helloBody({ exts: [sniExt('vpn.example.net'), alpnExt(['openconnect-vpn/1.1', 'http/1.1'])] }));
    expect(rules(run(anyconnect, IPPROTO_TCP, [{ dir: 0, bytes: tls }]))).toEqual(['strong:anyconnect.alpn']);
    const dtls = dtlsRecord(helloBody({ version: 0xfefd, cookie: [], exts: [alpnExt(['openconnect-vpn/1.1'])] }));
    expect(rules(run(anyconnect, IPPROTO_UDP, [{ dir: 0, bytes: dtls }]))).toEqual(['strong:anyconnect.alpn']);
    // truncated hello: not complete, so no strong item
    expect(run(anyconnect, IPPROTO_TCP, [{ dir: 0, bytes: tls.subarray(0, tls.length - 3) }])).toEqual([]);
    // the id as an SNI label is not the ALPN
    const sni = tlsRecord(helloBody({ exts: [sniExt('openconnect-vpn.example'), alpnExt(['h2'])] }));
    expect(run(anyconnect, IPPROTO_TCP, [{ dir: 0, bytes: sni }])).toEqual([]);
  });
  it('anyconnect.connect and anyconnect.cstp (cleartext, TLS terminated)', () => {
    expect(rules(run(anyconnect, IPPROTO_TCP, [{ dir: 0, bytes: A('CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\nHost: vpn\r\nX-CSTP-Version: 1\r\n\r\n') }]))).toEqual(['strong:anyconnect.connect']);
    const frame = H('53 54 46 01 00 04 00 00 45 00 00 14');
    expect(rules(run(anyconnect, IPPROTO_TCP, [{ dir: 0, bytes: frame }]))).toEqual(['medium:anyconnect.cstp']);
    const bad = frame.slice();
    bad[6] = 0x01; // unknown type
    expect(run(anyconnect, IPPROTO_TCP, [{ dir: 0, bytes: bad }])).toEqual([]);
    expect(run(anyconnect, IPPROTO_TCP, [{ dir: 0, bytes: A('CONNECT example.com:443 HTTP/1.1\r\n\r\n') }])).toEqual([]);
  });
  it('negatives: DTLS 1.2 WebRTC hello, STUN on 443, plain HTTPS', () => {
    const webrtc = dtlsRecord(helloBody({ version: 0xfefd, cookie: [], exts: [ext(0x0e, [0, 2, 0, 1, 0])] }));
    expect(run(anyconnect, IPPROTO_UDP, [{ dir: 0, bytes: webrtc }])).toEqual([]);
    const stun = H('0001 0000 2112a442 0102030405060708090a0b0c');
    expect(run(anyconnect, IPPROTO_UDP, [{ dir: 0, bytes: stun }])).toEqual([]);
    expect(run(anyconnect, IPPROTO_TCP, [{ dir: 0, bytes: tlsRecord(helloBody({ exts: [sniExt('www.example.com'), alpnExt(['h2'])] })) }])).toEqual([]);
  });
});

describe('forticlient', () => {
  it('forticlient.http: tunnel request strong, portal path medium', () => {
    expect(rules(run(forticlient, IPPROTO_TCP, [{ dir: 0, bytes: A('GET /remote/sslvpn-tunnel HTTP/1.1\r\nHost: fgt\r\n\r\n') }]))).toEqual(['strong:forticlient.http']);
    expect(rules(run(forticlient, IPPROTO_TCP, [{ dir: 0, bytes: A('POST /remote/logincheck HTTP/1.1\r\n\r\n') }]))).toEqual(['medium:forticlient.http']);
    expect(run(forticlient, IPPROTO_TCP, [{ dir: 0, bytes: A('GET /remote/loginpage.html HTTP/1.1\r\n\r\n') }])).toEqual([]);
  });
  it('forticlient.ppp: frame lengths consistent', () => {
    const f = H('00 0c 50 50 00 06 ff 03 c0 21 01 01');
    expect(rules(run(forticlient, IPPROTO_TCP, [{ dir: 1, bytes: f }]))).toEqual(['medium:forticlient.ppp']);
    const g = f.slice();
    g[5] = 7;
    expect(run(forticlient, IPPROTO_TCP, [{ dir: 1, bytes: g }])).toEqual([]);
  });
  it('forticlient.port is weak and needs a ClientHello to 10443', () => {
    const ch = tlsRecord(helloBody({ exts: [sniExt('vpn.example.com')] }));
    expect(rules(run(forticlient, IPPROTO_TCP, [{ dir: 0, bytes: ch }], [50000, 10443]))).toEqual(['weak:forticlient.port']);
    expect(run(forticlient, IPPROTO_TCP, [{ dir: 0, bytes: ch }], [50000, 443])).toEqual([]);
  });
  it('forticlient.cert: OU=FortiGate in the server certificate (medium)', () => {
    const tlv = (tag: number, body: number[]): number[] => [tag, body.length, ...body];
    const atv = (oid: number, v: string): number[] => tlv(0x31, tlv(0x30, [...tlv(0x06, [0x55, 4, oid]), ...tlv(0x0c, [...Buffer.from(v)])]));
    const mk = (ou: string): Uint8Array => {
      const tbs = tlv(0x30, [...tlv(2, [1]), ...tlv(0x30, []), ...tlv(0x30, []), ...tlv(0x30, []), ...tlv(0x30, [...atv(11, ou), ...atv(3, 'fgt')])]);
      const cert = tlv(0x30, [...tbs, ...tlv(0x30, [])]);
      const list = [0, 0, cert.length + 3, 0, 0, cert.length, ...cert];
      const msg = [0x0b, 0, 0, list.length, ...list];
      return Uint8Array.from([0x16, 3, 3, 0, msg.length, ...msg]);
    };
    const ev = run(forticlient, IPPROTO_TCP, [{ dir: 0, bytes: tlsRecord(helloBody({})) }, { dir: 1, bytes: mk('FortiGate') }]);
    expect(rules(ev)).toEqual(['medium:forticlient.cert']);
    expect(ev[0]!.kind).toBe('name');
    expect(run(forticlient, IPPROTO_TCP, [{ dir: 0, bytes: tlsRecord(helloBody({})) }, { dir: 1, bytes: mk('FortiGateX') }])).toEqual([]);
  });
});

describe('globalprotect', () => {
  it('globalprotect.tunnel: request and START_TUNNEL answer', () => {
    const ev = run(globalprotect, IPPROTO_TCP, [{ dir: 0, bytes: A('GET /ssl-tunnel-connect.sslvpn?user=u&authcookie=x HTTP/1.1\r\n\r\n') }, { dir: 1, bytes: A('START_TUNNEL') }]);
    expect(rules(ev)).toEqual(['strong:globalprotect.tunnel', 'strong:globalprotect.tunnel']);
    expect(run(globalprotect, IPPROTO_TCP, [{ dir: 1, bytes: A('START_TUNNEL') }])).toEqual([]);
  });
  it('globalprotect.http: portal paths (medium)', () => {
    expect(rules(run(globalprotect, IPPROTO_TCP, [{ dir: 0, bytes: A('POST /global-protect/prelogin.esp?tmp=1 HTTP/1.1\r\n\r\n') }]))).toEqual(['medium:globalprotect.http']);
    expect(run(globalprotect, IPPROTO_TCP, [{ dir: 0, bytes: A('GET /global-protect/prelogin.espx HTTP/1.1\r\n\r\n') }])).toEqual([]);
  });
  it('globalprotect.frame: 16-byte header with consistent length', () => {
    const f = H('1a2b3c4d 0800 0004 0100000000000000 45000014');
    expect(rules(run(globalprotect, IPPROTO_TCP, [{ dir: 0, bytes: f }]))).toEqual(['strong:globalprotect.frame']);
    expect(run(globalprotect, IPPROTO_TCP, [{ dir: 0, bytes: f.subarray(0, 19) }])).toEqual([]);
    const g = f.slice();
    g[9] = 1;
    expect(run(globalprotect, IPPROTO_TCP, [{ dir: 0, bytes: g }])).toEqual([]);
  });
});

describe('pulse', () => {
  const req = A('GET / HTTP/1.1\r\nHost: vpn\r\nUpgrade: IF-T/TLS 1.0\r\nContent-Type: EAP\r\n\r\n');
  it('pulse.upgrade: request and 101 answer', () => {
    expect(rules(run(pulse, IPPROTO_TCP, [{ dir: 0, bytes: req }, { dir: 1, bytes: A('HTTP/1.1 101 Switching Protocols\r\n\r\n') }]))).toEqual(['strong:pulse.upgrade', 'strong:pulse.upgrade']);
    expect(run(pulse, IPPROTO_TCP, [{ dir: 0, bytes: A('GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n') }, { dir: 1, bytes: A('HTTP/1.1 101 Switching Protocols\r\n\r\n') }])).toEqual([]);
  });
  it('pulse.ift: one message medium, two strong', () => {
    const m = [...H('00005597 00000001 00000014 00000000 01020304')];
    expect(rules(run(pulse, IPPROTO_TCP, [{ dir: 0, bytes: Uint8Array.from(m) }]))).toEqual(['medium:pulse.ift']);
    expect(rules(run(pulse, IPPROTO_TCP, [{ dir: 0, bytes: Uint8Array.from([...m, ...m]) }]))).toEqual(['strong:pulse.ift']);
    const bad = Uint8Array.from(m);
    bad[11] = 0x15;
    expect(run(pulse, IPPROTO_TCP, [{ dir: 0, bytes: bad }])).toEqual([]);
  });
});

describe('look-alike traffic gives nothing', () => {
  const dets = [sstp, anyconnect, forticlient, globalprotect, pulse];
  const cases: Array<[string, number, ArrayPacket[]]> = [
    ['HTTPS to an ordinary name', IPPROTO_TCP, [{ dir: 0, bytes: tlsRecord(helloBody({ exts: [sniExt('www.example.org'), alpnExt(['h2', 'http/1.1'])] })) }]],
    ['plain HTTP GET', IPPROTO_TCP, [{ dir: 0, bytes: A('GET /index.html HTTP/1.1\r\nHost: example.org\r\n\r\n') }, { dir: 1, bytes: A('HTTP/1.1 200 OK\r\n\r\n') }]],
    ['DTLS WebRTC', IPPROTO_UDP, [{ dir: 0, bytes: dtlsRecord(helloBody({ version: 0xfefd, cookie: [], exts: [ext(0x0e, [0, 2, 0, 1, 0])] })) }]],
    ['STUN on 443', IPPROTO_UDP, [{ dir: 0, bytes: H('0001 0008 2112a442 000102030405060708090a0b 8022 0004 74657374') }]],
    ['random UDP on 443', IPPROTO_UDP, [{ dir: 0, bytes: Uint8Array.from({ length: 300 }, (_, k) => (k * 73 + 11) & 255) }]],
  ];
  for (const [name, t, pk] of cases) {
    it(name, () => {
      for (const d of dets) if (d.transports.includes(t)) expect(run(d, t, pk)).toEqual([]);
    });
  }
});
