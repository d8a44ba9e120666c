/**
 * firstPacketTime: the time of a capture file's first packet, read without reading the file (the order of
 * `classify --one-trace`'s pieces). Checked against a full read, on fixtures and on random and cut captures.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { firstPacketTime, readCaptureBuffer } from '../../src/trace/reader.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ts-first-'));

/** The oracle: the first packet's time of a whole read (null when none is read before the end or the damage). */
function oracle(b: Uint8Array): number | null {
  let first: number | null = null;
  try {
    readCaptureBuffer(b, 'x', (p) => {
      first ??= p.tsUs;
    });
  } catch {
    // damage after (or before) the first packet
  }
  return first;
}

function at(name: string, b: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, b);
  return p;
}

describe('firstPacketTime', () => {
  it('fixtures (pcap, pcapng with several sections and interfaces) agree with a full read', () => {
    for (const f of ['fixtures/sample.pcap', 'fixtures/trace/tunnels.pcap', 'fixtures/trace/sections.pcapng']) {
      const b = readFileSync(join(ROOT, f));
      expect(firstPacketTime(join(ROOT, f)), f).toBe(oracle(b));
      expect(oracle(b), f).not.toBeNull();
    }
  });
  it('null for a missing file, an empty one, a header alone, and a first record past 4 MiB', () => {
    expect(firstPacketTime(join(dir, 'nope'))).toBeNull();
    expect(firstPacketTime(at('empty', new Uint8Array(0)))).toBeNull();
    expect(firstPacketTime(at('header', new PcapWriter().toBuffer()))).toBeNull();
    const w = new PcapWriter({ snapLen: 0xffffffff });
    w.packet(5_000_000, new Uint8Array(5 * 1024 * 1024));
    expect(firstPacketTime(at('big', w.toBuffer()))).toBeNull();
  });
  it('random captures, cut anywhere and with bytes overwritten: the oracle or null, never a throw', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4e9 }), fc.integer({ min: 0, max: 300 })), { minLength: 0, maxLength: 8 }),
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (packets, cutAt, flips) => {
          const w = new PcapWriter();
          for (const [sec, len] of packets) w.packet(sec * 1e6, new Uint8Array(len));
          const b = w.toBuffer();
          const c = b.slice(0, b.length === 0 ? 0 : cutAt % (b.length + 1));
          for (const [i, v] of flips) if (c.length) c[i % c.length] = v;
          const got = firstPacketTime(at('prop', c));
          expect(got === null || got === oracle(c)).toBe(true);
          // A whole capture with packets always has its time.
          if (flips.length === 0 && c.length === b.length && packets.length > 0) expect(got).toBe(packets[0]![0] * 1e6);
        },
      ),
      { numRuns: 300 },
    );
  });
});
