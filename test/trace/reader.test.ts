import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, TraceFormatError } from '../../src/errors.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { CaptureReader, readCaptureBuffer, readCaptureFile, readCaptureFileSync, readCaptureStream } from '../../src/trace/reader.js';
import type { RawPacket } from '../../src/trace/types.js';
import { copy, everyN, readChunked, type Got } from './reader-helpers.js';

const T0 = 1_700_000_000_123_456; // µs

function frames(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    out.push(buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, srcPort: 1000 + i, dstPort: 53, payload: new Uint8Array(i * 7) }));
  }
  return out;
}

function pcapOf(fs: Uint8Array[], opts: ConstructorParameters<typeof PcapWriter>[0] = {}): Uint8Array {
  const w = new PcapWriter(opts);
  fs.forEach((f, i) => w.packet(T0 + i * 1_000_001, f));
  return w.toBuffer();
}

function readAll(buf: Uint8Array): Got[] {
  const got: Got[] = [];
  readCaptureBuffer(buf, 'mem', (p) => got.push(copy(p)));
  return got;
}

function expectFormatError(fn: () => unknown, offset: number, text?: RegExp): TraceFormatError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TraceFormatError);
  const e = err as TraceFormatError;
  expect(e.code).toBe('TS_CAPTURE_FORMAT');
  expect(e.offset).toBe(offset);
  expect(e.message).toContain(`at byte ${offset}`);
  if (text) expect(e.message).toMatch(text);
  return e;
}

describe('classic pcap', () => {
  const fs = frames(5);
  for (const bigEndian of [false, true]) {
    for (const nanos of [false, true]) {
      it(`reads ${bigEndian ? 'big' : 'little'}-endian ${nanos ? 'nanosecond' : 'microsecond'} captures`, () => {
        const got = readAll(pcapOf(fs, { bigEndian, nanos, linkType: 1 }));
        expect(got).toHaveLength(5);
        got.forEach((g, i) => {
          expect(g.bytes).toEqual(Array.from(fs[i]!));
          expect(g.tsUs).toBe(T0 + i * 1_000_001);
          expect(g.linkType).toBe(1);
          expect(g.capLen).toBe(fs[i]!.length);
          expect(g.wireLen).toBe(fs[i]!.length);
        });
      });
    }
  }

  it('an original length below the captured one (a writer\'s error) counts the captured bytes', () => {
    const buf = pcapOf([fs[0]!, fs[1]!]);
    const dv = new DataView(buf.buffer, buf.byteOffset);
    dv.setUint32(24 + 12, 10, true); // first record: orig_len 10 for a longer frame
    dv.setUint32(24 + 16 + fs[0]!.length + 12, 0, true); // second: orig_len 0
    const got = readAll(buf);
    expect(got.map((g) => [g.capLen, g.wireLen])).toEqual([[fs[0]!.length, fs[0]!.length], [fs[1]!.length, fs[1]!.length]]);
  });

  it('rounds nanosecond timestamps down to microseconds', () => {
    const buf = pcapOf([fs[0]!], { nanos: true });
    new DataView(buf.buffer).setUint32(24 + 4, 999_999_999, true);
    expect(readAll(buf)[0]!.tsUs).toBe(Math.floor(T0 / 1e6) * 1e6 + 999_999);
  });

  it('ignores FCS bits in the upper link-type field', () => {
    const buf = pcapOf([fs[0]!], { linkType: 101 });
    new DataView(buf.buffer).setUint32(20, 0x14000000 | 101, true);
    expect(readAll(buf)[0]!.linkType).toBe(101);
  });

  it('reads the Kuznetzov variant (24-byte record headers)', () => {
    const f = fs[1]!;
    const buf = new Uint8Array(24 + 24 + f.length);
    const dv = new DataView(buf.buffer);
    dv.setUint32(0, 0xa1b2cd34, false);
    dv.setUint16(4, 2, false);
    dv.setUint16(6, 4, false);
    dv.setUint32(16, 65535, false);
    dv.setUint32(20, 1, false);
    dv.setUint32(24, 10, false);
    dv.setUint32(28, 20, false);
    dv.setUint32(32, f.length, false);
    dv.setUint32(36, f.length + 4, false);
    buf.set(f, 48);
    const got = readAll(buf);
    expect(got).toHaveLength(1);
    expect(got[0]!.bytes).toEqual(Array.from(f));
    expect(got[0]!.tsUs).toBe(10_000_020);
    expect(got[0]!.wireLen).toBe(f.length + 4);
  });

  it('counts snaplen-cut records', () => {
    const w = new PcapWriter();
    w.packet(T0, fs[2]!.subarray(0, 30), fs[2]!.length);
    w.packet(T0, fs[3]!);
    const r = new CaptureReader('x');
    const got: Got[] = [];
    r.push(w.toBuffer(), (p) => got.push(copy(p)));
    r.end();
    expect(r.stats).toMatchObject({ packets: 2, truncatedRecords: 1, interfaces: 1 });
    expect(got[0]).toMatchObject({ capLen: 30, wireLen: fs[2]!.length });
  });

  it('gives the same packets for any chunking', () => {
    const buf = pcapOf(fs);
    const whole = readAll(buf);
    for (const n of [1, 2, 3, 5, 16, 17, 23, 24, 25, 40, 100, 1000]) {
      const { got, error, reader } = readChunked(buf, everyN(buf.length, n));
      expect(error).toBeNull();
      expect(got).toEqual(whole);
      expect(reader.stats.bytes).toBe(buf.length);
    }
  });

  it('hands out the pushed chunk itself for records inside it (zero copy)', () => {
    const buf = pcapOf(fs);
    const r = new CaptureReader('x');
    let same = 0;
    r.push(buf, (p) => {
      if (p.data === buf) same++;
    });
    expect(same).toBe(5);
  });

  it('rejects an unknown magic at offset 0', () => {
    expectFormatError(() => readAll(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n')), 0, /not a pcap or pcapng capture/);
  });

  it('rejects empty and too-short inputs', () => {
    expectFormatError(() => readAll(new Uint8Array(0)), 0, /not a pcap or pcapng capture/);
    expectFormatError(() => readAll(Uint8Array.of(0xd4, 0xc3)), 0, /too short/);
  });

  it('rejects an unsupported major version', () => {
    const buf = pcapOf([fs[0]!]);
    new DataView(buf.buffer).setUint16(4, 3, true);
    expectFormatError(() => readAll(buf), 4, /major version 3/);
  });

  it('rejects a truncated file header', () => {
    expectFormatError(() => readAll(pcapOf([]).subarray(0, 20)), 0, /truncated/);
  });

  it('delivers every complete record, then reports a truncated final record at its offset', () => {
    const buf = pcapOf(fs);
    const lastStart = buf.length - 16 - fs[4]!.length;
    for (const cut of [lastStart + 3, lastStart + 16, buf.length - 1]) {
      for (const n of [7, 4096]) {
        const { got, error } = readChunked(buf.subarray(0, cut), everyN(cut, n));
        expect(got).toHaveLength(4);
        expect(error).toBeInstanceOf(TraceFormatError);
        expect((error as TraceFormatError).offset).toBe(lastStart);
        expect((error as TraceFormatError).message).toMatch(/truncated record/);
      }
    }
  });

  it('rejects an impossible captured length at the record offset, without waiting for more input', () => {
    const buf = pcapOf(fs);
    const second = 24 + 16 + fs[0]!.length;
    new DataView(buf.buffer).setUint32(second + 8, 0x7fffffff, true);
    const r = new CaptureReader('x');
    let n = 0;
    const err = (() => {
      try {
        r.push(buf, () => n++);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(n).toBe(1);
    expect(err).toBeInstanceOf(TraceFormatError);
    expect((err as TraceFormatError).offset).toBe(second);
  });

  it('keeps throwing the same error after a format error', () => {
    const r = new CaptureReader('x');
    const bad = Uint8Array.of(1, 2, 3, 4, 5);
    let first: unknown;
    try {
      r.push(bad, () => {});
    } catch (e) {
      first = e;
    }
    expect(first).toBeInstanceOf(TraceFormatError);
    expect(() => r.push(pcapOf([fs[0]!]), () => {})).toThrow(first as Error);
    expect(() => r.end()).toThrow(first as Error);
  });

  it('round-trips random packets under random chunking (writer as oracle)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ len: fc.nat(300), cut: fc.nat(300), ts: fc.nat(2 ** 31) }), { maxLength: 12 }),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.nat(5000), { maxLength: 8 }),
        (pkts, bigEndian, nanos, cutsRaw) => {
          const w = new PcapWriter({ bigEndian, nanos, linkType: 113 });
          const want: Got[] = [];
          pkts.forEach((p, i) => {
            const frame = new Uint8Array(p.len).map((_, j) => (i * 31 + j) & 255);
            const cap = frame.subarray(0, Math.min(p.cut, p.len));
            const tsUs = p.ts * 1e6 + (p.ts % 1e6);
            w.packet(tsUs, cap, p.len);
            want.push({ bytes: Array.from(cap), tsUs, linkType: 113, capLen: cap.length, wireLen: p.len });
          });
          const buf = w.toBuffer();
          const cuts = cutsRaw.map((c) => c % (buf.length + 1)).sort((a, b) => a - b);
          const { got, error } = readChunked(buf, cuts);
          expect(error).toBeNull();
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('file and stream doors', () => {
  const fs = frames(40);
  const buf = pcapOf(fs);

  it('readCaptureFile streams with a small chunk size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-reader-'));
    try {
      const path = join(dir, 'a.pcap');
      writeFileSync(path, buf);
      const got: Got[] = [];
      const stats = await readCaptureFile(path, (p) => got.push(copy(p)), { chunkSize: 97 });
      expect(got).toEqual(readAll(buf));
      expect(stats).toMatchObject({ packets: 40, bytes: buf.length });
      await expect(readCaptureFile(path, () => {}, { chunkSize: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
      writeFileSync(path, buf.subarray(0, buf.length - 5));
      let n = 0;
      const err = await readCaptureFile(path, () => n++, { chunkSize: 64 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TraceFormatError);
      expect((err as TraceFormatError).source).toBe(path);
      expect(n).toBe(39);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('readCaptureFileSync delivers the same packets, stats and error offsets', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-reader-'));
    try {
      const path = join(dir, 'a.pcap');
      writeFileSync(path, buf);
      for (const chunkSize of [1, 97, 4096, undefined]) {
        const got: Got[] = [];
        const stats = readCaptureFileSync(path, (p) => got.push(copy(p)), chunkSize ? { chunkSize } : {});
        expect(got).toEqual(readAll(buf));
        expect(stats).toMatchObject({ packets: 40, bytes: buf.length });
      }
      expect(() => readCaptureFileSync(path, () => {}, { chunkSize: 0 })).toThrow(InvalidArgumentError);
      writeFileSync(path, buf.subarray(0, buf.length - 5));
      let n = 0;
      let err: unknown = null;
      try {
        readCaptureFileSync(path, () => n++, { chunkSize: 64 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TraceFormatError);
      expect((err as TraceFormatError).source).toBe(path);
      expect(n).toBe(39);
      expect(() => readCaptureFileSync(join(dir, 'missing.pcap'), () => {})).toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('readCaptureStream reads Node streams and async iterables', async () => {
    const chunks = everyN(buf.length, 333).map((c, i, a) => buf.slice(i === 0 ? 0 : a[i - 1], c));
    chunks.push(buf.slice(everyN(buf.length, 333).at(-1)));
    const got: Got[] = [];
    await readCaptureStream(Readable.from(chunks), 'stdin', (p: RawPacket) => got.push(copy(p)));
    expect(got).toEqual(readAll(buf));
    async function* gen(): AsyncGenerator<Uint8Array> {
      for (const c of chunks) yield c;
    }
    const stats = await readCaptureStream(gen(), 'gen', () => {});
    expect(stats.packets).toBe(40);
  });

  it('readCaptureStream refuses text streams', async () => {
    const s = Readable.from(['not bytes']);
    await expect(readCaptureStream(s, 'txt', () => {})).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
