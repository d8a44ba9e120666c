/**
 * List reloads while traffic flows (classify on a slowly fed stdin, in-process): --watch-lists picks up a
 * registration list replaced on disk, SIGHUP reloads on demand, a bad file is reported as file:line and the lists
 * in force stay; every verdict and record names the list version it used, and records keep their verdict's.
 */
import { EventEmitter } from 'node:events';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ListReloader } from '../../src/cli/reload.js';
import type { ListsInput } from '../../src/classify/lists.js';
import { PcapFeed, wgHandshake } from '../helpers/pcap-feed.js';
import { sleep } from '../helpers/live-capture.js';

class Lines extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
  get objs(): Record<string, unknown>[] {
    return this.text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

async function until(pred: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Replace a file the way config management does: write aside, then rename over it. */
function replace(path: string, text: string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

function start(args: string[]) {
  const stdin = new PassThrough();
  const stdout = new Lines();
  const stderr = new Lines();
  const signals = new EventEmitter();
  const exits: number[] = [];
  const done = main(['classify', '-', '--emit', 'both', '--format', 'ndjson', '--no-default-domains', ...args], { stdin, stdout, stderr, signals, exit: (c) => void exits.push(c) });
  const feed = new PcapFeed(stdin);
  const verdict = (src: string): Record<string, unknown> | undefined => stdout.objs.find((o) => o['event'] === 'verdict' && o['src'] === src);
  return { stdin, stdout, stderr, signals, exits, done, feed, verdict };
}

describe('list reloads during a run', () => {
  it('--watch-lists: a replaced registration list applies to later flows; a bad one is reported and the lists stay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-reload-'));
    const reg = join(dir, 'registered.txt');
    writeFileSync(reg, '10.1.0.0/16,org-1\n');
    const r = start(['--registered', reg, '--watch-lists']);
    await r.feed.send(...wgHandshake('10.1.0.1', '198.51.100.9', 40001, 1));
    await until(() => r.verdict('10.1.0.1:40001') !== undefined, 'the first verdict');
    expect(r.verdict('10.1.0.1:40001')).toMatchObject({ label: 'registered_vpn', registrant: 'org-1', listVersion: 1 });

    replace(reg, '# moved\n10.1.0.0/16,org-2\n');
    await until(() => r.stderr.text.includes('list version 2'), 'the reload');
    expect(r.stderr.text).toContain('lists reloaded (changed): list version 2');
    await r.feed.send(...wgHandshake('10.1.0.2', '198.51.100.9', 40002, 2));
    await until(() => r.verdict('10.1.0.2:40002') !== undefined, 'the second verdict');
    expect(r.verdict('10.1.0.2:40002')).toMatchObject({ registrant: 'org-2', listVersion: 2 });

    replace(reg, '10.1.0.0/16,org-3\n10.1.0.0/33,broken\n');
    await until(() => r.stderr.text.includes('failed'), 'the failed reload');
    expect(r.stderr.text).toMatch(new RegExp(`reloading lists \\(changed\\) failed: ${reg.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2\\b.*; list version 2 stays in force`));
    await r.feed.send(...wgHandshake('10.1.0.3', '198.51.100.9', 40003, 3));
    await until(() => r.verdict('10.1.0.3:40003') !== undefined, 'the third verdict');
    expect(r.verdict('10.1.0.3:40003')).toMatchObject({ registrant: 'org-2', listVersion: 2 });

    r.stdin.end();
    expect(await r.done).toBe(0);
    // Records (at end of input) keep the version and registrant their verdict used.
    const recs = r.stdout.objs.filter((o) => o['event'] === undefined).map((o) => [o['src'], o['registrant'], o['listVersion']]);
    expect(recs.sort()).toEqual([['10.1.0.1:40001', 'org-1', 1], ['10.1.0.2:40002', 'org-2', 2], ['10.1.0.3:40003', 'org-2', 2]]);
  });

  it('--watch-lists follows symbolic links: a Kubernetes-style swap of the data link, and a linked file rewritten in its own directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-reload-'));
    // A ConfigMap volume: lists/registered.txt -> ..data/registered.txt, ..data -> a versioned directory that an
    // update replaces by renaming a new link over ..data (no event ever names registered.txt).
    const lists = join(dir, 'lists');
    mkdirSync(join(lists, 'v1'), { recursive: true });
    mkdirSync(join(lists, 'v2'));
    writeFileSync(join(lists, 'v1', 'registered.txt'), '10.7.0.0/16,org-1\n');
    writeFileSync(join(lists, 'v2', 'registered.txt'), '10.7.0.0/16,org-2\n');
    symlinkSync('v1', join(lists, '..data'));
    symlinkSync(join('..data', 'registered.txt'), join(lists, 'registered.txt'));
    // A list linked from elsewhere (/etc/… -> /srv/…): the file itself is replaced where it lives.
    const real = join(dir, 'real');
    mkdirSync(real);
    writeFileSync(join(real, 'endpoints.txt'), '203.0.113.0/24,corp-1\n');
    symlinkSync(join(real, 'endpoints.txt'), join(lists, 'endpoints.txt'));

    const r = start(['--registered', join(lists, 'registered.txt'), '--vpn-endpoints', join(lists, 'endpoints.txt'), '--watch-lists']);
    await r.feed.send(...wgHandshake('10.7.0.1', '198.51.100.9', 40001, 1));
    await until(() => r.verdict('10.7.0.1:40001') !== undefined, 'the first verdict');

    symlinkSync('v2', join(lists, '..data_tmp'));
    renameSync(join(lists, '..data_tmp'), join(lists, '..data'));
    await until(() => r.stderr.text.includes('list version 2'), 'the reload after the data link swap', 3000);
    await r.feed.send(...wgHandshake('10.7.0.2', '198.51.100.9', 40002, 2));
    await until(() => r.verdict('10.7.0.2:40002') !== undefined, 'the second verdict');
    expect(r.verdict('10.7.0.2:40002')).toMatchObject({ registrant: 'org-2', listVersion: 2 });

    // The link now resolves into v2: changes there are seen, and so is the linked file's own directory.
    replace(join(lists, 'v2', 'registered.txt'), '10.7.0.0/16,org-3\n');
    await until(() => r.stderr.text.includes('list version 3'), 'the reload after the new target changed', 3000);
    replace(join(real, 'endpoints.txt'), '198.51.100.0/24,corp-2\n');
    await until(() => r.stderr.text.includes('list version 4'), 'the reload after the linked file changed', 3000);
    await r.feed.send(...wgHandshake('10.7.0.3', '198.51.100.9', 40003, 3));
    await until(() => r.verdict('10.7.0.3:40003') !== undefined, 'the third verdict');
    const v = r.verdict('10.7.0.3:40003')!;
    expect(v).toMatchObject({ registrant: 'org-3', listVersion: 4 });
    expect(JSON.stringify(v['evidence'])).toContain('corp-2');
    r.stdin.end();
    expect(await r.done).toBe(0);
  });

  it('SIGHUP reloads every list file at once (no watching); --watch-lists without a list file is a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-reload-'));
    const reg = join(dir, 'registered.txt');
    const ep = join(dir, 'endpoints.txt');
    writeFileSync(reg, '10.2.0.0/16,org-1\n');
    writeFileSync(ep, '203.0.113.0/24,corp\n');
    const r = start(['--registered', reg, '--vpn-endpoints', ep]);
    await r.feed.send(...wgHandshake('10.2.0.1', '198.51.100.9', 40001, 1));
    await until(() => r.verdict('10.2.0.1:40001') !== undefined, 'the first verdict');
    // Both files change; nothing happens until SIGHUP.
    writeFileSync(reg, '10.2.0.0/16,org-2\n');
    writeFileSync(ep, '198.51.100.0/24,corp-2\n');
    await sleep(400);
    expect(r.stderr.text).not.toContain('reloaded');
    r.signals.emit('SIGHUP');
    await until(() => r.stderr.text.includes('lists reloaded (SIGHUP): list version 2'), 'the SIGHUP reload');
    await r.feed.send(...wgHandshake('10.2.0.2', '198.51.100.9', 40002, 2));
    await until(() => r.verdict('10.2.0.2:40002') !== undefined, 'the second verdict');
    const v = r.verdict('10.2.0.2:40002')!;
    expect(v).toMatchObject({ registrant: 'org-2', listVersion: 2 });
    expect(JSON.stringify(v['evidence'])).toContain('corp-2');
    r.stdin.end();
    expect(await r.done).toBe(0);

    const e = new Lines();
    expect(await main(['classify', '-', '--watch-lists'], { stdin: new PassThrough(), stdout: new Lines(), stderr: e })).toBe(2);
    expect(e.text).toContain('--watch-lists needs a list file');
  });

  it('SIGHUP when a list file has become a named pipe: refused (a reopen would block for good), the lists stay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-reload-'));
    const reg = join(dir, 'registered.txt');
    writeFileSync(reg, '10.6.0.0/16,org-1\n');
    const r = start(['--registered', reg]);
    await r.feed.send(...wgHandshake('10.6.0.1', '198.51.100.9', 40001, 1));
    await until(() => r.verdict('10.6.0.1:40001') !== undefined, 'the first verdict');
    unlinkSync(reg);
    execFileSync('mkfifo', [reg]); // nobody ever writes to it
    r.signals.emit('SIGHUP');
    await until(() => r.stderr.text.includes('reloading lists (SIGHUP) failed'), 'the refusal');
    expect(r.stderr.text).toContain('a pipe is read once, at the start: it cannot be reloaded; list version 1 stays in force');
    r.stdin.end();
    expect(await r.done).toBe(0);
  });

  it('signals: the first SIGINT stops cleanly (exit 0), a second one exits at once with 130', async () => {
    const r = start([]);
    await r.feed.send(...wgHandshake('10.3.0.1', '198.51.100.9', 40001, 1));
    await until(() => r.verdict('10.3.0.1:40001') !== undefined, 'the verdict');
    r.signals.emit('SIGINT');
    r.signals.emit('SIGINT');
    expect(r.exits).toEqual([130]);
    expect(await r.done).toBe(0);
    expect(r.stdout.objs.find((o) => o['event'] === undefined)).toMatchObject({ src: '10.3.0.1:40001', end: 'stop' });
    expect(r.stderr.text).toContain('second interrupt: exiting at once');
    // Handlers are removed when the run ends.
    expect(r.signals.listenerCount('SIGINT') + r.signals.listenerCount('SIGTERM') + r.signals.listenerCount('SIGHUP')).toBe(0);
  });
});

describe('ListReloader: a reload does not hold up the packets', () => {
  it('the lists read, the pool tables built and the switch run in turns of their own, with the output flushed between', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-reload-'));
    const reg = join(dir, 'registered.txt');
    writeFileSync(reg, '10.8.0.0/16,org-1\n');
    const steps: string[] = [];
    // What a packet read meanwhile queues: its line's flush (TimedFlush), for the check phase after the poll.
    const flushLater = (what: string): void => void setImmediate(() => steps.push(`flush after ${what}`));
    let version = 1;
    const target = {
      get listVersion() {
        return version;
      },
      prepare(l: ListsInput): ListsInput {
        steps.push('prepare');
        flushLater('prepare');
        return l;
      },
      update(): number {
        steps.push('update');
        return ++version;
      },
    };
    const r = new ListReloader({ registered: reg, defaultDomains: false }, target, new Lines(), true);
    const stat0 = steps.length;
    await r.reload('test');
    expect(steps.slice(stat0)).toEqual(['prepare', 'flush after prepare', 'update']);
    expect(version).toBe(2);
    await r.close();
  });
});

describe('ListReloader: a stop does not wait for a reload', () => {
  it('close() during the load of a big list ends it between two chunks, not after the whole file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-reload-'));
    const reg = join(dir, 'registered.txt');
    writeFileSync(reg, Array.from({ length: 400_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32,org-${i % 97}`).join('\n') + '\n');
    let version = 1;
    const target = { get listVersion() { return version; }, update: (): number => ++version };
    const err = new Lines();
    const whole = new ListReloader({ registered: reg, defaultDomains: false }, target, err, true);
    let t = performance.now();
    await whole.reload('full');
    const fullMs = performance.now() - t;
    expect(version).toBe(2);

    const r = new ListReloader({ registered: reg, defaultDomains: false }, target, err, true);
    const pending = r.reload('stopped');
    await new Promise((ok) => setTimeout(ok, 5));
    t = performance.now();
    await r.close();
    const closeMs = performance.now() - t;
    await pending;
    expect(version).toBe(2);
    expect(err.text).toBe('');
    expect(closeMs).toBeLessThan(fullMs / 3);
  });

  it('SIGINT while classify loads its lists at start-up ends the load: exit 0 at once, not after the whole list', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-reload-'));
    const reg = join(dir, 'registered.txt');
    writeFileSync(reg, Array.from({ length: 400_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32,org-${i % 97}`).join('\n') + '\n');
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    // What a run costs besides the list (start-up, the stop itself) is measured with an empty list and taken off
    // both: the stopped run must have skipped most of the load, whatever the fixed costs are on the day.
    const timed = async (list: string): Promise<number> => {
      const t0 = performance.now();
      const full = start(['--registered', list]);
      full.stdin.end();
      expect(await full.done).toBe(0);
      return performance.now() - t0;
    };
    const baseMs = await timed(empty);
    const loadMs = (await timed(reg)) - baseMs;

    const t = performance.now();
    const r = start(['--registered', reg]);
    await sleep(5);
    r.signals.emit('SIGINT');
    expect(await r.done).toBe(0);
    expect(performance.now() - t - baseMs).toBeLessThan(loadMs / 2);
    expect(r.exits).toEqual([]);
    expect(r.stderr.text).toContain('stopped by SIGINT');
  });
});
