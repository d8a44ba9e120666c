/**
 * DirectAccess IP-HTTPS (reference part 3 §"DirectAccess IP-HTTPS" and its evidence rows): a ServerHello choosing a
 * null-encryption suite (00 02 / 00 3B) is medium; the client's application-data record that then reads "POST " in
 * clear is strong. Records are built field by field from RFC 5246 §7.4.1.3 (ServerHello) and §6.2 (records).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { directaccess } from '../../src/detect/directaccess.js';
import { IPPROTO_TCP, type Evidence } from '../../src/detect/types.js';
import { classify, tcpConnection } from '../classify/flow-builders.js';
import { helloBody, tlsRecord } from './names/builders.js';
import { LimitedFlowView, randomBytes, rng, runFlow, type Pkt } from './udp-vpn-builders.js';

const enc = (s: string): number[] => [...Buffer.from(s, 'latin1')];
/** ServerHello record: version 3.3, 32-byte random, a session id, the chosen suite, null compression, no extensions. */
function serverHello(suite: number, sid = 32, recVersion = 0x0303): Uint8Array {
  const body = [3, 3, ...new Array(32).fill(0x5a), sid, ...new Array(sid).fill(0x11), suite >> 8, suite & 255, 0];
  const hs = [2, 0, body.length >> 8, body.length & 255, ...body];
  return Uint8Array.from([0x16, recVersion >> 8, recVersion & 255, hs.length >> 8, hs.length & 255, ...hs]);
}
/** Application-data record: plaintext and a 32-byte MAC (a null suite with SHA-256). */
const appData = (plain: number[], r: () => number): Uint8Array => {
  const content = [...plain, ...randomBytes(32, r)];
  return Uint8Array.from([0x17, 3, 3, content.length >> 8, content.length & 255, ...content]);
};
const clientHello = tlsRecord(helloBody({ suites: [0xc02f, 0x003c, 0x0002, 0x003b] }), 16384, 0x0303);
const ccsFinished = Uint8Array.from([0x14, 3, 3, 0, 1, 1, 0x16, 3, 3, 0, 16, 20, 0, 0, 12, ...new Array(12).fill(3)]);
const POST = enc('POST /IPHTTPS HTTP/1.1\r\nHost: da.example.com\r\nContent-Length: 18446744073709551615\r\n\r\n');
const run = (pk: Pkt[]): Evidence[] => runFlow(directaccess, IPPROTO_TCP, 50000, 443, pk);
const rules = (ev: Evidence[]) => ev.map((e) => `${e.rule}@${e.packet}:${e.strength}`);

describe('directaccess', () => {
  it.each([[0x0002, 'TLS_RSA_WITH_NULL_SHA'], [0x003b, 'TLS_RSA_WITH_NULL_SHA256']])('ServerHello choosing suite %i: medium; the readable POST after it: strong', (suite, name) => {
    const r = rng(1);
    const ev = run([{ dir: 0, bytes: clientHello }, { dir: 1, bytes: serverHello(suite) }, { dir: 0, bytes: ccsFinished }, { dir: 0, bytes: appData(POST, r) }]);
    expect(rules(ev)).toEqual(['directaccess.null-suite@1:medium', 'directaccess.post@3:strong']);
    expect(ev[0]!.reason).toContain(name);
    expect(ev[0]!.reason).toContain('TLS 1.2');
    expect(ev[1]!.reason).toContain('reads "POST " in clear');
  });

  it('a session id of any length up to 32, and TLS 1.0 records', () => {
    for (const sid of [0, 8, 32]) expect(rules(run([{ dir: 1, bytes: serverHello(0x0002, sid, 0x0301) }]))).toEqual(['directaccess.null-suite@0:medium']);
  });

  it('every other suite (AES-GCM, TLS 1.3) excludes the flow: a later "POST " record is never read', () => {
    const r = rng(2);
    for (const suite of [0xc02f, 0x1301, 0x0001]) {
      expect(directaccess.excludes!(new LimitedFlowView(IPPROTO_TCP, 50000, 443, [{ dir: 1, bytes: serverHello(suite) }], 1))).toBe(true);
      expect(run([{ dir: 0, bytes: clientHello }, { dir: 1, bytes: serverHello(suite) }, { dir: 0, bytes: appData(POST, r) }])).toEqual([]);
    }
  });

  it('"POST " needs a ServerHello before it, the client direction, an application-data record and its five bytes', () => {
    const r = rng(3);
    expect(run([{ dir: 0, bytes: appData(POST, r) }])).toEqual([]);
    const sh = { dir: 1, bytes: serverHello(0x003b) };
    expect(rules(run([sh, { dir: 1, bytes: appData(POST, r) }]))).toEqual(['directaccess.null-suite@0:medium']);
    const hs = appData(POST, r);
    hs[0] = 0x16;
    expect(rules(run([sh, { dir: 0, bytes: hs }]))).toEqual(['directaccess.null-suite@0:medium']);
    expect(rules(run([sh, { dir: 0, bytes: appData(enc('POSTX /'), r) }]))).toEqual(['directaccess.null-suite@0:medium']);
    expect(rules(run([sh, { dir: 0, bytes: appData(enc('GET / HTTP/1.1'), r) }]))).toEqual(['directaccess.null-suite@0:medium']);
  });

  it('fast-check: ciphertext records after a non-null ServerHello, or random server bytes, give nothing', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ dir: fc.constantFrom(0, 1), bytes: fc.uint8Array({ minLength: 0, maxLength: 200 }) }), { minLength: 1, maxLength: 7 }), (pk) => {
        const withHello = [{ dir: 1, bytes: serverHello(0xc02f) }, ...pk.map((p) => ({ dir: p.dir, bytes: Uint8Array.from([0x17, 3, 3, p.bytes.length >> 8, p.bytes.length & 255, ...p.bytes]) }))];
        expect(run(withHello)).toEqual([]);
        expect(run(pk).filter((e) => e.strength === 'strong')).toEqual([]);
      }),
      { numRuns: 1500 },
    );
  });

  it('in a session: a TLS connection to 443 with a null suite and the readable POST is DirectAccess', () => {
    const r = rng(4);
    const [rec] = classify(tcpConnection(51000, 443, [
      { dir: 0, payload: clientHello }, { dir: 1, payload: serverHello(0x003b) },
      { dir: 0, payload: ccsFinished }, { dir: 1, payload: ccsFinished }, { dir: 0, payload: appData(POST, r) },
    ]));
    expect([rec!.label, rec!.protocol, rec!.decidedAtPacket]).toEqual(['unregistered_vpn', 'directaccess', 5]);
  });
});

describe('directaccess: a ServerHello whose own version is not TLS 1.0–1.2', () => {
  it('is no null-suite ServerHello (and says nothing about its version it did not check)', () => {
    const sh = serverHello(0x0002);
    for (const [major, minor] of [[3, 0], [3, 4], [2, 3], [0xff, 0xff]] as const) {
      const b = sh.slice();
      b[9] = major;
      b[10] = minor;
      expect(run([{ dir: 1, bytes: b }])).toEqual([]);
    }
  });
});
