/**
 * What an embedder's code hands `session.push` / `pushRaw` is checked at the door: bytes that are not a
 * Uint8Array, a link type that is not an integer, or a RawPacket whose frame lies outside its buffer is an
 * InvalidArgumentError, and nothing is counted. A frame's *contents* stay the stream's business: malformed frames
 * and times that are not capture times (non-numbers included, test/trace/capture-time.test.ts) are counted, never
 * thrown.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createClassifierPool } from '../../src/pool/pool.js';
import { createClassifier } from '../../src/classify/classifier.js';
import { InvalidArgumentError } from '../../src/errors.js';
import type { RawPacket } from '../../src/trace/types.js';
import { buildFrame } from '../../src/trace/frame-builder.js';

const frame = buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, srcPort: 40000, dstPort: 53, payload: Uint8Array.of(1, 2, 3, 4) });

describe('session.push / pushRaw check their arguments', () => {
  it.each([
    ['bytes as text', ['abc', 1e15]],
    ['bytes null', [null, 1e15]],
    ['bytes an ArrayBuffer', [new ArrayBuffer(60), 1e15]],
    ['bytes 16-bit', [new Uint16Array(40), 1e15]],
    ['linkType as text', [frame, 1e15, 'eth']],
    ['linkType fractional', [frame, 1e15, 1.5]],
    ['linkType negative', [frame, 1e15, -1]],
  ])('push: %s is an InvalidArgumentError, nothing counted', (_n, args) => {
    const s = createClassifier().session();
    expect(() => (s.push as (...a: unknown[]) => void)(...args)).toThrow(InvalidArgumentError);
    expect(s.stats.packets).toBe(0);
  });

  const raw = (o: Partial<Record<keyof RawPacket, unknown>>): RawPacket => ({ data: frame, offset: 0, capLen: frame.length, wireLen: frame.length, tsUs: 1e15, linkType: 1, ...o }) as RawPacket;
  it.each([
    ['frame past the buffer', { offset: 50, capLen: frame.length }],
    ['negative offset', { offset: -5 }],
    ['capLen beyond the buffer', { capLen: 1e9 }],
    ['fractional capLen', { capLen: 10.5 }],
    ['data not bytes', { data: 'abc' }],
  ])('pushRaw: %s is an InvalidArgumentError, nothing counted', (_n, o) => {
    const s = createClassifier().session();
    expect(() => s.pushRaw(raw(o))).toThrow(InvalidArgumentError);
    expect(s.stats.packets).toBe(0);
  });

  it('contents stay counted: a truncated frame, an unknown link type, an impossible time', () => {
    const s = createClassifier().session();
    s.push(frame.subarray(0, 10), 1e15);
    s.push(frame, 1e15, 4242);
    s.push(frame, Number.NaN);
    s.push(frame, -1n);
    s.pushRaw(raw({ offset: 2, capLen: frame.length - 2 }));
    s.pushRaw(raw({ wireLen: 10 })); // a corrupt record header: wire length below the bytes captured
    expect(s.stats.packets).toBe(6);
    expect(s.stats.malformed).toMatchObject({ 'bad-timestamp': 2 });
    expect(s.stats.decoded).toBe(1); // the corrupt header's frame itself is whole
    s.push(frame, 1e15);
    expect(s.stats.decoded).toBe(2);
  });

  it('a pool checks the same at its live door, and the frames before and after still make their record', async () => {
    const workerUrl = pathToFileURL(join(resolve(import.meta.dirname, '..', '..'), 'dist', 'worker.js'));
    const pool = createClassifierPool({ workers: 1, workerUrl });
    try {
      pool.push(frame, 1_700_000_000_000_000_000n);
      expect(() => pool.push('abc' as unknown as Uint8Array, 1_700_000_000_000_000_000n)).toThrow(InvalidArgumentError);
      expect(() => pool.push(frame, 1_700_000_000_000_000_000n, 1.5)).toThrow(InvalidArgumentError);
      expect(() => pool.pushRaw(raw({ offset: 50 }))).toThrow(InvalidArgumentError);
      pool.push(frame, 1_700_000_000_001_000_000n);
      const records: unknown[] = [];
      pool.on('flow', (r) => records.push(r));
      const stats = await pool.end();
      expect(stats.packets).toBe(2);
      expect(records).toHaveLength(1);
    } finally {
      await pool.close();
    }
  });
});
