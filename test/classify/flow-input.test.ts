/**
 * `classifyFlow` with a flow given as plain data (`FlowInput`): what an embedder's code passes is checked, and a
 * value that cannot be a flow is an InvalidArgumentError naming the field, never a TypeError from inside the
 * detectors or a verdict computed from garbage (a string read as bytes, a port wrapped into another).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createClassifier } from '../../src/classify/classifier.js';
import { InvalidArgumentError } from '../../src/errors.js';

const base = { transport: 17, src: '10.0.0.1', dst: '10.0.0.2', srcPort: 40000, dstPort: 53, packets: [{ dir: 0, bytes: Uint8Array.of(1, 2, 3) }] };

describe('classifyFlow(FlowInput) checks its input', () => {
  const c = createClassifier();
  it.each([
    ['transport 256', { transport: 256 }, /transport/],
    ['transport as text', { transport: 'udp' }, /transport/],
    ['transport 1.5', { transport: 1.5 }, /transport/],
    ['srcPort 70000', { srcPort: 70000 }, /srcPort/],
    ['dstPort -5', { dstPort: -5 }, /dstPort/],
    ['srcPort as text', { srcPort: '53' }, /srcPort/],
    ['dstPort NaN', { dstPort: Number.NaN }, /dstPort/],
    ['packets null', { packets: null }, /packets/],
    ['packets an object', { packets: { length: 1 } }, /packets/],
    ['a packet null', { packets: [null] }, /packet 0/],
    ['bytes as text', { packets: [{ dir: 0, bytes: 'abc' }] }, /packet 0.*bytes/],
    ['bytes an ArrayBuffer', { packets: [{ dir: 0, bytes: new ArrayBuffer(4) }] }, /packet 0.*bytes/],
    ['bytes 16-bit', { packets: [{ dir: 0, bytes: new Uint16Array(2) }] }, /packet 0.*bytes/],
    ['dir 2', { packets: [{ dir: 0, bytes: Uint8Array.of(1) }, { dir: 2, bytes: Uint8Array.of(1) }] }, /packet 1.*dir/],
    ['len below the bytes given', { packets: [{ dir: 0, bytes: Uint8Array.of(1, 2, 3), len: 2 }] }, /packet 0.*len/],
    ['len fractional', { packets: [{ dir: 0, bytes: Uint8Array.of(1), len: 2.5 }] }, /packet 0.*len/],
  ])('%s is an InvalidArgumentError', (_name, change, message) => {
    const flow = { ...base, ...change } as unknown as Parameters<typeof c.classifyFlow>[0];
    expect(() => c.classifyFlow(flow)).toThrow(InvalidArgumentError);
    expect(() => c.classifyFlow(flow)).toThrow(message);
  });

  it('accepts the whole documented range: any transport 0-255, ports 0-65535 or absent, len at or above the bytes given', () => {
    for (let t = 0; t < 256; t++) expect(c.classifyFlow({ ...base, transport: t }).label).toBe('ordinary');
    const { srcPort: _s, dstPort: _d, ...noPorts } = base;
    expect(c.classifyFlow(noPorts).label).toBe('ordinary');
    expect(c.classifyFlow({ ...base, srcPort: 0, dstPort: 65535, packets: [{ dir: 1, bytes: Buffer.from([1, 2]), len: 1400 }] }).label).toBe('ordinary');
    expect(c.classifyFlow({ ...base, packets: [] }).decidedAtPacket).toBe(0);
  });

  it('property: any value in any field gives a verdict or an InvalidArgumentError, nothing else', () => {
    const anyValue = fc.oneof(fc.anything(), fc.uint8Array({ maxLength: 64 }), fc.integer({ min: -10, max: 70000 }));
    const packet = fc.oneof(
      fc.record({ dir: fc.oneof(fc.constantFrom(0, 1), anyValue), bytes: fc.oneof(fc.uint8Array({ maxLength: 64 }), anyValue), len: fc.option(fc.oneof(fc.nat(2000), anyValue), { nil: undefined }) }),
      anyValue,
    );
    fc.assert(
      fc.property(
        fc.record({
          transport: fc.oneof(fc.constantFrom(6, 17, 47, 50), anyValue),
          srcPort: fc.oneof(fc.nat(65535), anyValue),
          dstPort: fc.oneof(fc.nat(65535), anyValue),
          packets: fc.oneof(fc.array(packet, { maxLength: 6 }), anyValue),
        }),
        (r) => {
          try {
            const v = c.classifyFlow({ src: '10.0.0.1', dst: '10.0.0.2', ...r } as unknown as Parameters<typeof c.classifyFlow>[0]);
            expect(['ordinary', 'registered_vpn', 'unregistered_vpn']).toContain(v.label);
          } catch (e) {
            expect(e).toBeInstanceOf(InvalidArgumentError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
