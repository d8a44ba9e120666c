/**
 * Every ms/s/count option of the library has an upper bound. Found reading the option checks (grep numberOption):
 * idle timeouts, lingers, a DNS-binding cap, a socket's first-bytes cap, the report's table and bins and synth's
 * counts took any finite number — `1e300` meant "flows never end" (a table that only grows), a buffer a peer could
 * fill without end, or a run that never finishes. Each is refused with a typed error naming it and its range.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, MAX_DURATION_SEC } from '../../src/errors.js';
import { FlowTable } from '../../src/trace/flow-table.js';
import { Reassembler } from '../../src/trace/reassembly.js';
import { createClassifier } from '../../src/classify/classifier.js';
import { DatagramClassifier } from '../../src/node/datagram.js';
import { classifySocket } from '../../src/node/socket.js';
import { ReportBuilder } from '../../src/report/builder.js';
import { synthesize } from '../../src/synth/generate.js';
import { Duplex } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCaptureFile, readCaptureFileSync } from '../../src/trace/reader.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { createClassifierPool } from '../../src/pool/pool.js';

const refused = (f: () => unknown, name: string, range: string): void => {
  let err: unknown = null;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, name).toBeInstanceOf(InvalidArgumentError);
  expect((err as Error).message).toContain(name);
  expect((err as Error).message).toContain(range);
};

describe('numeric library options have an upper bound', () => {
  const year = `[0, ${MAX_DURATION_SEC}]`;
  it('flow table and reassembly durations: at most one year', () => {
    for (const k of ['idleTimeoutSec', 'tcpIdleTimeoutSec', 'tcpLingerSec'] as const) {
      refused(() => new FlowTable({ [k]: 1e300 }, {} as never), k, year);
      expect(() => new FlowTable({ [k]: MAX_DURATION_SEC }, {} as never)).not.toThrow();
    }
    refused(() => new Reassembler({ timeoutSec: 1e300 }, {} as never), 'timeoutSec', year);
  });
  it('a session: maxDnsBindings', () => {
    refused(() => createClassifier().session({ maxDnsBindings: 1e300 }), 'maxDnsBindings', `[0, ${1 << 24}]`);
  });
  it('DatagramClassifier idleMs and maxBytes; classifySocket maxBytes', () => {
    const c = createClassifier();
    refused(() => new DatagramClassifier(c, { idleMs: 1e300 }), 'idleMs', `[0, ${MAX_DURATION_SEC * 1000}]`);
    refused(() => new DatagramClassifier(c, { maxBytes: 1e300 }), 'maxBytes', `[1, ${Number.MAX_SAFE_INTEGER}]`);
    refused(() => classifySocket(c, new Duplex({ read() {} }) as never, { maxBytes: 1e300 }), 'maxBytes', `[1, ${1 << 24}]`);
  });
  it('ReportBuilder maxFlows and maxTimeBins; synthesize flows and packets', () => {
    refused(() => new ReportBuilder({ maxFlows: 2 ** 40 }), 'maxFlows', `[0, ${1 << 28}]`);
    refused(() => new ReportBuilder({ maxTimeBins: 1e12 }), 'maxTimeBins', '[1, 100000]');
    const o = { vpnShare: 0.2, registeredShare: 0.5, seed: 1 };
    refused(() => synthesize({ ...o, packets: 1e300, flows: 5 }, () => {}), 'packets', '[1, 1000000000]');
    refused(() => synthesize({ ...o, packets: 1000, flows: 1e300 }, () => {}), 'flows', '[1, 10000000]');
  });
});

describe('capture read sizes', () => {
  // Found with readCaptureFileSync(path, cb, { chunkSize: 2 ** 40 }): a RangeError from inside (the buffer is
  // allocated whole), where every other wrong option is a typed error naming it.
  it('the readers and the pool refuse a chunkSize past 256 MiB with a typed error', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ts-chunk-')), 'x.pcap');
    writeFileSync(path, new PcapWriter().toBuffer());
    refused(() => readCaptureFileSync(path, () => {}, { chunkSize: 2 ** 40 }), 'chunkSize', `[1, ${1 << 28}]`);
    await expect(readCaptureFile(path, () => {}, { chunkSize: 2 ** 40 })).rejects.toThrow(InvalidArgumentError);
    expect(readCaptureFileSync(path, () => {}, { chunkSize: 1 << 28 }).packets).toBe(0);
    const pool = createClassifierPool({ workers: 1 });
    try {
      await expect(pool.classifyFile(path, () => {}, { chunkSize: 2 ** 40 })).rejects.toThrow(/chunkSize must be an integer in \[1, 268435456\]/);
    } finally {
      await pool.close();
    }
  });
});
