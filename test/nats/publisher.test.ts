/**
 * Records to a stream against a real nats-server: each record stored once with the sensor's id; a record sent
 * again is a duplicate the server drops; a sensor whose link is cut for seconds loses nothing when its buffer
 * holds the outage, and when it does not, the publisher's `dropped` is exactly what is missing from the stream.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { FlowRecord } from '../../src/classify/record.js';
import { createRecordPublisher } from '../../src/nats/publisher.js';
import { ensureRecordsStream } from '../../src/nats/streams.js';
import { readStreamRecords } from './read-stream.js';
import { natsServerBinary } from '../helpers/nats-server.js';
import { useNatsServer } from '../helpers/nats-fixture.js';

const nats = natsServerBinary();
if (!nats.bin) console.warn(`test/nats/publisher: skipped: ${nats.why}`);

function record(i: number): FlowRecord {
  return {
    transport: 'udp',
    src: `10.0.${(i >> 8) & 255}.${i & 255}:${40000 + (i % 1000)}`,
    dst: '192.0.2.1:51820',
    label: i % 3 === 0 ? 'unregistered_vpn' : 'ordinary',
    protocol: i % 3 === 0 ? 'wireguard' : null,
    confidence: 0.9,
    registrant: null,
    evidence: [],
    packets: 2,
    bytes: 240,
    firstSeen: `2026-12-05T10:00:${String(i % 60).padStart(2, '0')}.${String(i).padStart(6, '0')}Z`,
    lastSeen: '2026-12-05T10:01:00.000000Z',
    listVersion: 1,
    decidedAtPacket: 2,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The stream holds `n` records, all of different flows. */
async function expectStoredOnce(nc: NatsConnection, stream: string, n: number): Promise<void> {
  const got = await readStreamRecords(nc, stream);
  expect(got.length).toBe(n);
  expect(new Set(got.map((r) => r.src)).size).toBe(n);
}

describe.skipIf(!nats.bin)(`record publisher on nats-server${nats.bin ? '' : ` (skipped: ${nats.why})`}`, () => {
  const fx = useNatsServer();
  let nc: NatsConnection;
  beforeAll(() => {
    nc = fx.nc();
  });

  it('refuses timeouts a Node timer would run after 1 ms; flush takes Infinity as no limit', async () => {
    await expect(createRecordPublisher(nc, { sensor: 'gw-opts', ackTimeoutMs: 3e9 })).rejects.toThrow(/ackTimeoutMs must be an integer in \[1, 2147483647\]/);
    const pub = await createRecordPublisher(nc, { sensor: 'gw-opts' });
    await expect(pub.flush(-1)).rejects.toThrow(/timeoutMs must be a number in \[0, 2147483647\], got -1/);
    await expect(pub.flush(3e9)).rejects.toThrow(/timeoutMs/);
    await expect(pub.flush(Infinity)).resolves.toBe(0);
    await pub.close();
  });

  it('every record stored once, with the sensor id; sending them again stores nothing new', async () => {
    const stream = 'S_ONCE';
    await ensureRecordsStream(nc, { stream, subjects: ['once.>'] });
    const pub = await createRecordPublisher(nc, { sensor: 'gw-1', subject: 'once.gw-1', maxInFlight: 16 });
    let maxInFlight = 0;
    for (let i = 0; i < 2000; i++) {
      pub.publishRecord(record(i));
      maxInFlight = Math.max(maxInFlight, pub.stats.inFlight);
    }
    expect(await pub.flush(30_000)).toBe(0);
    expect(maxInFlight).toBeLessThanOrEqual(16);
    for (let i = 0; i < 2000; i += 7) pub.publishRecord(record(i)); // a retry of the same flows
    const st = await pub.close();
    expect(st).toMatchObject({ offered: 2286, accepted: 2286, acked: 2286, duplicates: 286, dropped: 0, unsent: 0 });
    const got = await readStreamRecords(nc, stream);
    expect(got.length).toBe(2000);
    expect(new Set(got.map((r) => r.src)).size).toBe(2000);
    expect(got.every((r) => r.sensor === 'gw-1')).toBe(true);
    const { sensor, ...rest } = got[5]!;
    expect(sensor).toBe('gw-1');
    expect(rest).toEqual(record(5));
  });

  it('the same flows judged under another list version are stored anew (a re-run after a list change), under the same one once', async () => {
    const stream = 'S_RELABEL';
    await ensureRecordsStream(nc, { stream, subjects: ['relabel.>'] });
    const pub = await createRecordPublisher(nc, { sensor: 'gw-r', subject: 'relabel.gw-r' });
    for (let i = 0; i < 50; i++) pub.publishRecord(record(i));
    // The operator fixed the registration list file and ran the capture again (a fresh process: list version 1
    // again): the new labels must reach the fleet. A fleet list revision changes the version too.
    for (let i = 0; i < 50; i++) pub.publishRecord({ ...record(i), label: 'registered_vpn', registrant: 'corp' });
    for (let i = 0; i < 50; i++) pub.publishRecord({ ...record(i), label: 'registered_vpn', registrant: 'corp' }); // a retry
    for (let i = 0; i < 50; i++) pub.publishRecord({ ...record(i), listVersion: 2 });
    const st = await pub.close();
    expect(st).toMatchObject({ acked: 200, duplicates: 50, dropped: 0, unsent: 0 });
    const got = await readStreamRecords(nc, stream);
    expect(got.filter((r) => r.listVersion === 1 && r.registrant === null).length).toBe(50);
    expect(got.filter((r) => r.listVersion === 1 && r.registrant === 'corp').length).toBe(50);
    expect(got.filter((r) => r.listVersion === 2).length).toBe(50);
  });

  it('a link cut for seconds loses nothing when the buffer holds the outage', async () => {
    const stream = 'S_CUT';
    await ensureRecordsStream(nc, { stream, subjects: ['cut.>'] });
    const { proxy, nc: sensorNc } = await fx.viaProxy();
    const pub = await createRecordPublisher(sensorNc, { sensor: 's2', subject: 'cut.s2', ackTimeoutMs: 1000 });
    const events: string[] = [];
    pub.on('unreachable', () => events.push('unreachable'));
    pub.on('reachable', () => events.push('reachable'));
    let i = 0;
    const produce = async (n: number) => {
      for (const end = i + n; i < end; i++) {
        pub.publishRecord(record(i));
        if (i % 50 === 0) await sleep(5);
      }
    };
    await produce(1000);
    proxy.cut();
    await produce(1500); // while the link is down
    await sleep(3000);
    expect(pub.stats.unreachable).toBe(true);
    proxy.restore();
    await produce(1000);
    expect(await pub.flush(60_000)).toBe(0);
    const st = await pub.close();
    expect(events).toEqual(['unreachable', 'reachable']);
    expect(st).toMatchObject({ offered: 3500, acked: 3500, dropped: 0, unsent: 0 });
    await expectStoredOnce(nc, stream, 3500);
  }, 90_000);

  it('when the outage overflows the buffer, dropped is exactly what the stream misses', async () => {
    const stream = 'S_DROP';
    await ensureRecordsStream(nc, { stream, subjects: ['drop.>'] });
    const { proxy, nc: sensorNc } = await fx.viaProxy();
    const pub = await createRecordPublisher(sensorNc, { sensor: 's3', subject: 'drop.s3', maxBuffered: 300, ackTimeoutMs: 1000 });
    let drops = 0;
    pub.on('drop', () => drops++);
    const ok: boolean[] = [];
    // 500 at once into a 300-message buffer: some are refused even with the link up (acks take time).
    for (let i = 0; i < 500; i++) ok.push(pub.publishRecord(record(i)));
    expect(await pub.flush(30_000)).toBe(0);
    proxy.cut();
    await sleep(500);
    for (let i = 500; i < 1500; i++) ok.push(pub.publishRecord(record(i)));
    await sleep(1500);
    proxy.restore();
    for (let i = 1500; i < 1700; i++) ok.push(pub.publishRecord(record(i)));
    expect(await pub.flush(60_000)).toBe(0);
    const st = await pub.close();
    expect(st.dropped).toBeGreaterThan(0);
    expect(st).toMatchObject({ offered: 1700, acked: 1700 - st.dropped, unsent: 0 });
    expect(drops).toBeGreaterThanOrEqual(1);
    const got = await readStreamRecords(nc, stream);
    expect(got.length).toBe(1700 - st.dropped);
    // The records refused (publishRecord returned false) are exactly the ones missing from the stream.
    const stored = new Set(got.map((r) => r.src));
    const missing = ok.map((_, i) => i).filter((i) => !stored.has(record(i).src));
    expect(missing).toEqual(ok.map((v, i) => (v ? -1 : i)).filter((i) => i >= 0));
    expect(missing.length).toBe(st.dropped);
  }, 90_000);

  it("overflow 'block': accepts past the cap, reports full, and room() resolves once it drains", async () => {
    const stream = 'S_BLOCK';
    await ensureRecordsStream(nc, { stream, subjects: ['block.>'] });
    const pub = await createRecordPublisher(nc, { sensor: 's4', subject: 'block.s4', maxBuffered: 100, overflow: 'block' });
    let refusedAt = -1;
    for (let i = 0; i < 250; i++) if (!pub.publishRecord(record(i)) && refusedAt < 0) refusedAt = i;
    expect(refusedAt).toBe(99);
    expect(pub.full).toBe(true);
    await pub.room();
    expect(pub.stats.buffered).toBeLessThanOrEqual(50);
    const st = await pub.close();
    expect(st).toMatchObject({ offered: 250, acked: 250, dropped: 0 });
    expect((await readStreamRecords(nc, stream)).length).toBe(250);
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(stream)).state.messages).toBe(250);
  });

  it('acks that never come are timed out and the records sent again (same ids): stored once', async () => {
    const stream = 'S_HOLD';
    await ensureRecordsStream(nc, { stream, subjects: ['hold.>'] });
    const { proxy, nc: sensorNc } = await fx.viaProxy();
    const pub = await createRecordPublisher(sensorNc, { sensor: 's5', subject: 'hold.s5', ackTimeoutMs: 400 });
    for (let i = 0; i < 300; i++) pub.publishRecord(record(i));
    // Part of what it sends next is lost on the way (the proxy swallows it): no acks for those.
    proxy.holdAfter(20_000);
    for (let i = 300; i < 900; i++) pub.publishRecord(record(i));
    await sleep(1500);
    proxy.restore();
    expect(await pub.flush(30_000)).toBe(0);
    const st = await pub.close();
    expect(st.retries).toBeGreaterThan(0);
    expect(st).toMatchObject({ offered: 900, acked: 900, dropped: 0, unsent: 0 });
    await expectStoredOnce(nc, stream, 900);
  }, 60_000);

  it('a subject no stream takes: retried, the reason kept, and counted as unsent at close', async () => {
    const pub = await createRecordPublisher(nc, { sensor: 's6', subject: 'nowhere.s6' });
    const retries: Array<{ retries: number; error: string }> = [];
    pub.on('retry', (e: { retries: number; error: string }) => retries.push(e));
    for (let i = 0; i < 10; i++) pub.publishRecord(record(i));
    const st = await pub.close(1500);
    expect(st).toMatchObject({ offered: 10, acked: 0, unsent: 10, dropped: 0 });
    expect(st.lastError).toMatch(/no stream takes subject nowhere\.s6/);
    // Each failure is an event the CLI says (throttled), with its reason.
    expect(retries.length).toBeGreaterThan(0);
    expect(retries[0]!.error).toMatch(/no stream takes subject/);
  });
});
