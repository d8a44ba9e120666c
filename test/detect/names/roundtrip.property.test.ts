/** Parsers vs a builder: random ClientHellos serialised and parsed back (TLS, DTLS, QUIC Initial). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isGrease, parseTlsClientHello } from '../../../src/detect/names/tls.js';
import { parseDtlsClientHello } from '../../../src/detect/names/dtls.js';
import { parseQuicInitial, QUIC_V1, QUIC_V2 } from '../../../src/detect/names/quic.js';
import { flowNames } from '../../../src/detect/names/index.js';
import { ArrayFlowView } from '../../../src/detect/array-flow.js';
import { IPPROTO_TCP } from '../../../src/detect/types.js';
import { alpnExt, cryptoFrame, dtlsRecord, ext, helloBody, protectInitial, sniExt, tlsRecord, versionsExt } from './builders.js';

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const host = fc.array(label, { minLength: 2, maxLength: 5 }).map((l) => l.join('.')).filter((h) => /[a-z-]/.test(h) && h.length <= 255);
const alpnId = fc.stringMatching(/^[a-z0-9/.-]{1,20}$/);
const grease = fc.integer({ min: 0, max: 15 }).map((k) => k * 0x1010 + 0x0a0a);

interface Spec {
  sni: string | null;
  alpn: string[] | null;
  versions: number[] | null;
  filler: number[][];
  sid: number[];
  order: number[];
}

const spec: fc.Arbitrary<Spec> = fc.record({
  sni: fc.option(host, { nil: null }),
  alpn: fc.option(fc.array(alpnId, { minLength: 1, maxLength: 4 }), { nil: null }),
  versions: fc.option(fc.array(fc.constantFrom(0x0304, 0x0303, 0xfefc), { minLength: 1, maxLength: 3 }), { nil: null }),
  filler: fc.uniqueArray(fc.tuple(fc.constantFrom(0x000a, 0x000d, 0x0033, 0x0017, 0xff01, 0x002d, 0x001b), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 })), { selector: (t) => t[0], maxLength: 5 }).map((a) => a.map(([t, d]) => ext(t, d))),
  sid: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 32 }),
  order: fc.array(fc.integer(), { minLength: 12, maxLength: 12 }),
});

function exts(s: Spec, withGrease: number | null): number[][] {
  const list: number[][] = [...s.filler];
  if (s.sni !== null) list.push(sniExt(s.sni));
  if (s.alpn !== null) list.push(alpnExt(s.alpn));
  if (s.versions !== null) list.push(versionsExt(withGrease !== null ? [withGrease, ...s.versions] : s.versions));
  if (withGrease !== null) list.push(ext(withGrease, []));
  // shuffle deterministically by `order`
  return list.map((e, k) => [s.order[k % s.order.length]! + k * 1e-6, e] as const).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
}

/** The ALPN ids a parser reports: two-byte GREASE ids (RFC 8701 §2, e.g. `jj` = 6a 6a) are dropped by design. */
function notGrease(ids: string[]): string[] {
  return ids.filter((id) => !(id.length === 2 && isGrease((id.charCodeAt(0) << 8) | id.charCodeAt(1))));
}

function check(h: ReturnType<typeof parseTlsClientHello>, s: Spec): void {
  expect(h).not.toBeNull();
  expect(h!.complete).toBe(true);
  expect(h!.sni).toBe(s.sni);
  expect(h!.alpn).toEqual(notGrease(s.alpn ?? []));
  expect(h!.versions).toEqual(s.versions);
  expect(h!.sessionIdLen).toBe(s.sid.length);
}

describe('ClientHello round trip', () => {
  it('drops two-byte GREASE ALPN ids and keeps the rest, in order (the generator below can draw them)', () => {
    const b = tlsRecord(helloBody({ exts: [alpnExt(['jj', 'h2', 'zz', 'http/1.1', 'jk'])] }));
    expect(parseTlsClientHello(b, 0, b.length)!.alpn).toEqual(['h2', 'http/1.1', 'jk']);
    const body = helloBody({ exts: [alpnExt(['jj', 'h3']), ext(0x39, [1, 2])] });
    const hs = [1, (body.length >> 16) & 255, (body.length >> 8) & 255, body.length & 255, ...body];
    const pkt = protectInitial(QUIC_V1, Uint8Array.from([9, 8, 7, 6, 5, 4, 3, 2]), cryptoFrame(0, hs), 0);
    expect(parseQuicInitial(pkt, 0, pkt.length)!.hello!.alpn).toEqual(['h3']);
  });

  it('TLS (random record split)', () => {
    fc.assert(
      fc.property(spec, fc.option(grease, { nil: null }), fc.integer({ min: 8, max: 400 }), (s, g, split) => {
        const b = tlsRecord(helloBody({ sessionId: s.sid, exts: exts(s, g) }), split);
        check(parseTlsClientHello(b, 0, b.length), s);
        // and through flowNames
        const v = new ArrayFlowView({ transport: IPPROTO_TCP, srcPort: 40000, dstPort: 443 }, [{ dir: 0, bytes: b }]);
        const n = flowNames(v);
        if (s.sni !== null || (s.alpn?.length ?? 0) > 0) {
          expect(n!.kind).toBe('tls');
          expect(n!.sni).toBe(s.sni ?? undefined);
        } else expect(n).toBeNull();
        // Every truncation parses without throwing and never claims completeness.
        const cut = Math.max(9, b.length - 1 - (split % b.length));
        const t = parseTlsClientHello(b, 0, Math.min(cut, b.length - 1));
        if (t) expect(t.complete).toBe(false);
      }),
      { numRuns: 150 },
    );
  });
  it('DTLS', () => {
    fc.assert(
      fc.property(spec, fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 32 }), (s, cookie) => {
        const b = dtlsRecord(helloBody({ version: 0xfefd, sessionId: s.sid, cookie, exts: exts(s, null) }));
        const h = parseDtlsClientHello(b, 0, b.length);
        check(h, s);
        expect(h!.cookieLen).toBe(cookie.length);
      }),
      { numRuns: 100 },
    );
  });
  it('QUIC v1/v2 with CRYPTO split into shuffled frames', () => {
    fc.assert(
      fc.property(spec, fc.boolean(), fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 6 }), fc.array(fc.integer(), { minLength: 8, maxLength: 8 }), fc.uint8Array({ minLength: 8, maxLength: 20 }), (s, v2, cuts, order, dcid) => {
        const body = helloBody({ sessionId: s.sid, exts: [...exts(s, null), ext(0x39, [1, 2])] });
        const hs = [1, (body.length >> 16) & 255, (body.length >> 8) & 255, body.length & 255, ...body];
        const frames: number[][] = [];
        let p = 0;
        for (const c of cuts) {
          if (p >= hs.length) break;
          frames.push(cryptoFrame(p, hs.slice(p, p + c)));
          p += c;
        }
        if (p < hs.length) frames.push(cryptoFrame(p, hs.slice(p)));
        const shuffled = frames.map((f, k) => [order[k % order.length]! + k * 1e-6, f] as const).sort((a, b) => a[0] - b[0]).flatMap((x) => [1, ...x[1]]);
        const pkt = protectInitial(v2 ? QUIC_V2 : QUIC_V1, dcid, shuffled, 0);
        const q = parseQuicInitial(pkt, 0, pkt.length);
        expect(q).not.toBeNull();
        check(q!.hello, s);
        expect(q!.dcid).toBe(Buffer.from(dcid).toString('hex'));
      }),
      { numRuns: 60 },
    );
  });
});
