/**
 * The reused packet objects keep one V8 shape whatever values they carry. A number field first stored as a small
 * integer changes the object's shape (map) the first time it holds a microsecond time, a 32-bit address above 2^31
 * or an SPI, and V8 then throws away every optimised function that had seen the old shape: 7 deopts at once in a
 * fresh classify of the merged corpus trace (bench/RESULTS.md, 2026-12-06). Checked with V8's own %HaveSameMap in
 * a child process on the built library.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const LIB = pathToFileURL(join(ROOT, 'dist', 'index.js')).href;

function natives(script: string): string {
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return r.stdout.trim();
}

describe('packet objects keep their shape', () => {
  it('a decoded view holding small values has the shape of one holding 2^40 µs times, 32-bit addresses and SPIs', () => {
    const out = natives(`
      const { newPacketView } = await import(${JSON.stringify(LIB)});
      const small = newPacketView(), big = newPacketView();
      small.tsUs = 62; small.src4 = 1; small.dst4 = 2; small.spi = 3; small.wireLen = 60; small.fragId = 4; small.payloadWireLen = 20;
      big.tsUs = 2 ** 40 + 0.5; big.src4 = 0xc0a80001; big.dst4 = 0xffffffff; big.spi = 0xfffffffe; big.wireLen = 2 ** 32 - 1;
      big.fragId = 0xffffffff; big.payloadWireLen = 2 ** 32 - 1;
      console.log(%HaveSameMap(small, big), %HaveSameMap(small, newPacketView()));`);
    expect(out).toBe('true true');
  });

  it("the reader's packet has one shape for a capture with small timestamps and one with real ones", () => {
    const out = natives(`
      const { readCaptureBuffer, PcapWriter, buildFrame } = await import(${JSON.stringify(LIB)});
      const cap = (us) => { const w = new PcapWriter(); w.packet(us, buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, srcPort: 1, dstPort: 2 })); return w.toBuffer(); };
      let a, b;
      readCaptureBuffer(cap(62), 'a', (p) => (a = p));
      readCaptureBuffer(cap(1.7e15), 'b', (p) => (b = p));
      // Compared before anything reads a field: a read moves an object off a deprecated shape.
      const same = %HaveSameMap(a, b);
      console.log(a.tsUs, b.tsUs, same);`);
    expect(out).toBe('62 1700000000000000 true');
  });
});
