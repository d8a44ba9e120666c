/**
 * Many captures in one run: discovery by content (not extension), one session per capture, records tagged with
 * their capture, the same output for any `jobs`, and a bad capture that does not stop the others.
 * The jobs > 1 path runs the BUILT worker (dist/worker.js): build first (`npx tsup --silent`; `npm test` does).
 */
import { execFileSync } from 'node:child_process';
import { getEventListeners, once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { classifyCaptures, findCaptures, type CaptureRecord } from '../../src/batch/index.js';
import { createClassifier } from '../../src/classify/classifier.js';
import { PoolError } from '../../src/errors.js';
import { ClassifierPool } from '../../src/pool/pool.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { readCaptureFileSync } from '../../src/trace/reader.js';
import { LOCKED_DIR, LOCKED_DIR_REFUSED } from '../helpers/locked-dir.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const workerUrl = pathToFileURL(join(ROOT, 'dist', 'worker.js'));
const SAMPLE = join(ROOT, 'fixtures', 'sample.pcap');
const TUNNELS = join(ROOT, 'fixtures', 'trace', 'tunnels.pcap');
const PCAPNG = join(ROOT, 'fixtures', 'trace', 'sections.pcapng');

function layout(): { dir: string; a: string; b: string; c: string; text: string; bad: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ts-batch-'));
  mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
  const a = join(dir, 'a-capture.txt'); // a pcap whatever its name says
  copyFileSync(SAMPLE, a);
  const b = join(dir, 'sub', 'b'); // pcapng, no extension
  copyFileSync(PCAPNG, b);
  const c = join(dir, 'sub', 'deeper', 'c.pcap');
  copyFileSync(TUNNELS, c);
  const text = join(dir, 'notes.pcap'); // not a capture, whatever its name says
  writeFileSync(text, 'not a capture\n');
  symlinkSync(dir, join(dir, 'sub', 'loop')); // a link back up: walked once
  const bad = join(dir, 'truncated.pcap');
  const whole = readFileSync(SAMPLE);
  writeFileSync(bad, Buffer.concat([whole.subarray(0, 24), Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f])]));
  return { dir, a, b, c, text, bad };
}

/** One capture alone in one session: what each capture's records must equal. */
function alone(path: string): FlowRecord[] {
  const s = createClassifier().session();
  const out: FlowRecord[] = [];
  s.on('flow', (r: FlowRecord) => out.push(r));
  try {
    readCaptureFileSync(path, (p) => s.pushRaw(p));
  } catch {
    // a corrupt capture still delivers what came before the damage
  }
  s.end();
  return out;
}

describe('findCaptures', () => {
  it('walks directories recursively in name order, by content not extension, each directory once', () => {
    const t = layout();
    const found = findCaptures([t.dir]);
    expect(found.files).toEqual([t.a, t.b, t.c, t.bad]);
    expect(found.skipped).toEqual([t.text]);
  });
  it('links to nothing, link loops, FIFOs and sockets are counted as skipped (nothing is opened: a FIFO would block)', async () => {
    const t = layout();
    symlinkSync(join(t.dir, 'nowhere'), join(t.dir, 'dangling.pcap'));
    symlinkSync('self.pcap', join(t.dir, 'self.pcap'));
    execFileSync('mkfifo', [join(t.dir, 'fifo.pcap')]);
    const server = createServer().listen(join(t.dir, 'sock.pcap'));
    await once(server, 'listening');
    try {
      const found = findCaptures([t.dir]);
      expect(found.files).toEqual([t.a, t.b, t.c, t.bad]);
      expect(found.skipped).toEqual(['dangling.pcap', 'fifo.pcap', 'notes.pcap', 'self.pcap', 'sock.pcap'].map((n) => join(t.dir, n)));
      expect(found.unreadable).toEqual([]);
    } finally {
      server.close();
    }
  });
  // A directory even root cannot list (test/helpers/locked-dir.ts) stands in for an unreadable one.
  const locked = LOCKED_DIR;
  const refused = LOCKED_DIR_REFUSED;
  it.skipIf(!refused)('a subdirectory that cannot be listed is named in unreadable; the captures beside it are found', () => {
    const t = layout();
    symlinkSync(locked, join(t.dir, 'sub', 'locked'));
    const found = findCaptures([t.dir]);
    expect(found.files).toEqual([t.a, t.b, t.c, t.bad]);
    expect(found.unreadable.map((u) => [u.path, (u.error as NodeJS.ErrnoException).code])).toEqual([[join(t.dir, 'sub', 'locked'), 'EACCES']]);
  });
  it('keeps files named on the command line as given (their errors come later), in order', () => {
    const t = layout();
    // sub/: b, deeper/c.pcap, then loop/ -> the top directory (not walked yet): a, truncated (sub/ is not re-entered)
    expect(findCaptures([t.text, t.c, join(t.dir, 'sub')]).files).toEqual([t.text, t.c, t.b, t.c, join(t.dir, 'sub', 'loop', 'a-capture.txt'), join(t.dir, 'sub', 'loop', 'truncated.pcap')]);
  });
  it('a missing input, or a named directory that cannot be listed, is in unreadable and the other inputs are still found', () => {
    const t = layout();
    const found = findCaptures([t.a, '/nonexistent/x', t.c]);
    expect(found.files).toEqual([t.a, t.c]);
    expect(found.unreadable.map((u) => [u.path, (u.error as NodeJS.ErrnoException).code])).toEqual([['/nonexistent/x', 'ENOENT']]);
    if (refused) {
      const l = findCaptures([locked, t.a]);
      expect(l.files).toEqual([t.a]);
      expect(l.unreadable.map((u) => [u.path, (u.error as NodeJS.ErrnoException).code])).toEqual([[locked, 'EACCES']]);
    }
  });
});

describe('classifyCaptures', () => {
  it('each capture is its own session; records are tagged; jobs 1 and jobs 3 deliver the same records in the same order', async () => {
    const t = layout();
    const files = [t.a, t.b, t.c, t.a];
    const want = files.flatMap((f) => alone(f).map((r) => ({ ...r, capture: f })));
    for (const jobs of [1, 3]) {
      const got: CaptureRecord[] = [];
      const res = await classifyCaptures(files, (r) => got.push(r), { jobs, workerUrl });
      expect(JSON.parse(JSON.stringify(got))).toEqual(JSON.parse(JSON.stringify(want)));
      expect(res.captures.map((c) => c.capture)).toEqual(files);
      expect(res.flows).toBe(want.length);
      expect(res.failed).toBe(0);
      expect(res.captures.map((c) => c.flows)).toEqual(files.map((f) => alone(f).length));
    }
  });
  it('a corrupt or unreadable capture is reported and the run goes on', async () => {
    const t = layout();
    const files = [t.bad, t.a, join(t.dir, 'missing.pcap'), t.c];
    for (const jobs of [1, 2]) {
      const got: CaptureRecord[] = [];
      const res = await classifyCaptures(files, (r) => got.push(r), { jobs, workerUrl });
      expect(res.failed).toBe(2);
      expect(res.captures[0]!.error?.message).toMatch(/truncated\.pcap/);
      expect(res.captures[2]!.error?.message).toMatch(/ENOENT/);
      expect(got.filter((r) => r.capture === t.a).length).toBe(alone(t.a).length);
      expect(got.filter((r) => r.capture === t.c).length).toBe(alone(t.c).length);
    }
  });
  it('a capture cut mid-record: the packets and skips read before the damage are counted the same for any jobs', async () => {
    const t = layout();
    const cut = join(t.dir, 'cut.pcap');
    writeFileSync(cut, readFileSync(SAMPLE).subarray(0, 3000));
    const results = [];
    for (const jobs of [1, 2]) {
      const res = await classifyCaptures([t.a, cut], () => {}, { jobs, workerUrl });
      expect(res.failed).toBe(1);
      expect(res.captures[1]!.error?.message).toMatch(/cut\.pcap: at byte \d+/);
      results.push(res.captures.map(({ capture, packets, flows, malformed }) => ({ capture, packets, flows, malformed })));
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0]![1]!.packets).toBeGreaterThan(0);
  });
  it('a worker thread that dies fails the run with a PoolError, not every capture after it', async () => {
    const t = layout();
    const dying = join(t.dir, 'dying-worker.mjs');
    writeFileSync(dying, 'process.exit(3);\n');
    const files = [t.a, t.b, t.c];
    const err = await classifyCaptures(files, () => {}, { jobs: 2, workerUrl: pathToFileURL(dying) }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(PoolError);
    expect((err as PoolError).reason).toBe('worker-exit');
  });
  it('jobs N holds the records of at most N - 1 captures behind a slow first one (memory does not grow with the file count)', async () => {
    const t = layout();
    const files = [t.c, ...Array.from({ length: 6 }, () => t.a)];
    const started: number[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((res) => (release = res));
    const real = ClassifierPool.prototype.classifyFile;
    let calls = 0;
    const spy = vi.spyOn(ClassifierPool.prototype, 'classifyFile').mockImplementation(function (this: ClassifierPool, ...args) {
      const k = calls++;
      started.push(k);
      const run = real.apply(this, args);
      // The first capture is slow to finish: its records are the ones every later capture waits behind.
      return k === 0 ? run.then(async (st) => (await gate, st)) : run;
    });
    try {
      const got: CaptureRecord[] = [];
      const done = classifyCaptures(files, (r) => got.push(r), { jobs: 2, workerUrl });
      await new Promise((res) => setTimeout(res, 1500));
      expect(started).toEqual([0, 1]);
      release();
      const res = await done;
      expect(res.captures).toHaveLength(files.length);
      expect(got.length).toBe(res.flows);
      expect(got.map((r) => r.capture)).toEqual([...alone(t.c).map(() => t.c), ...files.slice(1).flatMap((f) => alone(f).map(() => f))]);
    } finally {
      spy.mockRestore();
    }
  });
  it('a signal: nothing read once aborted; aborted at a record, the captures being read end with stop and the rest are left out', async () => {
    const t = layout();
    const files = [t.a, t.c, t.b];
    for (const jobs of [1, 2]) {
      const none = await classifyCaptures(files, () => {}, { jobs, workerUrl, signal: AbortSignal.abort() });
      expect(none).toMatchObject({ captures: [], flows: 0, stopped: true });
      const ac = new AbortController();
      const got: CaptureRecord[] = [];
      const res = await classifyCaptures(files, (r) => {
        got.push(r);
        ac.abort();
      }, { jobs, workerUrl, signal: ac.signal });
      expect(res.stopped).toBe(true);
      // One at a time: the stop comes during the first capture. Two at a time: a third may have started before it.
      if (jobs === 1) expect(res.captures.length).toBe(1);
      expect(res.captures.map((c) => c.capture)).toEqual(files.slice(0, res.captures.length));
      expect(got.length).toBe(res.flows);
      expect(got.some((r) => r.end === 'stop' || r.end === 'eof')).toBe(true);
      const done = await classifyCaptures(files, () => {}, { jobs, workerUrl, signal: new AbortController().signal });
      expect(done.stopped).toBe(false);
      expect(done.captures).toHaveLength(3);
    }
  });
  it('a signal shared by many captures keeps no listener per capture (jobs 1 and 2)', async () => {
    const files = Array.from({ length: 12 }, () => SAMPLE);
    for (const jobs of [1, 2]) {
      const ac = new AbortController();
      const res = await classifyCaptures(files, () => {}, { jobs, workerUrl, signal: ac.signal });
      expect(res.captures).toHaveLength(12);
      expect(getEventListeners(ac.signal, 'abort'), `jobs ${jobs}`).toHaveLength(0);
    }
  });
  it('a stop reaches a run of many small captures in this thread (each read too quickly to give the event loop a turn)', async () => {
    const t = layout();
    const whole = readFileSync(SAMPLE);
    const tiny = join(t.dir, 'tiny.pcap'); // the sample's first packet alone
    writeFileSync(tiny, whole.subarray(0, 24 + 16 + whole.readUInt32LE(24 + 8)));
    const files = Array.from({ length: 3000 }, () => tiny);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const res = await classifyCaptures(files, () => {}, { jobs: 1, signal: ac.signal });
    expect(res.stopped).toBe(true);
    expect(res.captures.length).toBeLessThan(files.length);
  });
  it('rejects a bad jobs value', async () => {
    await expect(classifyCaptures([], () => {}, { jobs: 0 })).rejects.toThrow(/jobs must be/);
  });
});
