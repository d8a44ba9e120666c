/**
 * The pool's live path (push/pushRaw, classifyStream — what `classify - --workers N` runs) gives one session's
 * records, found by the fuzz suite (issue 18): frames cut by snaplen counted their captured bytes instead of their
 * original length (the batch header had no wire length), flows expired at batch boundaries rather than at the stream
 * point one session expires them (visible when capture time jumps: merged or clock-stepped captures), and a second
 * run on the same pool kept the first run's clock. Last, file and live paths: a frame that does not decode moves
 * capture time as in one session (fixtures/fuzz/captures/236abe72e4d5 and 2b6a0102e2e6: workers frame every record
 * but decode only their own shard's, so they took time from a mutated non-IP record decades ahead that one session
 * ignored, and split a flow it kept whole). Runs with the BUILT worker (dist/worker.js).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { compareRecords, createClassifierPool, type ClassifierPool } from '../../src/pool/pool.js';
import { buildFrame, TCP_ACK, TCP_SYN } from '../../src/trace/frame-builder.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { readCaptureBuffer } from '../../src/trace/reader.js';

const workerUrl = pathToFileURL(join(resolve(import.meta.dirname, '..', '..'), 'dist', 'worker.js'));
const pools: ClassifierPool[] = [];
const dir = mkdtempSync(join(tmpdir(), 'tunnelscope-live-eq-'));
afterAll(async () => {
  for (const p of pools) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

const canon = (rs: FlowRecord[]): string[] => [...rs].sort(compareRecords).map((r) => JSON.stringify(r));

function single(buf: Uint8Array): string[] {
  const s = createClassifier().session();
  const recs: FlowRecord[] = [];
  s.on('flow', (r: FlowRecord) => recs.push(r));
  readCaptureBuffer(buf, 'x', (p) => s.pushRaw(p));
  s.end();
  return canon(recs);
}

async function live(p: ClassifierPool, buf: Uint8Array): Promise<string[]> {
  const recs: FlowRecord[] = [];
  await p.classifyStream(Readable.from([buf]), 'x', (r) => recs.push(r));
  return canon(recs);
}

const udp = (a: number, b: number, n: number): Uint8Array =>
  buildFrame({ src: `10.0.0.${a}`, dst: `192.0.2.${b}`, proto: 17, srcPort: 40000 + a, dstPort: 4000 + b, payload: new Uint8Array(n).fill(a) });

const T0 = 1_700_000_000_000_000;

describe('the live path equals one session', () => {
  for (const workers of [1, 2, 3]) {
    it(`${workers} worker(s): frames count their original length as the record header gives it`, async () => {
      const w = new PcapWriter({ linkType: 1 });
      for (let i = 0; i < 20; i++) w.packet(T0 + i * 1000, udp(1 + (i % 5), 1 + (i % 3), 40), 1400 + i); // wire length > captured
      w.packet(T0 + 30_000, udp(7, 2, 40), 20); // and a (malformed) original length below the captured one: kept as it is
      const buf = w.toBuffer();
      const p = createClassifierPool({ workers, workerUrl });
      pools.push(p);
      const want = single(buf);
      expect(want.some((r) => (JSON.parse(r) as FlowRecord).bytes > 1400)).toBe(true);
      expect(await live(p, buf)).toEqual(want);
    });

    it(`${workers} worker(s): a jump in capture time expires flows at the same stream point`, async () => {
      const w = new PcapWriter({ linkType: 1 });
      for (let i = 0; i < 10; i++) w.packet(T0 + i * 1000, udp(1 + (i % 4), 1, 30));
      w.packet(T0 + 10 * 365 * 86400e6, udp(9, 9, 30)); // a frame ten years ahead (clock step, merged capture)
      for (let i = 0; i < 10; i++) w.packet(T0 + 20_000 + i * 1000, udp(1 + (i % 4), 1, 30)); // the same flows, back in time
      const buf = w.toBuffer();
      const p = createClassifierPool({ workers, workerUrl });
      pools.push(p);
      const want = single(buf);
      expect(want.length).toBe(9); // four flows split in two by the expiry, and the lone frame
      expect(await live(p, buf)).toEqual(want);
      // A second run on the same pool starts with a fresh clock (it used to keep the ten-years-ahead one).
      const w2 = new PcapWriter({ linkType: 1 });
      for (let i = 0; i < 6; i++) w2.packet(T0 + i * 200e6, udp(1 + (i % 2), 2, 30));
      w2.packet(T0 + 5 * 3600e6, udp(3, 3, 30));
      for (let i = 0; i < 6; i++) w2.packet(T0 + 2e9 + i * 1e6, udp(1 + (i % 2), 2, 30));
      const buf2 = w2.toBuffer();
      expect(await live(p, buf2)).toEqual(single(buf2));
    });
  }
});

const tcp = (k: number, flags: number, fromClient: boolean): Uint8Array =>
  buildFrame(fromClient
    ? { src: `10.0.0.${k}`, dst: '192.0.2.1', proto: 6, srcPort: 50000 + k, dstPort: 80, tcpFlags: flags }
    : { src: '192.0.2.1', dst: `10.0.0.${k}`, proto: 6, srcPort: 80, dstPort: 50000 + k, tcpFlags: flags | TCP_ACK });
/** Non-IP records as a mutation leaves them: an LLC frame (802.3 length field), and an Ethernet header cut short. */
const llc = Uint8Array.from([0x41, 0x8c, 8, 0, 0x45, 0, 0x0c, 0xad, 0, 0xc0, 0x9f, 0x32, 0, 40, 0xd4, 0x38, 3, ...new Array(40).fill(0)]);
const cut = Uint8Array.from([0xff, 0x97, 8, 0, 0x45, 0]);

/** Six TCP handshakes interrupted by the two non-IP records years ahead (time then goes back). */
function capture(): Uint8Array {
  const w = new PcapWriter({ linkType: 1 });
  for (let k = 1; k <= 6; k++) w.packet(T0 + k, tcp(k, TCP_SYN, true));
  w.packet(T0 + 10 * 365 * 86400e6, llc);
  w.packet(T0 + 11 * 365 * 86400e6, cut);
  for (let k = 1; k <= 6; k++) w.packet(T0 + 1000 + k, tcp(k, TCP_SYN, false));
  for (let k = 1; k <= 6; k++) w.packet(T0 + 2000 + k, tcp(k, TCP_ACK, true));
  return w.toBuffer();
}

describe('undecodable frames move capture time alike in pools and one session', () => {
  const buf = capture();
  const path = join(dir, 'junk-ahead.pcap');
  writeFileSync(path, buf);
  const want = single(buf);

  it('one session: the junk records end every open flow (each handshake in two records)', () => {
    expect(want.map((r) => (JSON.parse(r) as FlowRecord).packets).sort()).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
  });

  for (const workers of [1, 2, 3]) {
    it(`${workers} worker(s), classifyFile and classifyStream: the records of one session`, async () => {
      const p = createClassifierPool({ workers, workerUrl });
      pools.push(p);
      const file: FlowRecord[] = [];
      await p.classifyFile(path, (r) => file.push(r), { chunkSize: 64 });
      expect(canon(file)).toEqual(want);
      const live: FlowRecord[] = [];
      await p.classifyStream(Readable.from([buf.subarray(0, 100), buf.subarray(100)]), 'x', (r) => live.push(r));
      expect(canon(live)).toEqual(want);
    });
  }
});
