/**
 * Capture jobs across workers (library level, real nats-server): 20 corpus captures over 3 workers; one job was
 * taken by a worker that published part of its records and died (the test plays that worker: it takes the job,
 * publishes the first half of the records under the job's message ids, never acks). The job is delivered again
 * after the ack wait; the merged records equal per-file classification, each exactly once. A capture that is not
 * one fails at once with its error; a file no worker can open fails after the last attempt. The fleet reader's
 * counts agree with the records.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, AckPolicy } from '@nats-io/jetstream';
import type { Classifier } from '../../src/classify/classifier.js';
import { createJobWorker, submitJobs, waitForJobs, type JobEvent } from '../../src/nats/jobs.js';
import { ensureJobsStream, ensureRecordsStream } from '../../src/nats/streams.js';
import { jobMsgId } from '../../src/nats/names.js';
import { countRecord, newFleetStats, readFleet, type FleetRecord } from '../../src/nats/reader.js';
import { natsServerBinary } from '../helpers/nats-server.js';
import { readCaptureFileSync } from '../../src/trace/reader.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { useNatsServer } from '../helpers/nats-fixture.js';
import { BATCH, batchAvailable, bundledClassifier, classifyFile, plain } from './fleet-corpus.js';

const nats = natsServerBinary();
const why = !nats.bin ? nats.why : !batchAvailable() ? 'corpus captures not found' : '';
if (why) console.warn(`test/nats/jobs: skipped: ${why}`);

describe.skipIf(why !== '')(`capture jobs on nats-server${why ? ` (skipped: ${why})` : ''}`, () => {
  const fx = useNatsServer();
  let nc: NatsConnection;
  let classifier: Classifier;
  beforeAll(async () => {
    nc = fx.nc();
    classifier = await bundledClassifier();
  });

  it('20 captures over 3 workers, one job abandoned mid-way: records equal per-file classify, each once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-jobs-'));
    const garbage = join(dir, 'not-a-capture.pcap');
    writeFileSync(garbage, 'this is not a capture file\n'.repeat(10));
    const missing = join(dir, 'missing.pcap');
    const ACK_WAIT = 2000;
    // The workers' consumer, as the workers would create it (short ack wait for the test).
    await ensureJobsStream(nc);
    await ensureRecordsStream(nc);
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add('TUNNELSCOPE_JOBS', {
      durable_name: 'tunnelscope-workers',
      ack_policy: AckPolicy.Explicit,
      ack_wait: ACK_WAIT * 1e6,
      max_deliver: 3,
      filter_subject: 'tunnelscope.jobs.capture',
    });
    const sub = await submitJobs(nc, [...BATCH, garbage, missing], { batch: 'b1' });
    expect(sub.jobs).toHaveLength(22);

    // The worker that dies: takes the first job, publishes half its records, never acks.
    const reference = new Map(BATCH.map((f) => [f, classifyFile(classifier, f)]));
    const c = await jetstream(nc).consumers.get('TUNNELSCOPE_JOBS', 'tunnelscope-workers');
    const taken = (await c.next({ expires: 5000 }))!;
    const job = taken.json<{ job: string; file: string }>();
    expect(job.file).toBe(BATCH[0]);
    const partial = reference.get(job.file)!.slice(0, Math.ceil(reference.get(job.file)!.length / 2));
    expect(partial.length).toBeGreaterThan(0);
    const js = jetstream(nc);
    for (let n = 0; n < partial.length; n++) {
      const body = { ...partial[n], job: job.job, batch: 'b1', capture: job.file, sensor: 'dead-worker' };
      await js.publish('tunnelscope.records.dead-worker', JSON.stringify(body), { msgID: jobMsgId(job.job, taken.seq, n) });
    }

    const events: JobEvent[] = [];
    const workers = ['w1', 'w2', 'w3'].map((id) => {
      const w = createJobWorker(nc, { id, classifier, idleExitMs: ACK_WAIT * 4 });
      w.on('done', (e: JobEvent) => events.push(e));
      w.on('failed', (e: JobEvent) => events.push(e));
      return w.run();
    });
    const outcomes = await waitForJobs(nc, sub, { timeoutMs: 60_000 });
    const stats = await Promise.all(workers);
    const byJob = new Map(outcomes.map((o) => [o.file, o]));
    for (const f of BATCH) expect(byJob.get(f)!.state, f).toBe('done');
    expect(byJob.get(BATCH[0]!)!.event!.attempt).toBe(2); // delivered again after the abandoned attempt
    expect(byJob.get(garbage)).toMatchObject({ state: 'failed', event: { code: 'TS_CAPTURE_FORMAT', final: true, attempt: 1 } });
    expect(byJob.get(missing)).toMatchObject({ state: 'failed', event: { code: 'ENOENT', final: true, attempt: 3 } });
    expect(events.filter((e) => e.file === missing).map((e) => e.attempt)).toEqual([1, 2, 3]);
    expect(stats.reduce((n, s) => n + s.done, 0)).toBe(20);
    expect(stats.filter((s) => s.done > 0).length).toBeGreaterThan(1); // the work was spread

    // The merged records: per capture, exactly the records of classifying that file alone.
    const got = new Map<string, string[]>();
    const counted = newFleetStats();
    const st = await readFleet(nc, {
      startSeq: sub.recordsSeq + 1,
      match: (r) => r.batch === 'b1',
      onRecord: (r: FleetRecord) => {
        const k = r.capture as string;
        got.set(k, [...(got.get(k) ?? []), plain(r)]);
        countRecord(counted, r);
      },
    });
    for (const f of BATCH) expect((got.get(f) ?? []).sort(), f).toEqual(reference.get(f)!.map((r) => plain(r as unknown as Record<string, unknown>)).sort());
    const total = [...reference.values()].reduce((n, rs) => n + rs.length, 0);
    expect(st.records).toBe(total);
    expect(st.byLabel).toEqual(counted.byLabel);
    // The abandoned job's first half kept the dead worker's name (first stored copy wins), the rest a live worker's.
    expect(st.bySensor['dead-worker']!.flows).toBe(partial.length);
    const vpn = [...reference.values()].flat().filter((r) => r.label !== 'ordinary').length;
    expect((st.byLabel['registered_vpn']?.flows ?? 0) + (st.byLabel['unregistered_vpn']?.flows ?? 0)).toBe(vpn);
  }, 120_000);

  it('a job whose every worker dies is reported as given up once the server stops delivering it', async () => {
    const jsm = await jetstreamManager(nc);
    const opts = { stream: 'J_GIVEUP', subject: 'giveup.capture', consumer: 'giveup-workers' };
    await ensureJobsStream(nc, { stream: opts.stream, subject: opts.subject });
    await jsm.consumers.add(opts.stream, { durable_name: opts.consumer, ack_policy: AckPolicy.Explicit, ack_wait: 1000 * 1e6, max_deliver: 2, filter_subject: opts.subject });
    const sub = await submitJobs(nc, [BATCH[5]!], { ...opts, batch: 'g1' });
    const waiting = waitForJobs(nc, sub, { ...opts, timeoutMs: 30_000 });
    const c = await jetstream(nc).consumers.get(opts.stream, opts.consumer);
    // Two workers take it and die (never ack, never signal progress).
    for (let i = 1; i <= 2; i++) expect((await c.next({ expires: 5000 }))?.info.deliveryCount).toBe(i);
    // A live worker's next pull is when the server finds the job has had all its deliveries (and says so).
    expect(await c.next({ expires: 4000 })).toBeNull();
    const [out] = await waiting;
    expect(out).toMatchObject({ job: 'g1-1', state: 'gave-up', deliveries: 2 });
  }, 60_000);

  it('a batch id the jobs stream still remembers is refused, not silently dropped', async () => {
    const opts = { stream: 'J_REUSE', subject: 'reuse.capture' };
    const first = await submitJobs(nc, [BATCH[1]!, BATCH[2]!], { ...opts, batch: 'same' });
    expect(first.jobs).toHaveLength(2);
    // The server would drop the second submission's jobs as duplicates of the first's: nobody would run them and
    // a wait for them would never end.
    await expect(submitJobs(nc, [BATCH[3]!], { ...opts, batch: 'same' })).rejects.toThrow(/batch "same".*already submitted.*another batch id/s);
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(opts.stream)).state.messages).toBe(2);
  }, 30_000);

  it('a batch id submitted again after the jobs stream forgot it: its records and done event are stored anew', async () => {
    const opts = { stream: 'J_AGAIN', subject: 'again.capture', consumer: 'again-workers' };
    const jsm = await jetstreamManager(nc);
    // A jobs stream that forgets message ids after 1 s; the records stream remembers them for 2 min (the default).
    await jsm.streams.add({ name: opts.stream, subjects: [opts.subject], retention: 'workqueue' as never, duplicate_window: 1000 * 1e6 });
    const runOnce = async (): Promise<number> => {
      const sub = await submitJobs(nc, [BATCH[4]!], { ...opts, batch: 'again' });
      const worker = createJobWorker(nc, { ...opts, id: 'again-w', classifier, maxJobs: 1 }).run();
      const [out] = await waitForJobs(nc, sub, { ...opts, timeoutMs: 20_000 });
      await worker;
      expect(out!.state).toBe('done');
      let n = 0;
      await readFleet(nc, { startSeq: sub.recordsSeq + 1, match: (r) => r.batch === 'again', onRecord: () => void n++ });
      return n;
    };
    const want = classifyFile(classifier, BATCH[4]!).length;
    expect(want).toBeGreaterThan(0);
    expect(await runOnce()).toBe(want);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await runOnce()).toBe(want);
  }, 60_000);

  it('a one-trace job abandoned mid-way: the next delivery reads the same pieces, records equal the whole capture, each once', async () => {
    const opts = { stream: 'J_TRACE', subject: 'trace.capture', consumer: 'trace-workers' };
    const jsm = await jetstreamManager(nc);
    await ensureJobsStream(nc, { stream: opts.stream, subject: opts.subject });
    await jsm.consumers.add(opts.stream, { durable_name: opts.consumer, ack_policy: AckPolicy.Explicit, ack_wait: 2000 * 1e6, max_deliver: 3, filter_subject: opts.subject });
    // The OpenVPN capture in three pieces (whole pcaps), the whole one rewritten the same way for the reference.
    const dir = mkdtempSync(join(tmpdir(), 'ts-jobs-trace-'));
    const frames: { tsUs: number; data: Uint8Array; wireLen: number }[] = [];
    readCaptureFileSync(BATCH[4]!, (p) => frames.push({ tsUs: p.tsUs, data: p.data.slice(p.offset, p.offset + p.capLen), wireLen: p.wireLen }));
    const write = (path: string, from: number, to: number): string => {
      const w = new PcapWriter();
      for (const f of frames.slice(from, to)) w.packet(f.tsUs, f.data, f.wireLen);
      writeFileSync(path, w.toBuffer());
      return path;
    };
    const third = Math.floor(frames.length / 3);
    const whole = write(join(dir, 'whole.pcap'), 0, frames.length);
    const pieces = [write(join(dir, 'p0'), 0, third), write(join(dir, 'p1'), third, 2 * third), write(join(dir, 'p2'), 2 * third, frames.length)];
    const reference = classifyFile(classifier, whole);
    expect(reference.some((r) => r.label !== 'ordinary')).toBe(true);

    const sub = await submitJobs(nc, pieces, { ...opts, batch: 't1', oneTrace: true });
    expect(sub.jobs).toEqual([{ job: 't1-1', file: `${pieces[0]} (one trace, 3 pieces)`, seq: expect.any(Number) }]);
    // The worker that dies: takes the job, publishes the first half of its records, never acks.
    const c = await jetstream(nc).consumers.get(opts.stream, opts.consumer);
    const taken = (await c.next({ expires: 5000 }))!;
    const job = taken.json<{ job: string; file: string; pieces: string[] }>();
    expect(job.pieces).toEqual(pieces);
    const half = reference.slice(0, Math.ceil(reference.length / 2));
    for (let n = 0; n < half.length; n++) {
      const body = { ...half[n], job: job.job, batch: 't1', capture: job.file, sensor: 'dead-worker' };
      await jetstream(nc).publish('tunnelscope.records.dead-worker', JSON.stringify(body), { msgID: jobMsgId(job.job, taken.seq, n) });
    }
    const w = createJobWorker(nc, { ...opts, id: 'tw1', classifier, idleExitMs: 8000 });
    const running = w.run();
    const [out] = await waitForJobs(nc, sub, { ...opts, timeoutMs: 30_000 });
    await running;
    expect(out).toMatchObject({ state: 'done', event: { attempt: 2, records: reference.length, pieces: 3, failedPieces: 0 } });
    const got: string[] = [];
    await readFleet(nc, { startSeq: sub.recordsSeq + 1, match: (r) => r.batch === 't1', onRecord: (r: FleetRecord) => got.push(plain(r)) });
    expect(got.sort()).toEqual(reference.map((r) => plain(r as unknown as Record<string, unknown>)).sort());

    // A piece no worker can open: given back with its code on each delivery but the last, which reads the rest.
    const gone = join(dir, 'gone');
    const sub2 = await submitJobs(nc, [pieces[0]!, gone], { ...opts, batch: 't2', oneTrace: true });
    const events: JobEvent[] = [];
    const w2 = createJobWorker(nc, { ...opts, id: 'tw2', classifier, idleExitMs: 6000 });
    w2.on('failed', (e: JobEvent) => events.push(e));
    w2.on('done', (e: JobEvent) => events.push(e));
    const running2 = w2.run();
    const [out2] = await waitForJobs(nc, sub2, { ...opts, timeoutMs: 30_000 });
    await running2;
    expect(events.map((e) => [e.event, e.attempt, e.code ?? null, e.final ?? null])).toEqual([['failed', 1, 'ENOENT', false], ['failed', 2, 'ENOENT', false], ['done', 3, null, null]]);
    expect(out2).toMatchObject({ state: 'done', event: { pieces: 2, failedPieces: 1, notes: [`cannot read ${gone}: no such file`] } });

    // 30 corrupt pieces: the done event names 20 and counts the rest (one event stays small; asJobEvent takes it).
    const cut = readFileSync(pieces[0]!).subarray(0, 24 + 16 + 5);
    const corrupt = Array.from({ length: 30 }, (_, i) => join(dir, `cut${i}`));
    for (const f of corrupt) writeFileSync(f, cut);
    const sub3 = await submitJobs(nc, [pieces[0]!, ...corrupt], { ...opts, batch: 't3', oneTrace: true });
    const running3 = createJobWorker(nc, { ...opts, id: 'tw3', classifier, idleExitMs: 3000 }).run();
    const [out3] = await waitForJobs(nc, sub3, { ...opts, timeoutMs: 30_000 });
    await running3;
    expect(out3).toMatchObject({ state: 'done', event: { attempt: 1, pieces: 31, failedPieces: 30 } });
    expect(out3!.event!.notes).toHaveLength(21);
    expect(out3!.event!.notes![0]).toMatch(/cut0: at byte 24: truncated record/);
    expect(out3!.event!.notes![20]).toBe('… and 10 more');
  }, 60_000);
});
