/**
 * A capture that turns out corrupt (issue 18, defect 2): one session delivers the record of every flow read before the
 * corruption point and then the TraceFormatError; a pool used to reject at once and lose them all (the first 9,000
 * bytes of a capture: 1 record with one worker, 0 with two). Now `classifyFile` and `classifyStream` with 1, 2 and 3
 * workers give exactly the single session's records and its error (same offset), for truncations and for a length
 * field broken mid-file. Runs the pool with the BUILT worker (dist/worker.js): `npm test` builds first.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { TraceFormatError } from '../../src/errors.js';
import { compareRecords, createClassifierPool, type ClassifierPool } from '../../src/pool/pool.js';
import { readCaptureBuffer } from '../../src/trace/reader.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const workerUrl = pathToFileURL(join(ROOT, 'dist', 'worker.js'));
const SAMPLE = readFileSync(join(ROOT, 'fixtures', 'sample.pcap'));

interface Outcome {
  recs: string[];
  offset: number | null;
}

function sorted(recs: FlowRecord[]): string[] {
  return [...recs].sort(compareRecords).map((r) => JSON.stringify(r));
}

/** The reference: one session, records of live flows delivered at the corruption point (as the CLI does). */
function single(buf: Uint8Array): Outcome {
  const s = createClassifier().session();
  const recs: FlowRecord[] = [];
  s.on('flow', (r: FlowRecord) => recs.push(r));
  let offset: number | null = null;
  try {
    readCaptureBuffer(buf, 'x', (p) => s.pushRaw(p));
  } catch (e) {
    if (!(e instanceof TraceFormatError)) throw e;
    offset = e.offset;
  } finally {
    s.end();
  }
  return { recs: sorted(recs), offset };
}

async function viaPool(p: ClassifierPool, path: string, buf: Uint8Array, stream: boolean): Promise<Outcome> {
  const recs: FlowRecord[] = [];
  let offset: number | null = null;
  try {
    if (stream) {
      // Small chunks so the corruption lies many chunks in.
      const chunks: Uint8Array[] = [];
      for (let o = 0; o < buf.length; o += 4096) chunks.push(buf.subarray(o, o + 4096));
      await p.classifyStream(Readable.from(chunks), 'x', (r) => recs.push(r));
    } else await p.classifyFile(path, (r) => recs.push(r), { chunkSize: 16 * 1024 });
  } catch (e) {
    expect(e).toBeInstanceOf(TraceFormatError);
    offset = (e as TraceFormatError).offset;
    expect((e as TraceFormatError).message).toContain(`at byte ${offset}`);
  }
  return { recs: sorted(recs), offset };
}

/** The sample with its record at byte `at` given an impossible captured length. */
function brokenLength(at: number): Uint8Array {
  const b = Uint8Array.from(SAMPLE);
  let o = 24;
  while (o < at) o += 16 + new DataView(b.buffer).getUint32(o + 8, true);
  new DataView(b.buffer).setUint32(o + 8, 0x7fffffff, true);
  return b;
}

let dir = '';
const pools = new Map<number, ClassifierPool>();
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ts-corrupt-'));
  for (const n of [1, 2, 3]) pools.set(n, createClassifierPool({ workers: n, workerUrl }));
});
afterAll(async () => {
  for (const p of pools.values()) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a corrupt capture keeps every record before the corruption point, with any worker count', () => {
  const cuts = [9000, 24 + 7, 24 + 16 + 3, Math.floor(SAMPLE.length / 3) + 5, Math.floor(SAMPLE.length / 2) + 11, SAMPLE.length - 1];
  const inputs: { name: string; buf: Uint8Array }[] = [
    ...cuts.map((c) => ({ name: `first ${c} bytes`, buf: SAMPLE.subarray(0, c) })),
    { name: 'a captured length broken mid-file', buf: brokenLength(Math.floor(SAMPLE.length / 2)) },
  ];
  for (const { name, buf } of inputs) {
    it(name, async () => {
      const ref = single(buf);
      expect(ref.offset).not.toBeNull();
      const path = join(dir, 'cut.pcap');
      writeFileSync(path, buf);
      for (const [n, p] of pools) {
        expect(await viaPool(p, path, buf, false), `classifyFile, ${n} workers`).toEqual(ref);
        expect(await viaPool(p, path, buf, true), `classifyStream, ${n} workers`).toEqual(ref);
      }
    }, 120_000);
  }

  it('the first 9,000 bytes hold at least one record (the issue lost it with two workers)', () => {
    expect(single(SAMPLE.subarray(0, 9000)).recs.length).toBeGreaterThan(0);
  });

  it('a whole capture still resolves with every record', async () => {
    const ref = single(SAMPLE);
    expect(ref.offset).toBeNull();
    const path = join(dir, 'whole.pcap');
    writeFileSync(path, SAMPLE);
    expect(await viaPool(pools.get(2)!, path, SAMPLE, false)).toEqual(ref);
    expect(await viaPool(pools.get(3)!, path, SAMPLE, true)).toEqual(ref);
  }, 60_000);
});
