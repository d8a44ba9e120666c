/**
 * A frame that does not decode moves capture time in a pool exactly as in one session (issue 18, found by the fuzz
 * suite: fixtures/fuzz/captures/236abe72e4d5 and 2b6a0102e2e6). Pool workers frame every record of a capture and
 * cannot decode those another worker owns, so time has to come from every record; one session used to take it only
 * from frames that decoded, and a mutated non-IP record decades ahead split a flow in a pool and not in a session.
 * File and live paths, 1-3 workers, with the BUILT worker (dist/worker.js).
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
const dir = mkdtempSync(join(tmpdir(), 'tunnelscope-undecoded-'));
const pools: ClassifierPool[] = [];
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

const T0 = 1_700_000_000_000_000;
const tcp = (k: number, flags: number, fromClient: boolean): Uint8Array =>
  buildFrame(fromClient
    ? { src: `10.0.0.${k}`, dst: '192.0.2.1', proto: 6, srcPort: 50000 + k, dstPort: 80, tcpFlags: flags }
    : { src: '192.0.2.1', dst: `10.0.0.${k}`, proto: 6, srcPort: 80, dstPort: 50000 + k, tcpFlags: flags | TCP_ACK });
/** Non-IP records as a mutation leaves them: an LLC frame (802.3 length field), and an Ethernet header cut short. */
const llc = Uint8Array.from([0x41, 0x8c, 8, 0, 0x45, 0, 0x0c, 0xad, 0, 0xc0, 0x9f, 0x32, 0, 40, 0xd4, 0x38, 3, ...new Array(40).fill(0)]);
const cut = Uint8Array.from([0xff, 0x97, 8, 0, 0x45, 0]);

/** Six TCP handshakes whose middle is interrupted by `junk` records years ahead (time then goes back). */
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
