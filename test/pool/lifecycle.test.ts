/**
 * The pool's life cycle at its edges: every public method after close(), close() twice or while calls wait, a worker
 * thread that dies under a run. Each call answers with a PoolError naming why (or a value) — never a promise that
 * stays pending, never a plain Error.
 * Runs the pool code from src/ with the BUILT worker (dist/worker.js): build first (`npx tsup --silent`).
 */
import { getEventListeners, once } from 'node:events';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { PoolError } from '../../src/errors.js';
import { createClassifierPool, type ClassifierPool } from '../../src/pool/index.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const WORKER = join(ROOT, 'dist', 'worker.js');
const SAMPLE = join(ROOT, 'fixtures', 'sample.pcap');
const workerUrl = pathToFileURL(WORKER);
const pools: ClassifierPool[] = [];

function pool(workers = 2): ClassifierPool {
  if (!existsSync(WORKER)) throw new Error('dist/ is not built: run `npx tsup --silent` first');
  const p = createClassifierPool({ workers, workerUrl });
  pools.push(p);
  return p;
}

/** The call's outcome within `ms`: its value, its error, or 'pending'. */
async function settle(f: () => unknown, ms = 2000): Promise<{ value?: unknown; error?: unknown } | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((res) => (timer = setTimeout(() => res('pending'), ms)));
  try {
    return await Promise.race([
      Promise.resolve().then(f).then((value) => ({ value }), (error: unknown) => ({ error })),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function expectPoolError(got: Awaited<ReturnType<typeof settle>>, reason: string): PoolError {
  expect(got).not.toBe('pending');
  const e = (got as { error?: unknown }).error;
  expect(e).toBeInstanceOf(PoolError);
  expect((e as PoolError).code).toBe('TS_POOL');
  expect((e as PoolError).reason).toBe(reason);
  return e as PoolError;
}

const frame = new Uint8Array(60);
const calls = (p: ClassifierPool): [string, () => unknown][] => [
  ['classifyFile', () => p.classifyFile(SAMPLE, () => {})],
  ['classifyStream', () => p.classifyStream((async function* () { yield new Uint8Array(24); })(), 's', () => {})],
  ['push', () => p.push(frame, 1n)],
  ['pushRaw', () => p.pushRaw({ data: frame, offset: 0, capLen: 60, wireLen: 60, tsUs: 1, linkType: 1 })],
  ['advance', () => p.advance(5_000_000)],
  ['update', () => p.update({ registered: [['10.0.0.0/8', 'x']] })],
  ['workerVersions', () => p.workerVersions()],
  ['end', () => p.end()],
];

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe('after close()', () => {
  it('every method answers at once with PoolError closed; liveCounters and a second close() still work', async () => {
    const p = pool();
    await p.close();
    for (const [name, f] of calls(p)) {
      const got = await settle(f);
      expect(got, name).not.toBe('pending');
      expectPoolError(got, 'closed');
    }
    expect(p.liveCounters().liveFlows).toBe(0);
    expect(await settle(() => p.close())).toEqual({ value: undefined });
  });

  it('calls waiting on the workers when close() comes reject with it', async () => {
    const p = pool();
    const versions = settle(() => p.workerVersions());
    const ended = settle(() => p.end());
    const closing = p.close();
    expectPoolError(await versions, 'closed');
    expectPoolError(await ended, 'closed');
    await closing;
  });

  it("a writer waiting for 'drain' when close() comes is woken, and its next push says the pool is closed", async () => {
    const p = createClassifierPool({ workers: 2, workerUrl, maxBatchesPerWorker: 1, batchBytes: 4096 });
    pools.push(p);
    const f = new Uint8Array(1000);
    let ts = 1n;
    while (p.push(f, (ts += 1000n))) {
      // fill the workers' queues until push says wait
    }
    const waiting = once(p, 'drain');
    void p.close();
    expect(await settle(() => waiting)).not.toBe('pending');
    expectPoolError(await settle(() => p.push(f, ts)), 'closed');
  });
  it('a second close() while the first runs resolves once the workers are gone', async () => {
    const p = pool();
    const exits: Promise<unknown>[] = (p as unknown as { slots: { w: Worker }[] }).slots.map((s) => new Promise((res) => s.w.once('exit', res)));
    let gone = false;
    void Promise.all(exits).then(() => (gone = true));
    void p.close();
    await p.close();
    expect(gone).toBe(true);
  });
});

describe('a worker that dies', () => {
  it('terminated from outside: every call rejects with PoolError worker-exit naming the worker', async () => {
    const p = pool();
    const errors: unknown[] = [];
    p.on('error', (e: unknown) => errors.push(e));
    expect(await p.workerVersions()).toHaveLength(2);
    const running = settle(() => p.classifyFile(SAMPLE, () => {}), 5000);
    await (p as unknown as { slots: { w: Worker }[] }).slots[1]!.w.terminate();
    const e = expectPoolError(await running, 'worker-exit');
    expect(e.worker).toBe(1);
    expect(e.message).toMatch(/worker 1/);
    expect(errors).toEqual([e]);
    for (const [name, f] of calls(p)) {
      const got = await settle(f);
      expect(got, name).not.toBe('pending');
      expect((got as { error?: unknown }).error, name).toBe(e);
    }
  });
});

describe('a signal shared by many runs', () => {
  it('each classifyFile leaves no listener on it once settled (12 runs: no MaxListenersExceededWarning)', async () => {
    const p = pool(1);
    const ac = new AbortController();
    for (let k = 0; k < 12; k++) await p.classifyFile(SAMPLE, () => {}, { signal: ac.signal });
    await expect(p.classifyFile(join(ROOT, 'no-such.pcap'), () => {}, { signal: ac.signal })).rejects.toThrow(/ENOENT/);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });
});

describe('a small capture', () => {
  it('gets a read ring its size, not 8 × 2 MiB of shared memory (thousands of tiny captures in a row)', async () => {
    const p = pool(1);
    const sent: { ring?: SharedArrayBuffer[] }[] = [];
    const w = (p as unknown as { slots: { w: Worker }[] }).slots[0]!.w;
    const post = w.postMessage.bind(w);
    w.postMessage = (m: { t: string; ring?: SharedArrayBuffer[] }, ...rest: never[]) => {
      if (m.t === 'file') sent.push(m);
      return post(m, ...rest);
    };
    let n = 0;
    await p.classifyFile(SAMPLE, () => n++);
    expect(n).toBe(40);
    const bytes = sent[0]!.ring!.reduce((a, b) => a + b.byteLength, 0);
    expect(bytes).toBeLessThanOrEqual(8 * (statSync(SAMPLE).size + (64 << 10)));
  });
});

describe('an onRecord that throws', () => {
  it('classifyStream rejects with its error, as classifyFile does — no uncaught exception, no records after it; the pool runs on', async () => {
    const p = pool(2);
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown): void => void uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      let calls = 0;
      const got = await settle(() => p.classifyStream(createReadStream(SAMPLE), 'sample', () => {
        calls++;
        throw new Error('consumer failed');
      }), 5000);
      expect((got as { error?: Error }).error?.message).toBe('consumer failed');
      expect(calls).toBe(1);
      await new Promise((res) => setTimeout(res, 100));
      expect(uncaught).toEqual([]);
      let n = 0;
      expect((await p.classifyStream(createReadStream(SAMPLE), 'sample', () => n++)).flows).toBe(40);
      expect(n).toBe(40);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});

describe('a stream that fails', () => {
  it('classifyStream rejects with its error after the records read so far; the next run starts from empty sessions', async () => {
    const p = pool(2);
    const whole = readFileSync(SAMPLE);
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield whole.subarray(0, 30000);
      throw new Error('connection reset');
    }
    const first: string[] = [];
    const got = await settle(() => p.classifyStream(failing(), 'sample', (r) => first.push(r.src)), 5000);
    expect((got as { error?: Error }).error?.message).toBe('connection reset');
    expect(first.length).toBeGreaterThan(0);
    let n = 0;
    const st = await p.classifyStream(createReadStream(SAMPLE), 'sample', () => n++);
    expect([st.flows, n]).toEqual([40, 40]);
  });
});
