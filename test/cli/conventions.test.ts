/**
 * The command line follows the conventions users of Unix tools expect: -V, help <command>, usage errors on stderr
 * with exit 2, negative numbers reaching the validator, -q everywhere, the same formats where they make sense,
 * clear words for missing files, tables that stay aligned, and progress that says how far and how long.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { packageVersion } from '../../src/cli/program.js';
import { Progress } from '../../src/cli/progress.js';
import { Sink } from '../helpers/sink.js';

const SAMPLE = join(import.meta.dirname, '..', '..', 'fixtures', 'sample.pcap');
const REG = join(import.meta.dirname, '..', '..', 'fixtures', 'sample-registered.txt');

async function cli(argv: string[], tty = false): Promise<{ code: number; out: string; err: string }> {
  const stdout = Object.assign(new Sink(), tty ? { isTTY: true, columns: 200 } : {});
  const stderr = new Sink();
  const code = await main(argv, { stdout, stderr, stdin: process.stdin });
  return { code, out: stdout.text, err: stderr.text };
}

describe('CLI conventions', () => {
  it('-V, --version and -v print the version; help <command> equals <command> --help', async () => {
    for (const f of ['-V', '--version', '-v']) expect(await cli([f])).toEqual({ code: 0, out: `${packageVersion()}\n`, err: '' });
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
    for (const c of ['classify', 'flows', 'synth']) {
      const a = await cli(['help', c]);
      const b = await cli([c, '--help']);
      expect(a.code).toBe(0);
      expect(a.out).toBe(b.out);
      expect(a.out).toContain(`Usage: tunnelscope ${c}`);
    }
    expect((await cli(['help'])).out).toContain('Commands:');
  });

  it('help reaches a subcommand of a subcommand, and names an unknown command in one line (exit 2)', async () => {
    for (const path of [['fleet', 'stats'], ['fleet', 'work'], ['lists', 'publish']]) {
      const a = await cli(['help', ...path]);
      const b = await cli([...path, '--help']);
      expect(a.code).toBe(0);
      expect(a.out).toBe(b.out);
      expect(a.out).toContain(`Usage: tunnelscope ${path.join(' ')} `);
    }
    expect(await cli(['help', 'nosuch'])).toEqual({ code: 2, out: '', err: "tunnelscope help: unknown command 'nosuch'\n(run 'tunnelscope --help' for the options)\n" });
    const sub = await cli(['help', 'fleet', 'nosuch']);
    expect(sub.code).toBe(2);
    expect(sub.err).toBe("tunnelscope help: unknown command 'nosuch' of 'fleet'\n(run 'tunnelscope fleet --help' for the options)\n");
  });

  it('no arguments: usage on stderr, nothing on stdout, exit 2', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('Usage: tunnelscope');
  });

  it('a negative number reaches the validator and is refused with its reason', async () => {
    const r = await cli(['classify', SAMPLE, '--idle-timeout', '-5']);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('tunnelscope classify: --idle-timeout must be a number in [1, 31536000], got "-5"');
    const f = await cli(['flows', SAMPLE, '--max-flows', '-1']);
    expect(f.err.split('\n')[0]).toBe('tunnelscope flows: --max-flows must be an integer in [1, 268435456], got "-1"');
  });

  it('every numeric option of every command has an upper bound: 1e308 is a usage error, not "never time out"', async () => {
    // Found by a probe: --idle-timeout 1e308 was accepted (flows never timed out); --idle-exit 1e12 became a timer
    // Node fires at once. Every option whose help names a number (<S>, <N>, <B>, <X>, <Y>) is walked, so a new
    // one cannot slip through unbounded.
    const commands: [string[], string[]][] = [
      [['classify', SAMPLE, '--nats', 'nats://127.0.0.1:1', '--publish'], []], [['flows', SAMPLE], []],
      [['report', SAMPLE, '--out', join(tmpdir(), 'never.html')], ['--stream', '--list-version']], // --stream <S> names a stream; NATS-only here
      [['report', '--nats', 'nats://127.0.0.1:1', '--out', join(tmpdir(), 'never.html')], ['--stream', '--max-table-flows', '--idle-timeout', '--max-flows', '--companion-window', '--workers']],
      [['fleet', 'stats', '--nats', 'nats://127.0.0.1:1'], ['--stream']],
      [['synth', '--out', join(tmpdir(), 'never.pcap')], ['--seed']], // a seed is text or any integer, not a size
      [['fleet', 'submit', '--nats', 'nats://127.0.0.1:1', SAMPLE, '--wait'], []],
      [['fleet', 'work', '--nats', 'nats://127.0.0.1:1'], []],
    ];
    let checked = 0;
    for (const [argv, skip] of commands) {
      const help = (await cli([...argv.filter((a) => a.startsWith('-') || /^[a-z]+$/.test(a)).slice(0, argv[0] === 'fleet' ? 2 : 1), '--help'])).out;
      const flags = [...help.matchAll(/(--[a-z-]+) <(S|N|B|X|Y|P,…)>/g)].map((m) => m[1]!).filter((f) => !skip.includes(f));
      expect(flags.length, argv.join(' ')).toBeGreaterThan(0);
      for (const f of flags) {
        const r = await cli([...argv, f, '1e308']);
        expect([r.code, r.err.split('\n')[0]], `${argv[0]} ${f}`).toEqual([2, expect.stringMatching(new RegExp(`^tunnelscope [a-z ]+: ${f} must be (a number|an integer) in \\[`))]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(30);
  });

  it('-q works for every command that prints diagnostics', async () => {
    const c = await cli(['classify', SAMPLE, '-q', '--format', 'ndjson']);
    expect(c.code).toBe(0);
    expect(c.err).toBe('');
    expect(c.out.trim().split('\n')).toHaveLength(40);
    const f = await cli(['flows', SAMPLE, '-q']);
    expect(f.code).toBe(0);
    expect(f.err).toBe('');
  });

  it('flows --format json is one document with every flow and a summary', async () => {
    const r = await cli(['flows', SAMPLE, '--format', 'json', '-q']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { flows: { end: string }[]; summary: { packets: number; flows: number; ends: Record<string, number> } };
    expect(doc.flows).toHaveLength(40);
    expect(doc.summary).toEqual({ packets: 1200, flows: 40, ends: { idle: 0, evicted: 0, fin: 16, rst: 0, eof: 24 }, skipped: {}, tunnelFallback: {} });
  });

  it('the json summary lists every label, zero counts included, as the text summary does', async () => {
    const r = await cli(['classify', SAMPLE, '--format', 'json', '-q', '--no-default-domains', '--only', 'vpn']);
    const doc = JSON.parse(r.out) as { summary: { byLabel: Record<string, number> } };
    expect(Object.keys(doc.summary.byLabel).sort()).toEqual(['ordinary', 'registered_vpn', 'unregistered_vpn']);
    expect(doc.summary.byLabel.registered_vpn).toBe(0);
  });

  it('a missing or unreadable list file is named in words, exit 2, one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-conv-'));
    for (const flag of ['--registered', '--vpn-endpoints', '--vpn-domains']) {
      const r = await cli(['classify', SAMPLE, flag, join(dir, 'nope.txt')]);
      expect(r.code).toBe(2);
      expect(r.err).toBe(`tunnelscope classify: ${join(dir, 'nope.txt')}: cannot read list: no such file\n`);
    }
    const r = await cli(['classify', SAMPLE, '--registered', dir]);
    expect(r.err).toBe(`tunnelscope classify: ${dir}: cannot read list: is a directory\n`);
  });

  it('the table stays aligned with IPv6 endpoints, and long evidence is cut to a terminal\'s width', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-conv-'));
    const reg = join(dir, 'r.txt');
    writeFileSync(reg, '10.0.0.0/8,org-1\n');
    const r = await cli(['classify', SAMPLE, '--registered', REG, '--format', 'table', '-q'], true);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    const header = lines[0]!;
    const cols = ['PROTOCOL', 'CONF', 'L4', 'SRC', 'DST', 'REGISTRANT', 'EVIDENCE'].map((h) => header.indexOf(h));
    expect(lines.some((l) => l.includes('['))).toBe(true); // the sample has IPv6 flows
    for (const l of lines.slice(1)) {
      expect(l.length, l).toBeLessThanOrEqual(200);
      // Every cell starts where its header does: the column after SRC/DST starts after a blank.
      for (const c of cols) expect(l[c - 1], `${l}\n${header}`).toBe(' ');
    }
    expect(lines.some((l) => l.endsWith('…'))).toBe(true);
    // Not a terminal: evidence in full.
    const full = await cli(['classify', SAMPLE, '--registered', REG, '--format', 'table', '-q']);
    expect(Math.max(...full.out.split('\n').map((l) => l.length))).toBeGreaterThan(200);
  });

  it('progress on a terminal: bar, %, ETA, packets and flows for a file; counts and rate for stdin; a list-loading phase', async () => {
    const saved = process.env['CI'];
    delete process.env['CI'];
    try {
      const err = Object.assign(new Sink(), { isTTY: true, columns: 200 });
      const now = Date.now();
      const p = new Progress(1_000_000, false, err);
      (p as unknown as { t0: number }).t0 = now - 2000;
      p.update({ bytes: 250_000, packets: 12_345, flows: 678 });
      expect(err.text).toMatch(/\[#{6}\.{18}\]  25%  ETA 00:0[56]  12k packets, 678 flows  0\.1 MB\/s/);
      p.done();
      expect(err.text.endsWith('\r\x1b[K')).toBe(true);
      const err2 = Object.assign(new Sink(), { isTTY: true, columns: 200 });
      const s = new Progress(0, false, err2);
      (s as unknown as { t0: number }).t0 = now - 4000;
      s.update({ bytes: 8_000_000, packets: 2_000_000, flows: 50_000 });
      expect(err2.text).toMatch(/2\.0M packets, 50k flows, 8\.0 MB read, 2\.0 MB\/s, 00:0[45] elapsed/);
      const err3 = Object.assign(new Sink(), { isTTY: true, columns: 200 });
      const l = new Progress(0, false, err3);
      l.phase('loading lists');
      await new Promise((r) => setTimeout(r, 1400));
      l.phase(null);
      expect(err3.text).toMatch(/loading lists… 1\.\d s/);
      // Quiet, or not a terminal: nothing.
      const err4 = new Sink();
      const q = new Progress(10, false, err4);
      (q as unknown as { t0: number }).t0 = now - 5000;
      q.update({ bytes: 5, packets: 1, flows: 1 });
      expect(err4.text).toBe('');
    } finally {
      if (saved !== undefined) process.env['CI'] = saved;
    }
  });
});
