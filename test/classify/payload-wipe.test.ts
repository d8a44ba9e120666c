/**
 * Payload bytes do not outlive the verdict (issue 18, defect 7; README: "keeps no payload beyond the first bytes a
 * detector needs, and only until the flow's label is final"). A marker sent in a flow used to stay in the snippet
 * pools after the verdict, after the flow ended and after session.end(): freed slots were not wiped. Now it is gone at
 * each of those points, from the reader's scratch once its record is delivered, from the session's references to the
 * caller's frame once push returns, and from the pool's recycled live batches.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import type { ClassifierSession, VerdictEvent } from '../../src/classify/session.js';
import { createClassifierPool } from '../../src/pool/index.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { CaptureReader } from '../../src/trace/reader.js';

const MARKER = randomBytes(16);

function contains(hay: Uint8Array, needle: Uint8Array = MARKER): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(needle) >= 0;
}

interface Internals {
  table: { big: { bytes: Uint8Array[] }; small: { bytes: Uint8Array[] } | null };
  view: { data: Uint8Array };
  raw: { data: Uint8Array };
}

/** Whether the marker is anywhere the session keeps bytes: its snippet pools, its packet view, its frame handle. */
function kept(s: ClassifierSession): boolean {
  const x = s as unknown as Internals;
  const pools = [...x.table.big.bytes, ...(x.table.small?.bytes ?? [])];
  return pools.some((b) => contains(b)) || contains(x.view.data) || contains(x.raw.data);
}

/** WireGuard initiation (marker in the ephemeral key, recorded in the snippet) and the response echoing its index. */
function wgInitiation(): Uint8Array {
  const p = new Uint8Array(148);
  p.set([1, 0, 0, 0, 0x11, 0x22, 0x33, 0x44]);
  p.set(MARKER, 8);
  return p;
}
function wgResponse(): Uint8Array {
  const p = new Uint8Array(92);
  p.set([2, 0, 0, 0, 0x55, 0x66, 0x77, 0x88, 0x11, 0x22, 0x33, 0x44]);
  return p;
}
const udp = (srcPort: number, dstPort: number, payload: Uint8Array, back = false): Uint8Array =>
  back
    ? buildFrame({ src: '192.0.2.1', dst: '10.0.0.5', proto: 17, srcPort: dstPort, dstPort: srcPort, payload })
    : buildFrame({ src: '10.0.0.5', dst: '192.0.2.1', proto: 17, srcPort, dstPort, payload });

describe('a marker sent in a flow is gone from the session', () => {
  it('after the verdict (WireGuard, final at the response)', () => {
    const s = createClassifier().session();
    const seen: string[] = [];
    s.on('verdict', (v: VerdictEvent) => {
      seen.push(v.verdict.protocol ?? '');
      expect(kept(s)).toBe(false);
    });
    s.push(udp(40000, 51820, wgInitiation()), 1e18);
    expect(kept(s)).toBe(true); // the control: recorded while undecided
    s.push(udp(40000, 51820, wgResponse(), true), 1e18 + 1e6);
    expect(seen).toEqual(['wireguard']);
    expect(kept(s)).toBe(false);
    s.end();
  });

  it('after the flow ends undecided, and after end()', () => {
    const s = createClassifier().session({ flow: { idleTimeoutSec: 1 } });
    const ends: string[] = [];
    s.on('flow', (r: FlowRecord) => {
      ends.push(r.label);
      // The first flow to end is the only one that carried the marker so far.
      if (ends.length === 1) expect(kept(s)).toBe(false);
    });
    const payload = Uint8Array.from([...randomBytes(8), ...MARKER, ...randomBytes(20)]);
    s.push(udp(40001, 40002, payload), 1e18);
    s.push(udp(40001, 40002, payload, true), 1e18 + 1e5);
    expect(kept(s)).toBe(true);
    // Idle expiry ends it.
    s.push(udp(40003, 40004, new Uint8Array(8)), 1e18 + 5e9);
    expect(ends).toEqual(['ordinary']);
    expect(kept(s)).toBe(false);
    // A flow still live at end().
    s.push(udp(40005, 40006, payload), 1e18 + 6e9);
    expect(kept(s)).toBe(true);
    s.end();
    expect(ends).toHaveLength(3);
    expect(kept(s)).toBe(false);
  });
});

describe('no other copy of payload outlives its use', () => {
  it("the reader's scratch for a record straddling two chunks is wiped once the record is delivered", () => {
    const w = new PcapWriter({ linkType: 1 });
    w.packet(1, udp(1, 2, Uint8Array.from([...MARKER, ...MARKER])));
    w.packet(2, udp(1, 2, new Uint8Array(4)));
    const buf = w.toBuffer();
    const r = new CaptureReader('x');
    let n = 0;
    const cut = 24 + 16 + 42 + 8; // file header, record header, Ethernet/IPv4/UDP headers, half the marker
    r.push(buf.subarray(0, cut), () => n++);
    expect(contains((r as unknown as { pend: Uint8Array }).pend, MARKER.subarray(0, 8))).toBe(true);
    r.push(buf.subarray(cut), () => n++);
    r.end();
    expect(n).toBe(2);
    expect(contains((r as unknown as { pend: Uint8Array }).pend, MARKER.subarray(0, 8))).toBe(false);
  });

  it("the pool's live batches come back wiped", async () => {
    const pool = createClassifierPool({ workers: 2, workerUrl: pathToFileURL(join(resolve(import.meta.dirname, '..', '..'), 'dist', 'worker.js')) });
    try {
      for (let i = 0; i < 50; i++) pool.push(udp(41000 + i, 9999, Uint8Array.from([...MARKER, i])), 1e18 + i * 1e3);
      await pool.workerVersions(); // every batch has been processed and returned
      const free = (pool as unknown as { slots: { free: ArrayBuffer[] }[] }).slots.flatMap((s) => s.free);
      expect(free.length).toBeGreaterThan(0);
      for (const b of free) expect(contains(new Uint8Array(b))).toBe(false);
      await pool.end();
    } finally {
      await pool.close();
    }
  });
});
