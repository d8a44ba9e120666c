/**
 * Random payloads against the SSL-VPN detectors' DTLS rule.
 *
 * Argued bound for `anyconnect.dtls-legacy` on a uniformly random datagram: content type 0x16 (2^-8) × record
 * version 01 00 (2^-16) × epoch 0 (2^-16) × handshake type 1 (2^-8) × fragment offset 0 (2^-24) × fragment length
 * = record length − 12 (2^-16) × body version 01 00 (2^-16) × record lengths summing to the datagram (≤ 2^-16) ×
 * session id length 32 (2^-8) × a cipher-suite list of one suite (+ SCSV) whose compression list and extensions
 * end exactly at the body's end (≪ 2^-16): ≤ 2^-160 per datagram. The sweep below checks the tail of that chain
 * on look-alikes whose record and handshake headers are forced valid (only the body random): 0 matches.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { anyconnect } from '../../src/detect/anyconnect.js';
import { IPPROTO_UDP } from '../../src/detect/types.js';
import { randomBytes, rng, runFlow } from './udp-vpn-builders.js';

describe('anyconnect.dtls-legacy on random bytes', () => {
  it('fast-check: random datagrams (and random datagrams behind 16 01 00) never match', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), fc.boolean(), (b, prefix) => {
        const bytes = prefix && b.length >= 3 ? Uint8Array.from([0x16, 0x01, 0x00, ...b.subarray(3)]) : b;
        expect(runFlow(anyconnect, IPPROTO_UDP, 40000, 443, [{ dir: 0, bytes }])).toEqual([]);
      }),
      { numRuns: 2000 },
    );
  });

  it('seeded sweep: 100,000 look-alikes with valid 01 00 record and handshake headers over random bodies: no match', () => {
    const r = rng(0xd715);
    const frame = (body: Uint8Array): Uint8Array => {
      const hs = [0x01, 0, body.length >> 8, body.length & 255, 0, 0, 0, 0, 0, 0, body.length >> 8, body.length & 255];
      const rl = 12 + body.length;
      return Uint8Array.from([0x16, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, rl >> 8, rl & 255, ...hs, ...body]);
    };
    const matches = (rec: Uint8Array): boolean => runFlow(anyconnect, IPPROTO_UDP, 40000, 443, [{ dir: 0, bytes: rec }]).length > 0;
    // Positive control: the same framing around AnyConnect's body (version, random, 32-byte session id, empty
    // cookie, one suite, null compression) matches, so the sweep can see a match.
    const valid = Uint8Array.from([0x01, 0x00, ...randomBytes(32, r), 32, ...randomBytes(32, r), 0, 0, 2, 0x00, 0x35, 1, 0]);
    expect(matches(frame(valid))).toBe(true);
    let hits = 0;
    for (let k = 0; k < 100_000; k++) {
      const body = randomBytes(41 + (r() % 120), r);
      body[0] = 0x01;
      body[1] = 0x00; // client_version 01 00
      if (k & 1) body[34] = 32; // half with a 32-byte session id length
      if (matches(frame(body))) hits++;
    }
    expect(hits).toBe(0);
  });
});
