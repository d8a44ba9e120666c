import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Sink } from '../helpers/sink.js';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/flows.js';
import { buildFrame, TCP_ACK, TCP_FIN, TCP_SYN } from '../../src/trace/frame-builder.js';
import { lingerCapture } from './linger-capture.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { onText } from '../helpers/text-stream.js';
import { LOCKED_DIR, LOCKED_DIR_REFUSED } from '../helpers/locked-dir.js';


async function runCli(argv: string[], opts: { stdin?: Uint8Array; tty?: boolean } = {}) {
  const stdout = new Sink(), stderr = new Sink();
  if (opts.tty) stdout.isTTY = true;
  const stdin = opts.stdin ? Readable.from([Buffer.from(opts.stdin)]) : new PassThrough();
  const code = await run(argv, { stdout, stderr, stdin });
  return { code, out: stdout.text, err: stderr.text };
}

const T0 = 1_700_000_000_000_000;
const dir = mkdtempSync(join(tmpdir(), 'ts-flows-'));

function sampleCapture(): Uint8Array {
  const w = new PcapWriter();
  const c = { src: '10.0.0.1', dst: '192.0.2.9', proto: 6, srcPort: 40000, dstPort: 443 };
  const s = { src: '192.0.2.9', dst: '10.0.0.1', proto: 6, srcPort: 443, dstPort: 40000 };
  w.packet(T0 + 1, buildFrame({ ...c, tcpFlags: TCP_SYN }));
  w.packet(T0 + 2, buildFrame({ ...s, tcpFlags: TCP_SYN | TCP_ACK }));
  w.packet(T0 + 3, buildFrame({ ...c, payload: new Uint8Array(100) }));
  w.packet(T0 + 4, buildFrame({ ...c, tcpFlags: TCP_FIN | TCP_ACK }));
  w.packet(T0 + 5, buildFrame({ ...s, tcpFlags: TCP_FIN | TCP_ACK }));
  w.packet(T0 + 6, buildFrame({ ...c, tcpFlags: TCP_ACK }));
  w.packet(T0 + 10, buildFrame({ src: '2001:db8::1', dst: '2001:db8:0:0:1::2', proto: 17, srcPort: 5353, dstPort: 53, vlan: 7 }));
  w.packet(T0 + 11, buildFrame({ src: '10.0.0.1', dst: '192.0.2.9', proto: 50, payload: new Uint8Array(16) }));
  // A malformed frame: Ethernet + IPv4 header cut short.
  w.packet(T0 + 12, Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0, 0x45, 0]));
  return w.toBuffer();
}
const samplePath = join(dir, 'sample.pcap');
writeFileSync(samplePath, sampleCapture());

describe('tunnelscope flows', () => {
  it('prints one ndjson record per flow with the initiator as src', async () => {
    const { code, out, err } = await runCli([samplePath]);
    expect(code).toBe(0);
    const recs = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recs).toHaveLength(3);
    expect(recs[0]).toEqual({
      transport: 'tcp', src: '10.0.0.1:40000', dst: '192.0.2.9:443', packets: 6,
      bytes: 54 * 5 + 154, firstSeen: '2023-11-14T22:13:20.000001Z', lastSeen: '2023-11-14T22:13:20.000006Z', end: 'fin',
    });
    expect(recs[1]).toMatchObject({ transport: 'udp', src: '[2001:db8::1]:5353', dst: '[2001:db8::1:0:0:2]:53', vlan: 7, packets: 1 });
    expect(recs[2]).toMatchObject({ transport: 'esp', src: '10.0.0.1', dst: '192.0.2.9', packets: 1, end: 'eof' });
    expect(err).toMatch(/9 packets read, 8 decoded, 1 malformed skipped \(ipv4-\S+: 1\); 3 flows emitted/);
  });

  it('prints a table by default on a TTY, and with --format table', async () => {
    const tty = await runCli([samplePath, '-q'], { tty: true });
    expect(tty.out.split('\n')[0]).toMatch(/^TRANSPORT\s+SRC\s+DST\s+VLAN/);
    expect(tty.err).toBe('');
    const forced = await runCli(['--format', 'table', samplePath]);
    expect(forced.out).toBe(tty.out);
    expect(forced.out.trim().split('\n')).toHaveLength(4);
  });

  it('reads stdin with -', async () => {
    const a = await runCli(['-', '-q'], { stdin: sampleCapture() });
    const b = await runCli([samplePath, '-q']);
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
  });

  it('names stdin as classify and report do: a corrupt stream is "stdin: at byte N: …"', async () => {
    const cut = sampleCapture().subarray(0, 30);
    const a = await runCli(['-', '-q'], { stdin: cut });
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/^tunnelscope flows: stdin: at byte 24: truncated record/);
  });

  it('applies --idle-timeout and --max-flows', async () => {
    const w = new PcapWriter();
    for (let i = 0; i < 5; i++) w.packet(T0 + i * 10e6, buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, srcPort: 1, dstPort: 2 }));
    const p = join(dir, 'idle.pcap');
    writeFileSync(p, w.toBuffer());
    expect((await runCli([p, '--idle-timeout', '5'])).out.trim().split('\n')).toHaveLength(5);
    expect((await runCli([p, '--idle-timeout', '60'])).out.trim().split('\n')).toHaveLength(1);
    const r = await runCli([samplePath, '--max-flows', '1']);
    expect(r.err).toMatch(/evicted 1, fin 1, rst 0, eof 1/); // the TCP flow ended by FIN before the UDP flow was evicted by the ESP one
  });

  it('usage errors exit 2 with the usage line', async () => {
    // A second operand is a second capture (see below), not a usage error: one that is missing is reported and the
    // first is still listed, exit 2, as for a corrupt one.
    const missing = await runCli([samplePath, 'extra', '--format', 'ndjson']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('tunnelscope flows: cannot read extra: no such file\n');
    expect(missing.out.split('\n').filter(Boolean).length).toBeGreaterThan(0);
    for (const argv of [['--bogus', samplePath], [], [samplePath, '--format', 'xml'], [samplePath, '--max-flows', '0'], [samplePath, '--idle-timeout', 'x']]) {
      const r = await runCli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(/^tunnelscope flows: .+\n\(run 'tunnelscope flows --help' for the options\)\n$/);
      expect(r.out).toBe('');
    }
    const h = await runCli(['--help']);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/Examples:/);
  });

  it('missing and corrupt inputs exit 2 with one line naming the file (and offset)', async () => {
    const missing = await runCli([join(dir, 'nope.pcap')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toBe(`tunnelscope flows: cannot read ${join(dir, 'nope.pcap')}: no such file\n`);
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, 'this is not a capture at all');
    const r = await runCli([bad]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`^tunnelscope flows: ${bad}: at byte 0: [^\\n]+\\n$`));
    // A capture cut mid-record still lists what it read, then fails with the offset.
    const full = sampleCapture();
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, full.subarray(0, full.length - 5));
    const c = await runCli([cut]);
    expect(c.code).toBe(2);
    expect(c.out.trim().split('\n').length).toBeGreaterThan(0);
    expect(c.err).toMatch(/^tunnelscope flows: .*cut\.pcap: at byte \d+: [^\n]+\n$/);
  });

  it('a frame that does not decode moves capture time as in classify (ARP a year ahead ends the open flow)', async () => {
    // Same clock as classify (test/classify/capture-clock.test.ts): every frame with a capture time moves it.
    const w = new PcapWriter();
    const c = { src: '10.0.0.1', dst: '192.0.2.9', proto: 6, srcPort: 40000, dstPort: 80 };
    w.packet(T0 + 1, buildFrame({ ...c, tcpFlags: TCP_SYN }));
    const arp = new Uint8Array(42).fill(0xff, 0, 6);
    arp.set([2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1], 6);
    w.packet(T0 + 365 * 86400e6, arp);
    w.packet(T0 + 2, buildFrame({ ...c, tcpFlags: TCP_ACK }));
    const p = join(dir, 'arp-ahead.pcap');
    writeFileSync(p, w.toBuffer());
    const { code, out } = await runCli([p, '-q']);
    expect(code).toBe(0);
    const recs = out.trim().split('\n').map((l) => JSON.parse(l) as { packets: number; end: string });
    expect(recs.map((r) => [r.packets, r.end])).toEqual([[1, 'idle'], [1, 'eof']]);
  });

  it('exits 0 quietly when stdout closes early (| head)', async () => {
    const w = new PcapWriter();
    for (let i = 0; i < 60000; i++) {
      w.packet(T0 + i, buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, srcPort: 1024 + (i % 60000), dstPort: 53 }));
    }
    const p = join(dir, 'many.pcap');
    writeFileSync(p, w.toBuffer());
    const child = spawn(process.execPath, ['dist/cli.js', 'flows', p], { cwd: join(__dirname, '../..') });
    let err = '';
    onText(child.stderr, (d) => (err += d));
    const first = await new Promise<string>((resolve) => {
      let acc = '';
      onText(child.stdout, (d) => {
        acc += d;
        if (acc.includes('\n')) {
          child.stdout.destroy();
          resolve(acc.split('\n')[0]!);
        }
      });
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(JSON.parse(first)).toMatchObject({ transport: 'udp' });
    expect(code).toBe(0);
    expect(err).not.toMatch(/Error|at .*\.ts/);
  });

  it('several captures and directories: each its own flow table, records tagged with their capture', async () => {
    const d = mkdtempSync(join(tmpdir(), 'ts-flows-several-'));
    copyFileSync(samplePath, join(d, 'a'));
    writeFileSync(join(d, 'notes.txt'), 'not a capture');
    const alone = (await runCli([samplePath, '--format', 'ndjson', '-q'])).out.trim().split('\n').map((l) => JSON.parse(l));
    expect(alone.every((r: { capture?: string }) => r.capture === undefined)).toBe(true);
    const r = await runCli([samplePath, d, '--format', 'ndjson', '-q']);
    expect(r.code).toBe(0);
    const got = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(got).toEqual([...alone.map((x: object) => ({ ...x, capture: samplePath })), ...alone.map((x: object) => ({ ...x, capture: join(d, 'a') }))]);
  });
  it.skipIf(!LOCKED_DIR_REFUSED)('a subdirectory that cannot be listed is reported and exits 2; the captures beside it are listed whole', async () => {
    // A directory even root cannot list (test/helpers/locked-dir.ts) stands in for an unreadable one.
    const d = mkdtempSync(join(tmpdir(), 'ts-flows-locked-'));
    copyFileSync(samplePath, join(d, 'a.pcap'));
    symlinkSync(LOCKED_DIR, join(d, 'locked'));
    const alone = (await runCli([samplePath, '--format', 'ndjson', '-q'])).out.trim().split('\n');
    const r = await runCli([d, '--format', 'ndjson', '-q']);
    expect(r.code).toBe(2);
    expect(r.out.trim().split('\n')).toHaveLength(alone.length);
    expect(r.err).toBe(`tunnelscope flows: cannot read ${join(d, 'locked')}: permission denied\n`);
  });
});

describe('tunnelscope flows: TCP linger and IP reassembly flags', () => {
  const path = join(dir, 'linger.pcap');
  writeFileSync(path, lingerCapture(T0));

  it('--tcp-linger: the default absorbs the late RST (one record); 0 ends the connection at its close (two)', async () => {
    const dflt = await runCli([path, '-q']);
    expect(dflt.out.trim().split('\n').map((l) => JSON.parse(l).end)).toEqual(['fin']);
    const zero = await runCli([path, '-q', '--tcp-linger', '0']);
    expect(zero.out.trim().split('\n').map((l) => JSON.parse(l).end)).toEqual(['fin', 'rst']);
    const one = await runCli([path, '-q', '--tcp-linger', '1.5']);
    expect(one.out.trim().split('\n')).toHaveLength(2);
  });

  it('reassembly flags are validated (exit 2, one line naming the flag)', async () => {
    for (const [flag, v] of [['--reassembly-max-bytes', '1000'], ['--max-reassemblies', '-1'], ['--reassembly-timeout', 'x'], ['--tcp-linger', '-2']]) {
      const r = await runCli([path, flag!, v!]);
      expect(r.code, flag).toBe(2);
      expect(r.err).toContain(flag!.slice(2));
    }
    expect((await runCli([path, '-q', '--max-reassemblies', '0', '--reassembly-timeout', '10', '--reassembly-max-bytes', '131072'])).code).toBe(0);
  });
});
