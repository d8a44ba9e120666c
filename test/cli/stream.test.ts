/**
 * classify on a live stream, through the built bin (a real process, real pipes): records and verdicts reach
 * stdout within 200 ms of the packet that produced them; SIGINT/SIGTERM end every live flow with reason `stop`,
 * print the summary and exit 0 (also with --workers 2, and on a file); a live capture whose input closes ends its
 * flows with `stop` too, a recording replayed through a pipe with `eof`.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ovpnHandshake, PcapFeed, pcapHeader, pcapRecord, tcpExchange, udpDatagram, wgHandshake } from '../helpers/pcap-feed.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { median, sleep } from '../helpers/live-capture.js';
import { onText } from '../helpers/text-stream.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'cli.js');

/** A pcap of `n` one-datagram UDP flows (distinct sources and ports), ~160 bytes each: long enough to be stopped. */
function udpFlowsCapture(n: number): Buffer {
  const frame = buildFrame(udpDatagram('10.0.0.1', '198.51.100.20', 1, 9999, 1));
  const rec = 16 + frame.length;
  const buf = Buffer.alloc(24 + n * rec);
  buf.set(pcapHeader(), 0);
  for (let i = 0; i < n; i++) {
    const o = 24 + i * rec;
    buf.set(pcapRecord(frame, 1_700_000_000_000_000 + i), o);
    buf.writeUInt32BE((0x0a000000 + (i >>> 16) * 65536 + (i & 0xffff)) >>> 0, o + 16 + 14 + 12); // IPv4 source
    buf.writeUInt16BE(1024 + (i % 60000), o + 16 + 14 + 20); // UDP source port
  }
  return buf;
}

class Line {
  private parsed: Record<string, unknown> | null = null;
  constructor(readonly at: number, readonly text: string) {}
  get obj(): Record<string, unknown> {
    return (this.parsed ??= JSON.parse(this.text) as Record<string, unknown>);
  }
}

/** The CLI on a pipe: stdout lines with their arrival times, stderr text, the exit code. */
class Cli {
  readonly p: ChildProcessWithoutNullStreams;
  readonly lines: Line[] = [];
  err = '';
  readonly exit: Promise<number | null>;
  private rest = '';
  private waiters: (() => void)[] = [];
  constructor(args: string[], command = 'classify') {
    this.p = spawn(process.execPath, [BIN, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    onText(this.p.stdout, (d) => {
      const at = performance.now();
      const parts = (this.rest + d).split('\n');
      this.rest = parts.pop()!;
      for (const l of parts) if (l.trim() !== '') this.lines.push(new Line(at, l));
      for (const w of this.waiters.splice(0)) w();
    });
    onText(this.p.stderr, (d) => {
      this.err += d;
      for (const w of this.waiters.splice(0)) w();
    });
    this.exit = new Promise((ok) => this.p.once('exit', (code) => ok(code)));
  }
  /** Wait until `pred` holds (checked on every output), at most `ms`. */
  async until(pred: () => boolean, ms = 10_000): Promise<void> {
    const end = performance.now() + ms;
    while (!pred()) {
      const left = end - performance.now();
      if (left <= 0) throw new Error(`timed out; stdout lines: ${this.lines.length}, stderr: ${this.err}`);
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(Math.min(left, 200))]);
    }
  }
  find(pred: (o: Record<string, unknown>) => boolean): Line | undefined {
    return this.lines.find((l) => pred(l.obj));
  }
}

const isVerdict = (src: string) => (o: Record<string, unknown>): boolean => o['event'] === 'verdict' && o['src'] === src;
const isRecord = (src: string) => (o: Record<string, unknown>): boolean => o['event'] === undefined && o['src'] === src;

describe('classify on a stream', () => {
  it('verdicts and records reach stdout within 200 ms of the packet that produced them (--emit both)', async () => {
    const cli = new Cli(['-', '--emit', 'both', '--format', 'ndjson', '-q']);
    const feed = new PcapFeed(cli.p.stdin);
    const delays: number[] = [];
    try {
      // Start-up (lists, JIT) first: the bound is for a running capture.
      await feed.send(...wgHandshake('10.6.0.1', '198.51.100.9', 39999, 99));
      await cli.until(() => cli.find(isVerdict('10.6.0.1:39999')) !== undefined);
      for (let i = 0; i < 8; i++) {
        const client = `10.7.0.${i + 1}`;
        const [a, b] = i % 2 === 0 ? wgHandshake(client, '198.51.100.9', 40000 + i, i) : ovpnHandshake(client, '198.51.100.9', 40000 + i, i);
        await feed.send(a!);
        await sleep(150);
        // Nothing about this flow yet: one packet does not decide it.
        expect(cli.find(isVerdict(`${client}:${40000 + i}`))).toBeUndefined();
        await feed.send(b!);
        const t = performance.now();
        await cli.until(() => cli.find(isVerdict(`${client}:${40000 + i}`)) !== undefined);
        delays.push(cli.find(isVerdict(`${client}:${40000 + i}`))!.at - t);
        // A TCP exchange that closes: its verdict is due at its last packet (its record after the linger, which
        // absorbs trailing packets).
        const tcp = tcpExchange(client, '198.51.100.10', 50000 + i, i);
        await feed.send(...tcp);
        const t2 = performance.now();
        await cli.until(() => cli.find(isVerdict(`${client}:${50000 + i}`)) !== undefined);
        delays.push(cli.find(isVerdict(`${client}:${50000 + i}`))!.at - t2);
        await sleep(50);
      }
    } finally {
      cli.p.stdin.end();
    }
    expect(await cli.exit).toBe(0);
    const v = cli.lines.filter((l) => l.obj['event'] === 'verdict' && l.obj['label'] !== 'ordinary').map((l) => l.obj);
    expect(v).toHaveLength(9);
    for (const o of v) expect(o).toMatchObject({ label: 'unregistered_vpn', decidedAtPacket: 2, packets: 2 });
    // Every flow: one verdict line and one record line, with the same label.
    const records = cli.lines.filter((l) => l.obj['event'] === undefined).map((l) => l.obj);
    expect(records).toHaveLength(17);
    for (const r of records) expect(cli.find((o) => o['event'] === 'verdict' && o['src'] === r['src'])?.obj['label']).toBe(r['label']);
    console.log(`stream: ${delays.length} lines, delay after the deciding packet median ${median(delays).toFixed(1)} ms, max ${Math.max(...delays).toFixed(1)} ms`);
    expect(Math.max(...delays)).toBeLessThan(200);
  });

  for (const [sig, workers] of [['SIGINT', 1], ['SIGTERM', 1], ['SIGINT', 2]] as const) {
    it(`${sig} with --workers ${workers}: every live flow ends with reason stop, summary printed, exit 0`, async () => {
      const cli = new Cli(['-', '--emit', 'both', '--format', 'ndjson', '--workers', String(workers)]);
      const feed = new PcapFeed(cli.p.stdin);
      await feed.send(...wgHandshake('10.8.0.1', '198.51.100.9', 41000, 1));
      await feed.send(udpDatagram('10.8.0.2', '198.51.100.20', 41001, 5353, 2), udpDatagram('10.8.0.3', '198.51.100.20', 41002, 9999, 3));
      await feed.send(...tcpExchange('10.8.0.4', '198.51.100.10', 41003, 4));
      // The closed TCP connection's verdict comes at its close; it lingers, and the stop ends it with its close reason.
      await cli.until(() => cli.find(isVerdict('10.8.0.1:41000')) !== undefined && cli.find(isVerdict('10.8.0.4:41003')) !== undefined);
      await sleep(100);
      cli.p.kill(sig);
      expect(await cli.exit).toBe(0);
      const records = cli.lines.filter((l) => l.obj['event'] === undefined).map((l) => l.obj);
      expect(records.map((r) => [r['src'], r['end']]).sort()).toEqual([
        ['10.8.0.1:41000', 'stop'],
        ['10.8.0.2:41001', 'stop'],
        ['10.8.0.3:41002', 'stop'],
        ['10.8.0.4:41003', 'fin'],
      ]);
      // The open ordinary UDP flows get their verdict with their record (a relation could still have claimed them).
      expect(cli.lines.filter((l) => l.obj['event'] === 'verdict')).toHaveLength(4);
      expect(cli.err).toContain(`stopped by ${sig}`);
      expect(cli.err).toMatch(/tunnelscope: \d+ packets, 4 flows, 1 VPN flows/);
    });
  }

  for (const workers of [1, 2]) {
    it(`a live capture that goes quiet still ends flows: a closed connection's record after its linger (--workers ${workers})`, async () => {
      const cli = new Cli(['-', '--format', 'ndjson', '-q', '--tcp-linger', '1', '--workers', String(workers)]);
      const feed = new PcapFeed(cli.p.stdin, Date.now() * 1000);
      await feed.send(...tcpExchange('10.5.0.1', '198.51.100.10', 43000, 1));
      const t = performance.now();
      // No packet follows: only the quiet clock can end the lingering connection.
      await cli.until(() => cli.find(isRecord('10.5.0.1:43000')) !== undefined, 8000);
      const ms = performance.now() - t;
      expect(cli.find(isRecord('10.5.0.1:43000'))!.obj['end']).toBe('fin');
      expect(ms).toBeGreaterThan(900); // not before the 1 s linger
      cli.p.stdin.end();
      expect(await cli.exit).toBe(0);
    });
  }

  it('a recording replayed through a pipe keeps its own time while the pipe is quiet', async () => {
    const cli = new Cli(['-', '--format', 'ndjson', '-q', '--tcp-linger', '1']);
    const feed = new PcapFeed(cli.p.stdin); // times of 2023: not a live capture
    await feed.send(...tcpExchange('10.5.0.2', '198.51.100.10', 43001, 2));
    await sleep(2500);
    expect(cli.find(isRecord('10.5.0.2:43001'))).toBeUndefined();
    cli.p.stdin.end();
    expect(await cli.exit).toBe(0);
    expect(cli.find(isRecord('10.5.0.2:43001'))!.obj['end']).toBe('fin');
  });

  it('a recording replayed through a pipe ends as a file does: flows end with eof, exit 0', async () => {
    const cli = new Cli(['-', '--format', 'ndjson', '-q']);
    const feed = new PcapFeed(cli.p.stdin); // times of 2023: not a live capture
    await feed.send(...wgHandshake('10.9.0.1', '198.51.100.9', 42000, 1));
    cli.p.stdin.end();
    expect(await cli.exit).toBe(0);
    expect(cli.lines.map((l) => l.obj['end'])).toEqual(['eof']);
  });

  for (const workers of ['1', '2']) {
    it(`a live capture whose input closes (tcpdump exited) stopped: flows end with stop, summary, exit 0 (--workers ${workers})`, async () => {
      const cli = new Cli(['-', '--format', 'ndjson', '--workers', workers]);
      const feed = new PcapFeed(cli.p.stdin, Date.now() * 1000);
      await feed.send(...wgHandshake('10.9.0.1', '198.51.100.9', 42000, 1), ...ovpnHandshake('10.9.0.2', '198.51.100.9', 42001, 2));
      cli.p.stdin.end();
      expect(await cli.exit).toBe(0);
      expect(cli.lines.map((l) => l.obj['end'])).toEqual(['stop', 'stop']);
      expect(cli.err).toMatch(/flows/);
    });
  }

  it('a file: SIGINT stops reading, ends the live flows with stop and exits 0 (1 and 2 workers)', async () => {
    // 600k one-datagram UDP flows (94 MB): long enough to be stopped; --max-flows 2000 makes evictions print records
    // all along, which tells the test the run is under way.
    const dir = mkdtempSync(join(tmpdir(), 'ts-stop-'));
    const trace = join(dir, 't.pcap');
    const N = 600_000;
    writeFileSync(trace, udpFlowsCapture(N));
    for (const workers of [1, 2]) {
      const cli = new Cli([trace, '--format', 'ndjson', '--max-flows', '2000', '--workers', String(workers)]);
      await interruptOnFirstRecord(cli, `workers ${workers}`);
      const m = /tunnelscope: (\d+) packets, (\d+) flows/.exec(cli.err);
      expect(Number(m![1])).toBeLessThan(N);
      expect(Number(m![2])).toBe(cli.lines.length);
    }
  });
});

describe('a reader that goes away', () => {
  it('classify - stops reading when its output closes (EPIPE) and nothing else takes the records: exit 0, stderr says why', async () => {
    const p = spawn(process.execPath, [BIN, 'classify', '-', '--format', 'ndjson', '--emit', 'verdicts'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    onText(p.stdout, (d) => (out += d));
    onText(p.stderr, (d) => (err += d));
    const exit = new Promise<number | null>((ok) => p.once('exit', (code) => ok(code)));
    p.stdin.on('error', () => {}); // it may stop reading before we stop writing
    const feed = new PcapFeed(p.stdin);
    await feed.send(...wgHandshake('10.4.0.1', '198.51.100.9', 40001, 1));
    for (let t = 0; out === '' && t < 100; t++) await sleep(50);
    expect(out).toContain('"event":"verdict"');
    // The reader goes: the next verdict line meets a broken pipe. The input stays open and goes on.
    p.stdout.destroy();
    let code: number | null | undefined;
    void exit.then((c) => (code = c));
    for (let k = 2; k < 400 && code === undefined; k++) {
      await feed.send(...wgHandshake(`10.4.${k >> 8}.${k & 255}`, '198.51.100.9', 40000 + k, k)).catch(() => {});
      await sleep(10);
    }
    expect(code, err).toBe(0);
    expect(err).toContain('stopped by the output closing');
  });
});

describe('a second signal exits at once', () => {
  it('even while a list file (a named pipe nobody writes to) blocks its open: 130 from the signal, not a hang', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-fifo-'));
    const fifo = join(dir, 'registered.txt');
    execFileSync('mkfifo', [fifo]);
    const p = spawn(process.execPath, [BIN, 'classify', 'fixtures/sample.pcap', '--registered', fifo], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    onText(p.stderr, (d) => (err += d));
    const exit = new Promise<[number | null, NodeJS.Signals | null]>((ok) => p.once('exit', (code, sig) => ok([code, sig])));
    await sleep(1000); // the open of the pipe is under way (a pool thread waits in it)
    p.kill('SIGINT');
    await sleep(300);
    p.kill('SIGINT');
    const t0 = Date.now();
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    const [code, sig] = await exit;
    clearTimeout(timer);
    expect(Date.now() - t0).toBeLessThan(4000);
    // Ended by the signal's own default action: a shell sees 130.
    expect(sig === 'SIGINT' || code === 130, `code ${code} signal ${sig}`).toBe(true);
    expect(err).toContain('second interrupt: exiting at once');
  });
});

describe('a stderr that goes away', () => {
  it('the end-of-run lines meet a closed stderr (2>&1 | head -1): the run still exits 0, records all written', async () => {
    const p = spawn(process.execPath, [BIN, 'classify', 'fixtures/sample.pcap', '--format', 'ndjson'], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stderr.destroy(); // nobody reads it: every diagnostic write meets a broken pipe
    let out = '';
    onText(p.stdout, (d) => (out += d));
    const code = await new Promise<number | null>((ok) => p.once('exit', (c) => ok(c)));
    expect(code).toBe(0);
    expect(out.trim().split('\n').length).toBeGreaterThan(0);
  });
});

describe('flows on a stream (the same live rules as classify)', () => {
  it('a live capture that goes quiet still ends flows: a closed connection after its linger, an idle datagram flow', async () => {
    const cli = new Cli(['-', '--format', 'ndjson', '-q', '--tcp-linger', '1', '--idle-timeout', '1'], 'flows');
    const feed = new PcapFeed(cli.p.stdin, Date.now() * 1000);
    await feed.send(...tcpExchange('10.5.1.1', '198.51.100.10', 43100, 1), udpDatagram('10.5.1.2', '198.51.100.20', 43101, 9999, 2));
    // No packet follows: only the quiet clock can end them.
    await cli.until(() => cli.find(isRecord('10.5.1.1:43100')) !== undefined && cli.find(isRecord('10.5.1.2:43101')) !== undefined, 8000);
    expect(cli.find(isRecord('10.5.1.1:43100'))!.obj['end']).toBe('fin');
    expect(cli.find(isRecord('10.5.1.2:43101'))!.obj['end']).toBe('idle');
    cli.p.stdin.end();
    expect(await cli.exit).toBe(0);
  });

  it('a live capture whose input closes ends its flows with stop; a recording through a pipe with eof', async () => {
    for (const [startUs, end] of [[Date.now() * 1000, 'stop'], [undefined, 'eof']] as const) {
      const cli = new Cli(['-', '--format', 'ndjson', '-q'], 'flows');
      const feed = new PcapFeed(cli.p.stdin, startUs);
      await feed.send(...wgHandshake('10.9.1.1', '198.51.100.9', 42100, 1));
      cli.p.stdin.end();
      expect(await cli.exit).toBe(0);
      expect(cli.lines.map((l) => l.obj['end'])).toEqual([end]);
    }
  });
});

/**
 * SIGINT once the run has printed a record (it is under way); then it must exit 0 with some flows ended `stop`, none
 * ended `eof`, and say on stderr that it was stopped.
 */
async function interruptOnFirstRecord(cli: Cli, label: string): Promise<void> {
  await cli.until(() => cli.lines.length > 0, 30_000);
  cli.p.kill('SIGINT');
  expect(await cli.exit, cli.err).toBe(0);
  const ends = new Map<string, number>();
  for (const l of cli.lines) ends.set(l.obj['end'] as string, (ends.get(l.obj['end'] as string) ?? 0) + 1);
  expect(ends.get('stop') ?? 0, `${label}: ${JSON.stringify([...ends])}`).toBeGreaterThan(0);
  expect(ends.has('eof')).toBe(false);
  expect(cli.err).toContain('stopped by SIGINT');
}

describe('several captures', () => {
  it('SIGINT stops a directory run: the captures being read end their flows with stop, the rest are not read, exit 0 (--jobs 1 and 2)', async () => {
    // Three 300k-flow captures (47 MB each): long enough to be stopped during the first (or, with --jobs 2, the
    // first two); --max-flows 2000 makes evictions print records all along, which tells the test the run is under way.
    const dir = mkdtempSync(join(tmpdir(), 'ts-stop-several-'));
    const N = 300_000;
    const buf = udpFlowsCapture(N);
    for (const name of ['a.pcap', 'b.pcap', 'c.pcap']) writeFileSync(join(dir, name), buf);
    for (const jobs of [1, 2]) {
      const cli = new Cli([dir, '--format', 'ndjson', '--max-flows', '2000', '--jobs', String(jobs)]);
      await interruptOnFirstRecord(cli, `jobs ${jobs}`);
      expect(cli.lines.some((l) => l.obj['capture'] === join(dir, 'c.pcap'))).toBe(false);
      const m = /tunnelscope: (\d) captures \((\d) not read\), (\d+) packets, (\d+) flows/.exec(cli.err);
      expect(m, cli.err).not.toBeNull();
      expect(Number(m![1]) + Number(m![2])).toBe(3);
      expect(Number(m![3])).toBeLessThan(3 * N);
      expect(Number(m![4])).toBe(cli.lines.length);
    }
  });
});

describe('flows', () => {
  it('SIGINT stops flows on a stream and on a directory: live flows end with stop, summary, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-stop-flows-'));
    const N = 300_000;
    const buf = udpFlowsCapture(N);
    for (const name of ['a.pcap', 'b.pcap']) writeFileSync(join(dir, name), buf);
    for (const args of [[dir], ['-']]) {
      // --max-flows: evictions print records all along, which tells the test the run is under way.
      const p = spawn(process.execPath, [BIN, 'flows', ...args, '--format', 'ndjson', '--max-flows', args[0] === '-' ? '1' : '2000'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      onText(p.stdout, (d) => (out += d));
      onText(p.stderr, (d) => (err += d));
      const exit = new Promise<number | null>((ok) => p.once('exit', (code) => ok(code)));
      if (args[0] === '-') {
        // A live stream: two flows (the second evicts the first), then nothing more (the input stays open).
        const feed = new PcapFeed(p.stdin);
        await feed.send(udpDatagram('10.9.0.1', '198.51.100.20', 40000, 9999, 1), udpDatagram('10.9.0.2', '198.51.100.20', 40001, 9999, 2));
        const sent = performance.now();
        for (let t = 0; out === '' && t < 100; t++) await sleep(50);
        expect(performance.now() - sent, 'the first record of a live stream waits for nothing').toBeLessThan(4000);
      }
      for (let t = 0; out === '' && t < 300; t++) await sleep(100);
      // The evicted flow's record reaches the pipe while the input is still open (it waited for the end before).
      expect(out, err).not.toBe('');
      p.kill('SIGINT');
      expect(await exit, err).toBe(0);
      const recs = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { end: string; capture?: string });
      const ends = new Set(recs.map((r) => r.end));
      expect(ends.has('stop'), `${args[0]}: ${[...ends].join(',')}`).toBe(true);
      expect(ends.has('eof')).toBe(false);
      expect(err).toContain('stopped by SIGINT');
      if (args[0] === '-') expect(recs.map((r) => r.end)).toEqual(['evicted', 'stop']);
      else expect(recs.some((r) => r.capture === join(dir, 'b.pcap'))).toBe(false);
    }
  });
});
