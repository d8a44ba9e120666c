/**
 * The CLI's input contract under hostile input (issue 18), run as users run it (the built dist/cli.js, a child
 * process): exit 0 with records, or exit 2 with one line naming the file (and the byte offset for a capture) —
 * never exit 1 from input; records before a corruption point are all emitted, with any worker count, from a file
 * or stdin; nothing printed carries a raw control or bidi character.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { PcapngWriter } from '../helpers/pcapng-writer.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const SAMPLE = readFileSync(join(ROOT, 'fixtures', 'sample.pcap'));
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function cli(args: string[], input?: Uint8Array): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, maxBuffer: 64 << 20, timeout: 120_000 });
  return { code: r.status, out: r.stdout.toString('utf8'), err: r.stderr.toString('utf8') };
}

const sortedLines = (s: string): string[] => s.split('\n').filter((l) => l !== '').sort();

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ts-hostile-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('captures', () => {
  it('a pcapng record with an impossible time is counted and skipped: exit 0 with the other records', () => {
    const frame = (port: number): Uint8Array => buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, srcPort: port, dstPort: 53, payload: new Uint8Array(4) });
    const buf = new PcapngWriter()
      .section()
      .idb({ linkType: 1 })
      .idb({ linkType: 1, tsresol: 0 }) // seconds: a 64-bit value is ~10^19 years
      .epb(0, 1_700_000_000_000_000n, frame(1))
      .epb(1, 0xffff_ffff_ffff_ffffn, frame(2))
      .epb(0, 1_700_000_000_500_000n, frame(3))
      .toBuffer();
    const path = join(dir, 'bad-time.pcapng');
    writeFileSync(path, buf);
    for (const workers of ['1', '2']) {
      const r = cli(['classify', path, '--format', 'ndjson', '--workers', workers]);
      expect(r.code, r.err).toBe(0);
      expect(r.out.trim().split('\n')).toHaveLength(2);
      expect(r.err).toMatch(/skipped: bad-timestamp 1,/);
    }
    const f = cli(['flows', path]);
    expect(f.code).toBe(0);
    expect(f.out.trim().split('\n')).toHaveLength(2);
    expect(f.err).toContain('1 records with an impossible time skipped');
  });

  it('pcapng packet blocks that must be skipped (unknown interface, captured length past the block) are counted by reason', () => {
    const frame = (port: number): Uint8Array => buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, srcPort: port, dstPort: 53, payload: new Uint8Array(4) });
    const w = new PcapngWriter().section().idb({ linkType: 1 });
    w.epb(0, 1_700_000_000_000_000n, frame(1)).epb(7, 1_700_000_000_100_000n, frame(2)); // no interface 7
    // An EPB whose captured length (4000) runs past its block: its body as epb() writes it, the length patched.
    const good = new PcapngWriter().section().idb({ linkType: 1 }).epb(0, 1_700_000_000_200_000n, frame(3)).toBuffer();
    const epbAt = good.length - (32 + ((frame(3).length + 3) & ~3));
    const bad = good.slice(epbAt);
    new DataView(bad.buffer, bad.byteOffset).setUint32(20, 4000, true);
    const buf = Buffer.concat([w.toBuffer(), bad, new PcapngWriter().section().idb({ linkType: 1 }).epb(0, 1_700_000_000_300_000n, frame(4)).toBuffer()]);
    const path = join(dir, 'bad-blocks.pcapng');
    writeFileSync(path, buf);
    for (const workers of ['1', '2']) {
      const r = cli(['classify', path, '--format', 'ndjson', '--workers', workers]);
      expect(r.code, r.err).toBe(0);
      expect(r.out.trim().split('\n')).toHaveLength(2);
      expect(r.err).toMatch(/skipped: bad-packet-block 2,/);
    }
    const s = cli(['classify', '-', '--format', 'ndjson'], buf);
    expect(s.err).toMatch(/skipped: bad-packet-block 2,/);
  });

  it('a truncated capture: exit 2, one line naming file and offset, and the same records with 1, 2 and 3 workers, file or stdin', () => {
    const cut = SAMPLE.subarray(0, 9000);
    const path = join(dir, 'cut.pcap');
    writeFileSync(path, cut);
    const ref = cli(['classify', path, '--format', 'ndjson', '-q']);
    expect(ref.code).toBe(2);
    expect(ref.err).toBe(`tunnelscope classify: ${path}: at byte 8825: truncated record: input ends 175 bytes into a 178-byte record\n`);
    expect(sortedLines(ref.out).length).toBeGreaterThan(0);
    for (const workers of ['1', '2', '3']) {
      const f = cli(['classify', path, '--format', 'ndjson', '-q', '--workers', workers]);
      expect(f.code).toBe(2);
      expect(f.err).toBe(ref.err);
      expect(sortedLines(f.out)).toEqual(sortedLines(ref.out));
      const s = cli(['classify', '-', '--format', 'ndjson', '-q', '--workers', workers], cut);
      expect(s.code).toBe(2);
      expect(s.err).toBe('tunnelscope classify: stdin: at byte 8825: truncated record: input ends 175 bytes into a 178-byte record\n');
      expect(sortedLines(s.out)).toEqual(sortedLines(ref.out));
    }
  }, 180_000);

  it('a capture path with a newline and ESC: the error is one escaped line', () => {
    const path = join(dir, 'evil\n\x1b[2Jname.pcap');
    writeFileSync(path, SAMPLE.subarray(0, 100));
    const r = cli(['classify', path, '-q']);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')).toHaveLength(2); // one line and its newline
    expect(r.err).not.toMatch(UNSAFE);
    expect(r.err).toContain('evil\\x0a\\x1b[2Jname.pcap: at byte 24: truncated record');
    const missing = cli(['classify', join(dir, 'no\x1bsuch'), '-q']);
    expect(missing.code).toBe(2);
    expect(missing.err).toBe(`tunnelscope classify: cannot read ${join(dir, 'no\\x1bsuch')}: no such file\n`);
  });
});

describe('several captures and directories', () => {
  // Names found by walking a directory are as untrusted as a packet: every message quoting one is escaped.
  it('hostile names in a directory run, a missing input and an empty directory: each message one escaped line', () => {
    const d = mkdtempSync(join(dir, 'several-'));
    const evil = join(d, 'evil\n\x1b[2J\u202ename.pcap');
    writeFileSync(evil, SAMPLE.subarray(0, 100));
    writeFileSync(join(d, 'good.pcap'), SAMPLE);
    for (const cmd of ['classify', 'flows']) {
      const r = cli([cmd, d, '-q']);
      expect(r.code, r.err).toBe(2);
      expect(r.err, cmd).not.toMatch(UNSAFE);
      expect(r.err).toContain('evil\\x0a\\x1b[2J\\u202ename.pcap');
      const missing = cli([cmd, join(d, 'good.pcap'), join(d, 'no\x1bsuch\x9b')]);
      expect(missing.code).toBe(2);
      expect(missing.err, cmd).not.toMatch(UNSAFE);
      expect(missing.err).toContain('no\\x1bsuch\\x9b');
      const empty = join(d, 'empty\x1b[1m\u2066');
      mkdirSync(empty, { recursive: true });
      const none = cli([cmd, empty, join(empty, '.')]);
      expect(none.code).toBe(2);
      expect(none.err, cmd).not.toMatch(UNSAFE);
      expect(none.err.split('\n')).toHaveLength(2);
    }
  });

  it('a capture in a directory whose file name is not UTF-8 is reported by name (it was skipped without a word)', () => {
    const d = mkdtempSync(join(dir, 'latin1-'));
    writeFileSync(Buffer.concat([Buffer.from(`${d}/caf`), Buffer.from([0xe9]), Buffer.from('.pcap')]), SAMPLE);
    writeFileSync(Buffer.concat([Buffer.from(`${d}/notes`), Buffer.from([0xe9]), Buffer.from('.txt')]), 'not a capture\n');
    writeFileSync(join(d, 'good.pcap'), SAMPLE);
    for (const cmd of ['classify', 'flows']) {
      const r = cli([cmd, d, '--format', 'ndjson']);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(/caf\ufffd\.pcap: its file name is not valid UTF-8/);
      expect(r.err).not.toMatch(/notes/);
      expect(r.out.trim().split('\n')).toHaveLength(40); // the good capture's records
    }
  });
});

describe('lists', () => {
  it('--registered /dev/zero: exit 2 at once with a clear error (it grew to 2.9 GB and died)', () => {
    const t0 = performance.now();
    const r = cli(['classify', join(ROOT, 'fixtures', 'sample.pcap'), '--registered', '/dev/zero', '-q']);
    expect(r.code).toBe(2);
    expect(r.err).toBe('tunnelscope classify: /dev/zero: cannot read list: a character device, not a regular file or pipe\n');
    expect(performance.now() - t0).toBeLessThan(30_000);
  });

  it('a domain list of 150,000 entries loads (a spread of all entries into push overflowed the stack past ~130k)', () => {
    const path = join(dir, 'big-domains.txt');
    let text = '';
    for (let i = 0; i < 150_000; i++) text += `h${i}.example.net,P${i % 50}\n`;
    writeFileSync(path, text);
    const r = cli(['classify', join(ROOT, 'fixtures', 'sample.pcap'), '--vpn-domains', path, '--format', 'ndjson', '-q']);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(40);
  }, 120_000);

  it('a registrant with ESC is refused with file:line; a bare-CR list loads', () => {
    const bad = join(dir, 'esc.txt');
    writeFileSync(bad, '10.0.0.0/8,ok\n192.0.2.0/24,acme\x1b]0;owned\x07\n');
    const r = cli(['classify', join(ROOT, 'fixtures', 'sample.pcap'), '--registered', bad, '-q']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`^tunnelscope classify: ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2: value ".*": control, bidi-formatting or invisible character U\\+001B at column 5\\n$`));
    expect(r.err).not.toMatch(UNSAFE);
    const cr = join(dir, 'cr.txt');
    writeFileSync(cr, readFileSync(join(ROOT, 'fixtures', 'sample-registered.txt'), 'utf8').replace(/\r?\n/g, '\r'));
    const a = cli(['classify', join(ROOT, 'fixtures', 'sample.pcap'), '--registered', cr, '--format', 'ndjson', '-q']);
    const b = cli(['classify', join(ROOT, 'fixtures', 'sample.pcap'), '--registered', join(ROOT, 'fixtures', 'sample-registered.txt'), '--format', 'ndjson', '-q']);
    expect(a.code).toBe(0);
    expect(a.out.replaceAll(cr, 'L')).toBe(b.out.replaceAll(join(ROOT, 'fixtures', 'sample-registered.txt'), 'L'));
  });
});

describe('output', () => {
  it('a list path with ESC and C1 reaches evidence text: table and NDJSON show it escaped, NDJSON keeps the value', () => {
    const name = join(dir, 'dom\x1b[31m\u009b2J\u202e.txt');
    writeFileSync(name, 'surfshark.com,Surfshark\n');
    const args = ['classify', join(ROOT, 'fixtures', 'sample.pcap'), '--vpn-domains', name, '--no-default-domains', '-q'];
    const nd = cli([...args, '--format', 'ndjson', '--only', 'vpn']);
    expect(nd.code).toBe(0);
    expect(nd.out).not.toMatch(UNSAFE);
    const recs = nd.out.trim().split('\n').map((l) => JSON.parse(l) as { evidence: { reason: string }[] });
    expect(recs.some((r) => r.evidence.some((e) => e.reason.includes(name)))).toBe(true);
    const table = cli([...args, '--format', 'table', '--only', 'vpn']);
    expect(table.code).toBe(0);
    expect(table.out).not.toMatch(UNSAFE);
    expect(table.out).toContain('dom\\x1b[31m\\x9b2J\\u202e.txt');
    const json = cli([...args, '--format', 'json']);
    expect(json.out).not.toMatch(UNSAFE);
    expect(JSON.stringify(JSON.parse(json.out))).toContain('\u009b');
  });

  it('EVE and Zeek JSON write C1, bidi and line-separator characters of a capture or list path as \\u escapes', () => {
    const sub = join(dir, 'jsonforms');
    mkdirSync(sub);
    const list = join(dir, 'dom\u009b2J\u202e\u2028.txt');
    writeFileSync(list, 'surfshark.com,Surfshark\n');
    writeFileSync(join(sub, 'cap\u202e\u0085\u2029.pcap'), SAMPLE);
    const args = ['classify', sub, '--vpn-domains', list, '--no-default-domains', '-q'];
    for (const format of ['eve', 'zeek-json']) {
      const r = cli([...args, '--format', format]);
      expect(r.code).toBe(0);
      expect(r.out).not.toMatch(UNSAFE);
      const lines = r.out.trim().split('\n').map((l) => JSON.stringify(JSON.parse(l)));
      expect(lines.every((l) => l.includes('cap\u202e\u0085\u2029.pcap'))).toBe(true);
      expect(lines.some((l) => l.includes('dom\u009b2J\u202e\u2028.txt'))).toBe(true);
    }
  });
});
