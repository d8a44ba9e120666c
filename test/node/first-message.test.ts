/** Where a TCP client's first message ends (src/node/first-message.ts), against whole messages and random bytes. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { firstMessageEnd, MORE, newFramingState, UNKNOWN } from '../../src/node/first-message.js';
import { httpRequest, openvpnTcpReset, pptpSccrq, sstpRequest, tincId, tlsHello, tlsHelloTwoRecords } from './helpers.js';

const CAP = 16384;

/** Feed `b` in the given chunk sizes to one state, as a socket would; the result after each chunk. */
function feed(b: Uint8Array, cuts: number[]): number[] {
  const st = newFramingState();
  const out: number[] = [];
  for (const n of cuts) out.push(firstMessageEnd(b, n, CAP, st));
  return out;
}

const MESSAGES: Array<[string, Uint8Array]> = [
  ['tls', tlsHello('vpn.example.net')],
  ['tls over two records', tlsHelloTwoRecords('vpn.example.net')],
  ['http', httpRequest('example.org')],
  ['http with a body', httpRequest('example.org', 'x'.repeat(300))],
  ['sstp (unbounded Content-Length: the head)', sstpRequest()],
  ['pptp', pptpSccrq()],
  ['openvpn', openvpnTcpReset()],
  ['tinc', tincId()],
];

describe('firstMessageEnd', () => {
  it.each(MESSAGES)('%s: MORE for every proper prefix, the whole length once complete, also with trailing bytes', (_n, m) => {
    for (let n = 1; n < m.length; n++) expect(firstMessageEnd(m, n, CAP, newFramingState()), `prefix ${n}`).toBe(MORE);
    expect(firstMessageEnd(m, m.length, CAP, newFramingState())).toBe(m.length);
    const more = Uint8Array.from([...m, 1, 2, 3, 4]);
    expect(firstMessageEnd(more, more.length, CAP, newFramingState())).toBe(m.length);
  });

  it('a ClientHello whose record stays short of the handshake is read across records until whole', () => {
    const two = tlsHelloTwoRecords('vpn.example.net');
    const firstRecord = 5 + ((two[3]! << 8) | two[4]!);
    expect(firstMessageEnd(two, firstRecord, CAP, newFramingState())).toBe(MORE);
    expect(firstMessageEnd(two, firstRecord + 5, CAP, newFramingState())).toBe(MORE);
  });

  it('an HTTP body longer than the cap is not waited for (the head is the message)', () => {
    const r = httpRequest('example.org', 'y'.repeat(100));
    expect(firstMessageEnd(r, r.length, 80, newFramingState())).toBe(r.length - 100);
  });

  it('bytes no framing starts are UNKNOWN at once', () => {
    for (const b of [[0xff, 1, 2], [0x80, 0], [0x14, 0x02], [0x16, 0x03, 0x09], [0x47, 0x47], [0x30, 0x30], [0x00, 0x10, 0x11, 0x22]]) {
      expect(firstMessageEnd(Uint8Array.from(b), b.length, CAP, newFramingState()), b.join(',')).toBe(UNKNOWN);
    }
  });

  it('property: fed in any chunking, each answer equals a fresh computation over the same prefix', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...MESSAGES.map((m) => m[1])), fc.uint8Array({ maxLength: 400 })),
        fc.uint8Array({ maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (msg, tail, raw) => {
          const b = Uint8Array.from([...msg, ...tail]);
          if (b.length === 0) return;
          const cuts = [...new Set(raw.map((x) => 1 + (x % b.length)))].sort((x, y) => x - y);
          if (cuts.at(-1) !== b.length) cuts.push(b.length);
          const inc = feed(b, cuts);
          const fresh = cuts.map((n) => firstMessageEnd(b, n, CAP, newFramingState()));
          expect(inc).toEqual(fresh);
          for (let i = 0; i < cuts.length; i++) {
            const r = inc[i]!;
            expect(r === MORE || r === UNKNOWN || (r >= 1 && r <= cuts[i]!)).toBe(true);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('property: random bytes never throw and never claim an end past what was received', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 1, max: 4096 }), (b, cap) => {
        const r = firstMessageEnd(b, b.length, cap, newFramingState());
        expect(r === MORE || r === UNKNOWN || (r >= 1 && r <= b.length)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('one byte at a time over a 16 KiB head costs linear time (scan state)', () => {
    const head = Buffer.concat([Buffer.from('GET / HTTP/1.1\r\nX: '), Buffer.alloc(16000, 0x61)]);
    const st = newFramingState();
    const t0 = performance.now();
    for (let n = 1; n <= head.length; n++) firstMessageEnd(head, n, CAP, st);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});
