import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { initialKeys, protectLong, unprotectInitial } from '../../src/synth/quic-crypto.js';
import { buildClientInitial, QUIC_MIN_INITIAL } from '../../src/synth/protocols/quic.js';
import { Rng } from '../../src/synth/rng.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('QUIC v1 Initial keys (RFC 9001 Appendix A.1)', () => {
  const dcid = Buffer.from('8394c8f03e515708', 'hex');
  it('client keys', () => {
    const k = initialKeys(dcid, 'client');
    expect(hex(k.key)).toBe('1f369613dd76d5467730efcbe3b1a22d');
    expect(hex(k.iv)).toBe('fa044b2f42a3fd3b46fb255c');
    expect(hex(k.hp)).toBe('9f50449e04a0e810283a1e9933adedd2');
  });
  it('server keys', () => {
    const k = initialKeys(dcid, 'server');
    expect(hex(k.key)).toBe('cf3a5331653c364c88f0f379b6067e37');
    expect(hex(k.iv)).toBe('0ac1493ca1905853b0bba03e');
    expect(hex(k.hp)).toBe('c206b8d9b9f0f37644430b490eeaa314');
  });
  it('header-protection mask of the Appendix A.2 sample', () => {
    const c = createCipheriv('aes-128-ecb', initialKeys(dcid, 'client').hp, null);
    expect(hex(c.update(Buffer.from('d1b1c98dd7689fb8ec11d242b123dc9b', 'hex')).subarray(0, 5))).toBe('437b9aec36');
  });
});

describe('protect / unprotect', () => {
  it('round-trips any payload, and a flipped ciphertext bit fails authentication (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 20 }), fc.uint8Array({ minLength: 20, maxLength: 300 }), fc.integer({ min: 0, max: 0xffff }), fc.nat(),
        (dcid, plain, pn, flip) => {
          const keys = initialKeys(dcid, 'client');
          const len = 2 + plain.length + 16;
          const header = Uint8Array.from([0xc1, 0, 0, 0, 1, dcid.length, ...dcid, 0, 0, 0x40 | (len >> 8), len & 255, pn >> 8, pn & 255]);
          const pkt = protectLong(header, 2, pn, plain, keys);
          const back = unprotectInitial(pkt, keys);
          expect(back).not.toBeNull();
          expect(back!.pn).toBe(pn);
          expect(hex(back!.frames)).toBe(hex(plain));
          const bad = Uint8Array.from(pkt);
          const at = header.length + 2 + (flip % (plain.length + 16 - 2));
          bad[at]! ^= 1;
          expect(unprotectInitial(bad, keys)).toBeNull();
        }),
      { numRuns: 60 },
    );
  });

  it('buildClientInitial: 1200 bytes, decryptable, CRYPTO frame holds a ClientHello naming the host', () => {
    const rng = new Rng(9);
    const dcid = rng.bytes(8), scid = rng.bytes(8);
    const pkt = buildClientInitial('www.example.org', dcid, scid, rng);
    expect(pkt.length).toBe(QUIC_MIN_INITIAL);
    const back = unprotectInitial(pkt, initialKeys(dcid, 'client'))!;
    expect(back.frames[0]).toBe(6);
    expect(back.frames[4]).toBe(1); // ClientHello
    expect(Buffer.from(back.frames).includes(Buffer.from('www.example.org'))).toBe(true);
    // Wrong keys (server side) must not decrypt it.
    expect(unprotectInitial(pkt, initialKeys(dcid, 'server'))).toBeNull();
  });
});
