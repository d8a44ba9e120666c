import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Sink } from '../helpers/sink.js';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/classify.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';


async function cli(argv: string[], stdin?: Uint8Array) {
  const stdout = new Sink(), stderr = new Sink();
  const input = stdin ? Readable.from([Buffer.from(stdin)]) : new PassThrough();
  const code = await run(argv, { stdout, stderr, stdin: input });
  return { code, out: stdout.text, err: stderr.text };
}

const T0 = 1_700_000_000_000_000;
const dir = mkdtempSync(join(tmpdir(), 'ts-classify-'));

function wg(type: number, len: number, sender: number, receiver = 0): Uint8Array {
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  b[0] = type;
  dv.setUint32(4, sender, true);
  if (type === 2) dv.setUint32(8, receiver, true);
  for (let i = type === 1 ? 8 : 12; i < (type === 1 ? 116 : 60); i++) b[i] = (i * 31 + 5) & 255;
  return b;
}

/** WireGuard between 10.0.0.5 and 203.0.113.9, WireGuard between 10.0.1.7 and 203.0.113.9, and DNS. */
function capture(): Uint8Array {
  const w = new PcapWriter();
  const c1 = { src: '10.0.0.5', dst: '203.0.113.9', proto: 17, srcPort: 40001, dstPort: 51820 };
  const s1 = { src: '203.0.113.9', dst: '10.0.0.5', proto: 17, srcPort: 51820, dstPort: 40001 };
  const c2 = { src: '10.0.1.7', dst: '203.0.113.9', proto: 17, srcPort: 40002, dstPort: 51820 };
  const s2 = { src: '203.0.113.9', dst: '10.0.1.7', proto: 17, srcPort: 51820, dstPort: 40002 };
  w.packet(T0 + 1, buildFrame({ ...c1, payload: wg(1, 148, 0x01020304) }));
  w.packet(T0 + 2, buildFrame({ ...s1, payload: wg(2, 92, 0x0a0b0c0d, 0x01020304) }));
  w.packet(T0 + 3, buildFrame({ ...c2, payload: wg(1, 148, 0x05060708) }));
  w.packet(T0 + 4, buildFrame({ ...s2, payload: wg(2, 92, 0x0e0f1011, 0x05060708) }));
  const q = Uint8Array.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 101, 120, 97, 109, 112, 108, 101, 3, 99, 111, 109, 0, 0, 1, 0, 1]);
  w.packet(T0 + 5, buildFrame({ src: '10.0.0.5', dst: '192.0.2.53', proto: 17, srcPort: 5353, dstPort: 53, payload: q }));
  return w.toBuffer();
}
const pcap = join(dir, 'wg.pcap');
writeFileSync(pcap, capture());
const regFile = join(dir, 'registered.txt');
writeFileSync(regFile, '# registrations\n10.0.0.0/24,acme\n');

describe('tunnelscope classify', () => {
  it('ndjson: one record per flow with label, protocol, evidence, counters; registered vs unregistered', async () => {
    const { code, out, err } = await cli([pcap, '--registered', regFile, '--no-default-domains']);
    expect(code).toBe(0);
    const recs = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recs).toHaveLength(3);
    const bySrc = new Map(recs.map((r) => [r.src as string, r]));
    expect(Object.keys(bySrc.get('10.0.0.5:40001')!).slice(0, 12)).toEqual([
      'transport', 'src', 'dst', 'label', 'protocol', 'confidence', 'registrant', 'evidence', 'packets', 'bytes', 'firstSeen', 'lastSeen',
    ]);
    expect(bySrc.get('10.0.0.5:40001')).toMatchObject({ transport: 'udp', dst: '203.0.113.9:51820', label: 'registered_vpn', protocol: 'wireguard', registrant: 'acme', packets: 2 });
    expect(bySrc.get('10.0.1.7:40002')).toMatchObject({ label: 'unregistered_vpn', protocol: 'wireguard', registrant: null });
    expect(bySrc.get('10.0.0.5:5353')).toMatchObject({ label: 'ordinary', protocol: null, registrant: null });
    const ev = (bySrc.get('10.0.0.5:40001')!.evidence as Array<{ rule: string; reason: string }>).map((e) => e.rule);
    expect(ev).toContain('registered.prefix');
    expect(err).toMatch(/5 packets, 3 flows, 2 VPN flows/);
  });

  it('--only vpn, --summary and json format', async () => {
    const only = await cli([pcap, '--only', 'vpn', '--no-default-domains']);
    expect(only.out.trim().split('\n')).toHaveLength(2);
    const j = await cli([pcap, '--format', 'json', '--summary', '--no-default-domains', '--quiet']);
    const doc = JSON.parse(j.out) as { flows: unknown[]; summary: { byLabel: Record<string, number> } };
    expect(doc.flows).toHaveLength(3);
    expect(doc.summary.byLabel).toEqual({ registered_vpn: 0, unregistered_vpn: 2, ordinary: 1 });
    expect(j.err).toMatch(/unregistered_vpn\s+2/);
  });

  it('table format is aligned and names the deciding rule', async () => {
    const t = await cli([pcap, '--format', 'table', '--summary', '--no-default-domains', '--quiet']);
    const lines = t.out.split('\n');
    expect(lines[0]).toMatch(/^LABEL\s+PROTOCOL\s+CONF/);
    expect(t.out).toMatch(/unregistered_vpn\s+wireguard\s+0\.9\d/);
    expect(t.out).toMatch(/wg\.handshake \(strong\)/);
    expect(t.out).toMatch(/VPN flows by protocol:\n\s+wireguard\s+2/);
  });

  it('reads stdin with -', async () => {
    const r = await cli(['-', '--no-default-domains', '--quiet'], capture());
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(3);
  });

  it('bad list: file:line reason, exit 2', async () => {
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, '10.0.0.0/24,a\n10.0.0.1/24,b\n');
    const r = await cli([pcap, '--registered', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2: `));
    expect(r.err.trim().split('\n')).toHaveLength(1);
    const dup = join(dir, 'dup.txt');
    writeFileSync(dup, '10.0.0.0/24,a\n# c\n10.0.0.0/24,b\n');
    const d = await cli([pcap, '--registered', dup]);
    expect(d.code).toBe(2);
    expect(d.err).toMatch(/dup\.txt:3: /);
    const missing = await cli([pcap, '--vpn-endpoints', join(dir, 'nope.txt')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/nope\.txt/);
  });

  it('usage errors and unreadable input: one line, exit 2', async () => {
    expect((await cli([])).code).toBe(2);
    expect((await cli([pcap, '--format', 'xml'])).code).toBe(2);
    expect((await cli([pcap, '--bogus'])).code).toBe(2);
    const win = await cli([pcap, '--companion-window', '-1']);
    expect(win.code).toBe(2);
    expect(win.err).toMatch(/companion-window/);
    expect((await cli([pcap, '--companion-window', '30'])).code).toBe(0);
    const ports = await cli([pcap, '--ssl-vpn-esp-ports', '4500,70000']);
    expect(ports.code).toBe(2);
    expect(ports.err).toMatch(/ssl-vpn-esp-ports.*70000/);
    expect((await cli([pcap, '--ssl-vpn-esp-ports', '4500, 4600'])).code).toBe(0);
    const missing = await cli([join(dir, 'missing.pcap')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/missing\.pcap/);
    const isDir = await cli([dir]);
    expect(isDir.code).toBe(2);
    expect(isDir.err).toBe(`tunnelscope classify: cannot read ${dir}: is a directory\n`);
    const junk = join(dir, 'junk.pcap');
    writeFileSync(junk, 'this is not a capture at all, just text');
    const j = await cli([junk]);
    expect(j.code).toBe(2);
    expect(j.err).toMatch(/junk\.pcap: at byte 0/);
    expect(j.err.trim().split('\n')).toHaveLength(1);
  });
});
