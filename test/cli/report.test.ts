import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { run as classify } from '../../src/cli/classify.js';
import { run as report, sniffInput } from '../../src/cli/report.js';
import { main } from '../../src/cli/main.js';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { Sink } from '../helpers/sink.js';
import { dataBlock, decodeRecords } from '../report/decode.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SAMPLE = join(ROOT, 'fixtures', 'sample.pcap');
const REG = join(ROOT, 'fixtures', 'sample-registered.txt');
const dir = mkdtempSync(join(tmpdir(), 'ts-report-cli-'));

async function cli(fn: typeof report, argv: string[], stdin?: Uint8Array) {
  const stdout = new Sink(), stderr = new Sink();
  const input = stdin ? Readable.from([Buffer.from(stdin.subarray(0, 10)), Buffer.from(stdin.subarray(10))]) : new PassThrough();
  const code = await fn(argv, { stdout, stderr, stdin: input });
  return { code, out: stdout.text, err: stderr.text };
}

const canon = (rs: object[]): string[] => rs.map((r) => JSON.stringify(r, Object.keys(r).sort())).sort();
/**
 * Records as the page carries them: evidence kind explicit; the per-direction counters and end reason that records
 * gained for the Zeek/EVE/IPFIX outputs are not (yet) in the page's data.
 */
const asCarried = (rs: Array<Record<string, unknown>>): object[] =>
  rs.map(({ srcPackets, srcBytes, dstPackets, dstBytes, end, ...r }) => {
    void [srcPackets, srcBytes, dstPackets, dstBytes, end];
    return { ...r, evidence: (r.evidence as Array<Record<string, unknown>>).map((e) => ({ kind: 'structure', ...e })) };
  });

describe('tunnelscope report', () => {
  let records: Array<Record<string, unknown>>;
  const ndjson = join(dir, 'sample.ndjson');

  it('classifies a capture itself: the page carries exactly the records classify prints', async () => {
    const c = await cli(classify, [SAMPLE, '--registered', REG, '--format', 'ndjson', '--quiet']);
    records = c.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    writeFileSync(ndjson, c.out);
    const out = join(dir, 'cap.html');
    const r = await cli(report, [SAMPLE, '--registered', REG, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^tunnelscope report: 40 flows → .*cap\.html \(0\.\d\d MB, [\d.]+ s\)\n$/);
    const html = readFileSync(out, 'utf8');
    expect(canon(decodeRecords(html))).toEqual(canon(asCarried(records)));
    expect(html).toContain(`registered: ${REG.replace(/&/g, '&amp;')} (3 entries)`);
    // The provider domains the run used (the bundled list, loaded by default) are named beside it.
    expect(html).toMatch(/vpn-domains: [^<]*vpn-domains\.txt \([\d,]+ entries\)/);
    expect(html).toMatch(/data-meta="packets">1,200</);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('reads NDJSON records (told by content, not name) to the same page data; also from stdin', async () => {
    const named = join(dir, 'records.pcap'); // a misleading name: content decides
    writeFileSync(named, readFileSync(ndjson));
    const out = join(dir, 'nd.html');
    expect((await cli(report, [named, '--out', out, '--quiet'])).code).toBe(0);
    expect(canon(decodeRecords(readFileSync(out, 'utf8')))).toEqual(canon(asCarried(records)));
    const fromStdin = await cli(report, ['-', '--out', '-', '--quiet'], readFileSync(ndjson));
    expect(fromStdin.code).toBe(0);
    expect(canon(decodeRecords(fromStdin.out))).toEqual(canon(asCarried(records)));
    expect(fromStdin.out).toContain('<h1>stdin</h1>');
  });

  it('records after more than 64 bytes of blank lines are still told by their first non-blank character', async () => {
    const text = Buffer.concat([Buffer.from('\n'.repeat(100) + ' \t\r\n'.repeat(50)), readFileSync(ndjson)]);
    const named = join(dir, 'blank-first.ndjson');
    writeFileSync(named, text);
    const f = await cli(report, [named, '--out', '-', '--quiet']);
    expect(f.err).toBe('');
    expect(decodeRecords(f.out)).toHaveLength(40);
    const s = await cli(report, ['-', '--out', '-', '--quiet'], text);
    expect(s.err).toBe('');
    expect(decodeRecords(s.out)).toHaveLength(40);
    const blank = await cli(report, ['-', '--out', '-', '--quiet'], Buffer.from('\n'.repeat(200)));
    expect(blank.code).toBe(2);
    expect(blank.err).toMatch(/^tunnelscope report: stdin: neither a pcap\/pcapng capture nor NDJSON flow records/);
  });

  it('classifies a capture from stdin to the same records', async () => {
    const s = await cli(report, ['-', '--registered', REG, '--out', '-', '--quiet'], readFileSync(SAMPLE));
    expect(s.code).toBe(0);
    expect(canon(decodeRecords(s.out))).toEqual(canon(asCarried(records)));
  });

  it('--max-table-flows caps the table, not the figures; --title sets the title', async () => {
    const out = join(dir, 'cap5.html');
    expect((await cli(report, [ndjson, '--out', out, '--max-table-flows', '5', '--title', 'Gateway <7>', '--quiet'])).code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(dataBlock(html).data.n).toBe(5);
    expect(html).toContain('hold the first 5 of 40 flows');
    expect(html).toContain('<title>Gateway &lt;7&gt; — ');
  });

  it('bad usage and bad input: exit 2 with one line naming the problem, and no file written', async () => {
    const text = join(dir, 'notes.txt'), bad = join(dir, 'bad.ndjson');
    writeFileSync(text, 'hello\n');
    writeFileSync(bad, `${JSON.stringify(records[0])}\n{"label":"ordinary"}\n`);
    const cases: Array<[string[], RegExp]> = [
      [[SAMPLE], /^tunnelscope report: missing --out FILE/],
      [['--out', 'x.html'], /missing input/],
      [[SAMPLE, '--out', join(dir, 'a.html'), '--bogus'], /^tunnelscope report: unknown option '--bogus'$/],
      [[join(dir, 'nope.pcap'), '--out', join(dir, 'b.html')], /cannot read .*nope\.pcap: no such file/],
      [[dir, '--out', join(dir, 'c.html')], /cannot read .*: is a directory/],
      [[text, '--out', join(dir, 'd.html')], /notes\.txt: neither a pcap\/pcapng capture nor NDJSON flow records/],
      [[bad, '--out', join(dir, 'e.html')], /bad\.ndjson:2: field "firstSeen" must be a string/],
      [[ndjson, '--registered', REG, '--out', join(dir, 'f.html')], /--registered applies to a capture; .* holds flow records/],
      [[SAMPLE, '--registered', join(dir, 'missing.txt'), '--out', join(dir, 'g.html')], /missing\.txt/],
      [[SAMPLE, '--out', join(dir, 'no', 'such', 'dir.html')], /cannot write .*dir\.html: no such file/],
      [[SAMPLE, '--max-table-flows', '0', '--out', join(dir, 'h.html')], /--max-table-flows must be an integer in \[1, 268435456\]/],
    ];
    for (const [argv, want] of cases) {
      const r = await cli(report, argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.split('\n')[0], r.err).toMatch(want);
    }
    // A path with a terminal escape and a newline is printed escaped, on one line.
    const hostile = join(dir, 'notes\x1b[31m\n.txt');
    writeFileSync(hostile, 'hello\n');
    const h = await cli(report, [hostile, '--out', join(dir, 'i.html')]);
    expect(h.code).toBe(2);
    expect(h.err).toContain('notes\\x1b[31m\\x0a.txt: neither a pcap');
    expect(h.err.trimEnd().split('\n')).toHaveLength(1);
    expect(h.err).not.toContain('\x1b');
    for (const f of 'abcdefghi') expect(existsSync(join(dir, `${f}.html`))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('--out a FIFO, or a symlink: written through, never replaced (the page went to a temporary file renamed over the path)', async () => {
    const fifo = join(dir, 'page.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo]);
    const got: Buffer[] = [];
    reader.stdout.on('data', (b: Buffer) => got.push(b));
    const done = new Promise((r) => reader.on('close', r));
    const r = await cli(report, [SAMPLE, '--out', fifo, '-q']);
    await done;
    expect(r.code, r.err).toBe(0);
    expect(Buffer.concat(got).toString('utf8')).toMatch(/^<!doctype html>/i);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    // A symlink: what it points to gets the page, whole; the link stays a link.
    const real = join(dir, 'real.html'), link = join(dir, 'link.html');
    writeFileSync(real, 'old page');
    symlinkSync(real, link);
    const s = await cli(report, [SAMPLE, '--out', link, '-q']);
    expect(s.code, s.err).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toMatch(/^<!doctype html>/i);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a reader that goes away (| head): exit 0 and nothing on stderr, with --out - and with --out /dev/stdout', async () => {
    for (const out of ['-', '/dev/stdout']) {
      // A shell's pipe (a child's stdout from spawn is a socket, which /dev/stdout cannot open).
      const script = `"$0" "$1" report "$2" --out "$3" -q | head -c 10 >/dev/null; echo "exit \${PIPESTATUS[0]}"`;
      const r = spawnSync('bash', ['-c', script, process.execPath, join(ROOT, 'dist', 'cli.js'), SAMPLE, out], { encoding: 'utf8' });
      expect(r.stdout.trim(), `${out}: ${r.stderr}`).toBe('exit 0');
      expect(r.stderr).toBe('');
    }
  });

  it('--help prints the options and examples; the command is listed in the program help', async () => {
    const r = await cli(report, ['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('tunnelscope report fixtures/sample.pcap --registered fixtures/sample-registered.txt --out report.html');
    expect(r.out).toMatch(/--max-table-flows <N>/);
    const out = new Sink();
    expect(await main(['help'], { stdout: out, stderr: new Sink(), stdin: process.stdin })).toBe(0);
    expect(out.text).toMatch(/^\s+report \[options\] \[input\]\s+write a self-contained HTML report/m);
  });

  it('through the built bin: classify --format ndjson | report - gives the same page data as report on the capture', async () => {
    const bin = join(ROOT, 'dist', 'cli.js');
    if (!existsSync(bin)) return; // npm test builds dist first
    const nd = execFileSync(process.execPath, [bin, 'classify', SAMPLE, '--registered', REG, '--format', 'ndjson', '--quiet']);
    const viaPipe = execFileSync(process.execPath, [bin, 'report', '-', '--out', '-', '--quiet'], { input: nd }).toString();
    const out = join(dir, 'bin.html');
    execFileSync(process.execPath, [bin, 'report', SAMPLE, '--registered', REG, '--workers', '2', '--out', out, '--quiet']);
    expect(canon(decodeRecords(viaPipe))).toEqual(canon(decodeRecords(readFileSync(out, 'utf8'))));
    expect(decodeRecords(viaPipe)).toHaveLength(40);
  });

  it('a named pipe as input (report <(classify …)): records and captures are read as from stdin, exit 0', async () => {
    const recs = join(dir, 'fifo-src.ndjson');
    writeFileSync(recs, (await cli(classify, [SAMPLE, '--format', 'ndjson', '--quiet'])).out);
    for (const [name, src] of [['records', recs], ['capture', SAMPLE]] as const) {
      const fifo = join(dir, `in-${name}.fifo`);
      execFileSync('mkfifo', [fifo]);
      // The writer is another process, as with a shell's <(…): an open of a FIFO waits for the other end.
      const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', src, fifo]);
      const feed = new Promise<void>((done) => writer.on('close', () => done()));
      const out = join(dir, `fifo-${name}.html`);
      const r = await cli(report, [fifo, '--out', out, '--quiet']);
      await feed;
      expect(r.err, name).toBe('');
      expect(r.code, name).toBe(0);
      expect(decodeRecords(readFileSync(out, 'utf8')), name).toHaveLength(40);
    }
  });

  it('--out - into a pipe that closes early (| head -c 20): exit 0 quietly, as classify does', () => {
    const bin = join(ROOT, 'dist', 'cli.js');
    if (!existsSync(bin)) return; // npm test builds dist first
    const q = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
    const r = spawnSync('bash', ['-c', `${q(process.execPath)} ${q(bin)} report ${q(SAMPLE)} --out - --quiet | head -c 20 >/dev/null; exit \${PIPESTATUS[0]}`]);
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('sniffInput', () => {
  const b = (...x: number[]): Uint8Array => Uint8Array.from(x);
  it('pcap in both byte orders and resolutions, pcapng, NDJSON after a BOM and blanks; anything else unknown', () => {
    for (const m of [[0xa1, 0xb2, 0xc3, 0xd4], [0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d], [0x4d, 0x3c, 0xb2, 0xa1], [0x0a, 0x0d, 0x0d, 0x0a]]) expect(sniffInput(b(...m, 0, 0))).toBe('capture');
    expect(sniffInput(new TextEncoder().encode('{"transport"'))).toBe('records');
    expect(sniffInput(b(0xef, 0xbb, 0xbf, 0x0a, 0x20, 0x7b))).toBe('records');
    for (const x of ['', 'hello', '[{}]', '\ufeff', ' ']) expect(sniffInput(new TextEncoder().encode(x)), x).toBe('unknown');
    expect(sniffInput(b(0xa1, 0xb2))).toBe('unknown');
  });
});

describe('tunnelscope report on a live stream', () => {
  it('SIGINT: reading stops, live flows end, the page of what was read is written, exit 0', async () => {
    const { EventEmitter } = await import('node:events');
    const { PcapFeed, udpDatagram, wgHandshake } = await import('../helpers/pcap-feed.js');
    const stdin = new PassThrough();
    const signals = new EventEmitter();
    const stdout = new Sink(), stderr = new Sink();
    const out = join(dir, 'live.html');
    const done = report(['-', '-o', out], { stdout, stderr, stdin, signals, exit: () => {} });
    const feed = new PcapFeed(stdin);
    await feed.send(...wgHandshake('10.8.0.1', '198.51.100.9', 41000, 1), udpDatagram('10.8.0.2', '198.51.100.20', 41001, 9999, 2));
    await new Promise((r) => setTimeout(r, 300));
    signals.emit('SIGINT');
    const code = await Promise.race([done, new Promise((r) => setTimeout(() => r('still running 10 s after SIGINT'), 10_000))]);
    expect(code, stderr.text).toBe(0);
    expect(stderr.text).toContain('stopped by SIGINT');
    const recs = decodeRecords(readFileSync(out, 'utf8'));
    expect(recs.map((r) => r.src).sort()).toEqual(['10.8.0.1:41000', '10.8.0.2:41001']);
    expect(recs.find((r) => r.src === '10.8.0.1:41000')?.label).toBe('unregistered_vpn');
  }, 30_000);
});
