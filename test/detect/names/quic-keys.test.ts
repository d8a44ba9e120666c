/**
 * The plain-JS SHA-256/HMAC/AES-128 of quic-keys.ts against node:crypto (the oracle) on random inputs, and the
 * Initial keys built on them against an HKDF written with node:crypto (the synthesiser's, for v1) — so the fast
 * path can never drift from the standard primitives.
 */
import { createCipheriv, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aes128Block, expandLabelInfo, hmacKeyState, hmacShort } from '../../../src/detect/names/quic-keys.js';
import { initialKeys, QUIC_V1, QUIC_V2 } from '../../../src/detect/names/quic.js';
import { initialKeys as nodeInitialKeys } from '../../../src/synth/quic-crypto.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('quic-keys primitives equal node:crypto', () => {
  it('HMAC-SHA256 for keys ≤ 64 bytes and messages ≤ 55 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 55 }), (key, msg) => {
        const ks = new Int32Array(16);
        hmacKeyState(key, 0, key.length, ks);
        const out = new Uint8Array(32);
        hmacShort(ks, msg, 0, msg.length, out, 0);
        expect(hex(out)).toBe(createHmac('sha256', key).update(msg).digest('hex'));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a message longer than one block instead of hashing it wrongly', () => {
    const ks = new Int32Array(16);
    hmacKeyState(new Uint8Array(32), 0, 32, ks);
    expect(() => hmacShort(ks, new Uint8Array(56), 0, 56, new Uint8Array(32), 0)).toThrow(RangeError);
  });

  it('AES-128 of one block equals AES-128-ECB (FIPS 197 C.1 and random)', () => {
    const out = new Uint8Array(16);
    aes128Block(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'), Buffer.from('00112233445566778899aabbccddeeff', 'hex'), 0, out);
    expect(hex(out)).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 40 }), fc.nat(24), (key, data, at) => {
        const off = at % (data.length - 15);
        aes128Block(key, data, off, out);
        const e = createCipheriv('aes-128-ecb', key, null);
        e.setAutoPadding(false);
        expect(hex(out)).toBe(e.update(data.subarray(off, off + 16)).toString('hex'));
      }),
      { numRuns: 500 },
    );
  });
});

function nodeExpand(secret: Uint8Array, label: string, len: number): Buffer {
  return createHmac('sha256', secret).update(expandLabelInfo(label, len)).digest().subarray(0, len);
}

describe('Initial keys equal an HKDF over node:crypto', () => {
  it('v1 client and server keys for random DCIDs of 0–20 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20 }), fc.constantFrom('client' as const, 'server' as const), (dcid, side) => {
        const a = initialKeys(QUIC_V1, dcid, side);
        const b = nodeInitialKeys(dcid, side);
        expect([hex(a.key), hex(a.iv), hex(a.hp)]).toEqual([hex(b.key), hex(b.iv), hex(b.hp)]);
      }),
      { numRuns: 300 },
    );
  });

  it('v2 client keys (RFC 9369 salt and labels)', () => {
    const salt = Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20 }), (dcid) => {
        const secret = nodeExpand(createHmac('sha256', salt).update(dcid).digest(), 'client in', 32);
        const k = initialKeys(QUIC_V2, dcid);
        expect([hex(k.key), hex(k.iv), hex(k.hp)]).toEqual([hex(nodeExpand(secret, 'quicv2 key', 16)), hex(nodeExpand(secret, 'quicv2 iv', 12)), hex(nodeExpand(secret, 'quicv2 hp', 16))]);
      }),
      { numRuns: 200 },
    );
  });

  it('a DCID longer than QUIC allows is refused', () => {
    expect(() => initialKeys(QUIC_V1, new Uint8Array(21))).toThrow(RangeError);
  });
});
