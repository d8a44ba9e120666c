/**
 * The batch path with real processes: 20 corpus captures submitted with `fleet submit --wait --format ndjson`,
 * three `fleet work` processes. The first worker takes the first job and is killed mid-job (SIGKILL): its link
 * to NATS goes through a proxy that lets only a little of what it sends after the job arrived through (a few of
 * its records reach the stream, its ack never does). The job is delivered again after the ack wait and done by
 * another worker. The merged output equals `tunnelscope classify FILE` for each file alone, each record once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsServerBinary, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { runCli, startCli, type CliProc } from './cli-helpers.js';
import { BATCH, batchAvailable, plain } from './fleet-corpus.js';

const nats = natsServerBinary();
const why = !nats.bin ? nats.why : !batchAvailable() ? 'corpus captures not found' : '';
if (why) console.warn(`test/nats/cli-batch: skipped: ${why}`);

const ndjson = (text: string): Array<Record<string, unknown>> => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

describe.skipIf(why !== '')(`fleet submit / fleet work with a worker killed mid-job${why ? ` (skipped: ${why})` : ''}`, () => {
  let server: NatsServer;
  const procs: CliProc[] = [];
  const proxies: TcpProxy[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
  }, 60_000);
  afterAll(async () => {
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
    for (const p of proxies) await p.close();
    await server?.close();
  });

  it('20 captures over 3 workers, one killed mid-job: output equals per-file classify', async () => {
    const url = server.url;
    let jobSeen = false;
    const proxy = await startTcpProxy(server.port, {
      watch: (b, p) => {
        // The job's delivery: from here on only ~3 KB of what the worker sends gets through (some records, no ack).
        if (!jobSeen && /MSG tunnelscope\.jobs\.capture /.test(b.toString('latin1'))) {
          jobSeen = true;
          p.holdAfter(3000);
        }
      },
    });
    proxies.push(proxy);
    const doomed = startCli(['fleet', 'work', '--nats', `nats://127.0.0.1:${proxy.port}`, '--id', 'doomed', '--ack-wait', '3', '--max-deliver', '3']);
    procs.push(doomed);
    await doomed.line(/worker doomed: waiting for jobs \(ack wait 3 s, at most 3 deliveries\)/);

    const submit = startCli(['fleet', 'submit', '--nats', url, '--batch', 'corpus1', '--wait', '--timeout', '120', '--format', 'ndjson', ...BATCH]);
    procs.push(submit);
    const started = await doomed.line(/worker doomed: job corpus1-\d+ .* started/);
    const killedJob = /job (corpus1-\d+)/.exec(started)![1]!;
    await new Promise((r) => setTimeout(r, 500));
    expect(jobSeen).toBe(true);
    doomed.proc.kill('SIGKILL');
    await doomed.exit;

    const workers = ['w1', 'w2', 'w3'].map((id) => {
      const p = startCli(['fleet', 'work', '--nats', url, '--id', id, '--idle-exit', '8']);
      procs.push(p);
      return p;
    });
    const code = await submit.exit;
    expect(code, submit.stderr()).toBe(0);
    await Promise.all(workers.map((w) => w.exit));
    expect(submit.stderr()).toMatch(new RegExp(`job ${killedJob} done on "w\\d" \\(attempt 2\\)`));
    const done = workers.map((w) => Number(/(\d+) done/.exec(w.stderr().split('\n').filter((l) => /job\(s\)/.test(l)).pop() ?? '')?.[1] ?? 0));
    expect(done.reduce((a, b) => a + b, 0)).toBe(20);

    const merged = ndjson(submit.stdout());
    const byFile = new Map<string, string[]>();
    for (const r of merged) byFile.set(r.capture as string, [...(byFile.get(r.capture as string) ?? []), plain(r)]);
    const partial = merged.filter((r) => r.sensor === 'doomed').length;
    for (const f of BATCH) {
      const alone = await runCli(['classify', f, '--format', 'ndjson', '-q']);
      expect(alone.code).toBe(0);
      expect((byFile.get(f) ?? []).sort(), f).toEqual(ndjson(alone.out).map(plain).sort());
    }
    expect(merged.length).toBe([...byFile.values()].reduce((n, v) => n + v.length, 0));
    // Some of the killed worker's records did reach the stream (and were not stored again when the job was redone).
    expect(partial).toBeGreaterThan(0);
  }, 240_000);

  it('fleet work stopped with a job in hand says it finishes the job first; a second interrupt exits at once', async () => {
    let jobSeen = false;
    // The protocol line may be split across two reads: each read is searched with the end of the one before.
    let tail = '';
    const proxy = await startTcpProxy(server.port, {
      watch: (b, p) => {
        const text = tail + b.toString('latin1');
        tail = text.slice(-64);
        // Once the job arrives nothing the worker sends reaches the server: its records are never acked.
        if (!jobSeen && /MSG tunnelscope\.jobs\.capture /.test(text)) {
          jobSeen = true;
          p.hold();
        }
      },
    });
    proxies.push(proxy);
    const w = startCli(['fleet', 'work', '--nats', `nats://127.0.0.1:${proxy.port}`, '--id', 'stopper', '--ack-wait', '60']);
    procs.push(w);
    await w.line(/worker stopper: waiting for jobs/);
    const submit = await runCli(['fleet', 'submit', '--nats', server.url, '--batch', 'stop1', BATCH[0]!]);
    expect(submit.code, submit.err).toBe(0);
    await w.line(/worker stopper: job stop1-1 .* started/);
    w.proc.kill('SIGINT');
    await w.line(/worker stopper: stopping after job stop1-1 \(a second interrupt exits at once; the job then goes to another worker after the ack wait\)/, 5000);
    await new Promise((r) => setTimeout(r, 500));
    expect(w.proc.exitCode).toBeNull(); // still waiting for the job's acks
    w.proc.kill('SIGINT');
    await w.exit;
    expect(w.proc.signalCode).toBe('SIGINT'); // exits as a process killed by the signal (a shell sees 130)
    expect(w.stderr()).toMatch(/fleet work: second interrupt: exiting at once/);
  }, 60_000);
});
