/**
 * `tunnelscope report --nats URL`: the page over a fleet's records stream — every sensor's records, a per-sensor
 * breakdown, messages that are not whole records counted rather than fatal; the NATS options need --nats.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import type { FlowRecord } from '../../src/classify/record.js';
import { main } from '../../src/cli/main.js';
import { createRecordPublisher } from '../../src/nats/publisher.js';
import { ensureRecordsStream } from '../../src/nats/streams.js';
import { natsServerBinary } from '../helpers/nats-server.js';
import { useNatsServer } from '../helpers/nats-fixture.js';
import { Sink } from '../helpers/sink.js';
import { dataBlock, decodeRecords } from '../report/decode.js';

const nats = natsServerBinary();
if (!nats.bin) console.warn(`test/nats/report: skipped: ${nats.why}`);

function record(i: number, label: FlowRecord['label']): FlowRecord {
  return {
    transport: 'udp',
    src: `10.1.${(i >> 8) & 255}.${i & 255}:${41000 + i}`,
    dst: '192.0.2.7:51820',
    label,
    protocol: label === 'ordinary' ? null : 'wireguard',
    confidence: 0.99,
    registrant: label === 'registered_vpn' ? 'org-1' : null,
    evidence: label === 'ordinary' ? [] : [{ rule: 'wg.handshake', strength: 'strong', source: 'wireguard', protocol: 'wireguard', reason: 'handshake', packet: 1 }],
    packets: 4,
    bytes: 600,
    firstSeen: `2026-12-05T10:00:${String(i % 60).padStart(2, '0')}.000000Z`,
    lastSeen: `2026-12-05T10:01:${String(i % 60).padStart(2, '0')}.000000Z`,
    listVersion: 1,
    decidedAtPacket: 2,
  };
}

const run = async (argv: string[]): Promise<{ code: number; err: string }> => {
  const err = new Sink();
  const code = await main(argv, { stdout: new Sink(), stderr: err, stdin: process.stdin });
  return { code, err: err.text };
};

describe('report needs --nats for the fleet options', () => {
  it('--since without --nats, and --nats with an input file, are usage errors', async () => {
    expect(await run(['report', 'fixtures/sample.pcap', '--out', '-', '--since', '2h'])).toMatchObject({ code: 2, err: expect.stringContaining('--since needs --nats') });
    expect(await run(['report', 'fixtures/sample.pcap', '--out', '-', '--nats', 'nats://127.0.0.1:1'])).toMatchObject({ code: 2, err: expect.stringContaining('give no input') });
  });
});

describe.skipIf(!nats.bin)(`report --nats on nats-server${nats.bin ? '' : ` (skipped: ${nats.why})`}`, () => {
  const fx = useNatsServer();
  let nc: NatsConnection;
  beforeAll(() => {
    nc = fx.nc();
  });

  it("one page over every sensor's records, with the per-sensor breakdown; a message that is not a record is counted", async () => {
    const stream = 'REPORT_TEST';
    await ensureRecordsStream(nc, { stream, subjects: ['tunnelscope.records.>'] });
    const want = new Map<string, string>();
    for (const [sensor, labels] of [['gw1', ['registered_vpn', 'ordinary', 'ordinary']], ['gw2', ['unregistered_vpn', 'unregistered_vpn']]] as const) {
      const pub = await createRecordPublisher(nc, { sensor });
      labels.forEach((l, k) => {
        const r = record(sensor === 'gw1' ? k : 100 + k, l);
        want.set(r.src, `${sensor} ${l}`);
        pub.publishRecord(r);
      });
      await pub.close();
    }
    // Someone else's message on a records subject: valid JSON with the basic fields, but no evidence list.
    nc.publish('tunnelscope.records.gw3', JSON.stringify({ ...record(200, 'ordinary'), sensor: 'gw3', evidence: 'none' }));
    await nc.flush();
    const dir = mkdtempSync(join(tmpdir(), 'ts-fleet-report-'));
    const out = join(dir, 'fleet.html');
    const r = await run(['report', '--nats', fx.server().url, '--stream', stream, '--out', out]);
    expect(r.err).toContain('tunnelscope report: 5 flows from REPORT_TEST, 1 messages skipped');
    expect(r.code).toBe(0);
    const html = readFileSync(out, 'utf8');
    const got = decodeRecords(html);
    expect(new Map(got.map((x) => [x.src, `${x.sensor} ${x.label}`]))).toEqual(want);
    expect(JSON.stringify(dataBlock(html).data)).toContain('gw2');
    expect(html).toContain('NATS stream REPORT_TEST');
  }, 60_000);
});
