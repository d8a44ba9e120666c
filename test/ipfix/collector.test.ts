/**
 * IPFIX round trip through real tools, loopback only: `tunnelscope classify fixtures/sample.pcap --format ndjson
 * --ipfix udp://…` exports every flow; a relay keeps a copy of every datagram and hands it to Debian's nfcapd (a
 * real collector, on a free loopback port, writing into a temp dir); `nfdump -r` must read back every flow with
 * its NDJSON record's addresses, ports, protocol, packets and bytes per direction and times, with no sequence
 * error. tshark decodes the same datagrams: templates with the standard and enterprise elements, applicationName
 * carrying each VPN flow's protocol.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/classify/record.js';
import { DOCUMENTATION_PEN } from '../../src/ipfix/index.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { ensureTools } from '../helpers/tools.js';
import { ROOT, SAMPLE_PCAP, SAMPLE_REGISTERED } from '../output/sample-records.js';
import { onText } from '../helpers/text-stream.js';

/** A UDP port free on 127.0.0.1 right now (nfcapd needs a number; the bind below retries on a clash). */
async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** nfcapd on a free loopback port; resolves once it reports it is listening. */
async function startNfcapd(dir: string): Promise<{ proc: ChildProcess; port: number; log: () => string }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const proc = spawn('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', dir, '-t', '3600'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    onText(proc.stdout!, (d) => (text += d));
    onText(proc.stderr!, (d) => (text += d));
    const ok = await new Promise<boolean>((resolve) => {
      const t = setInterval(() => {
        if (/Startup/.test(text)) done(true);
      }, 50);
      const done = (v: boolean) => {
        clearInterval(t);
        resolve(v);
      };
      proc.once('exit', () => done(false));
      setTimeout(() => done(/Bound to/.test(text)), 20_000);
    });
    if (ok) return { proc, port, log: () => text };
    proc.kill('SIGKILL');
    if (attempt >= 3) throw new Error(`nfcapd did not start: ${text}`);
  }
}

interface NfFlow {
  src4_addr?: string; dst4_addr?: string; src6_addr?: string; dst6_addr?: string;
  src_port: number; dst_port: number; proto: number;
  in_packets: number; in_bytes: number; out_packets: number; out_bytes: number;
  first: string; last: string;
}

const noTools = ensureTools('nfcapd', 'nfdump', 'tshark');

describe.skipIf(noTools !== null)(`IPFIX to a real collector${noTools ? ` — skipped: ${noTools}` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunnelscope-ipfix-'));
  let records: FlowRecord[] = [];
  const datagrams: Buffer[] = [];
  let nfLog = '';
  let cliErr = '';

  beforeAll(async () => {
    const nf = await startNfcapd(join(dir));
    // Relay: keep each datagram for tshark, pass it on to nfcapd unchanged.
    const relay = createSocket('udp4');
    await new Promise<void>((r) => relay.bind(0, '127.0.0.1', r));
    relay.on('message', (m) => {
      datagrams.push(m);
      relay.send(m, nf.port, '127.0.0.1');
    });
    // The CLI as an operator runs it: NDJSON on stdout, IPFIX to the collector.
    const cli = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'classify', SAMPLE_PCAP, '--registered', SAMPLE_REGISTERED, '--format', 'ndjson', '--ipfix', `udp://127.0.0.1:${relay.address().port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    onText(cli.stdout!, (d) => (stdout += d));
    onText(cli.stderr!, (d) => (cliErr += d));
    expect(await new Promise((r) => cli.once('exit', r))).toBe(0);
    records = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as FlowRecord);
    const sent = Number(/IPFIX: (\d+) records in (\d+) messages/.exec(cliErr)?.[2]); // the opening template message included
    for (let i = 0; i < 200 && datagrams.length < sent; i++) await new Promise((r) => setTimeout(r, 25));
    expect(datagrams.length).toBe(sent);
    await new Promise((r) => setTimeout(r, 300)); // let nfcapd take the last datagrams off its socket
    relay.close();
    // nfcapd writes its file when it stops.
    const exited = new Promise((r) => nf.proc.once('exit', r));
    nf.proc.kill('SIGTERM');
    await exited;
    nfLog = nf.log();
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('nfdump reads back every flow of `classify --ipfix` with its NDJSON record\'s addresses, ports, packets and bytes; no sequence error', () => {
    expect(cliErr).toMatch(/IPFIX: 40 records in \d+ messages to 127\.0\.0\.1:\d+\n/);
    expect(nfLog).toMatch(/Flows: 40, Packets: 1200, Bytes: \d+, Sequence Errors: 0/);
    const files = readdirSync(dir).filter((f) => f.startsWith('nfcapd.') && !f.includes('current'));
    expect(files.length).toBe(1);
    const flows = JSON.parse(execFileSync('nfdump', ['-r', join(dir, files[0]!), '-o', 'json'], { encoding: 'utf8' })) as NfFlow[];
    expect(flows.length).toBe(records.length);
    const key = (src: string, sp: number, dst: string, dp: number, proto: number) => `${src} ${sp} ${dst} ${dp} ${proto}`;
    const byKey = new Map(flows.map((f) => [key((f.src4_addr ?? f.src6_addr)!, f.src_port, (f.dst4_addr ?? f.dst6_addr)!, f.dst_port, f.proto), f]));
    const split = (t: string, ported: boolean): [string, number] => {
      if (!ported) return [t, 0];
      if (t.startsWith('[')) return [t.slice(1, t.indexOf(']')), Number(t.slice(t.indexOf(']') + 2))];
      return [t.slice(0, t.lastIndexOf(':')), Number(t.slice(t.lastIndexOf(':') + 1))];
    };
    for (const r of records) {
      const ported = r.transport === 'tcp' || r.transport === 'udp';
      const [sa, sp] = split(r.src, ported), [da, dp] = split(r.dst, ported);
      const proto = { tcp: 6, udp: 17, esp: 50 }[r.transport as 'tcp']!;
      const f = byKey.get(key(sa, sp, da, dp, proto));
      expect(f, `${r.transport} ${r.src} ${r.dst} in nfdump's output`).toBeDefined();
      expect([f!.in_packets, f!.in_bytes, f!.out_packets, f!.out_bytes]).toEqual([r.srcPackets, r.srcBytes, r.dstPackets, r.dstBytes]);
      expect(f!.in_packets + f!.out_packets).toBe(r.packets);
      expect(f!.in_bytes + f!.out_bytes).toBe(r.bytes);
      expect(f!.first).toBe(r.firstSeen.slice(0, 23));
      expect(f!.last).toBe(r.lastSeen.slice(0, 23));
    }
    expect(records.filter((r) => r.src.startsWith('[')).length).toBeGreaterThan(0);
  });

  it('tshark decodes the templates, the enterprise elements and applicationName', () => {
    const w = new PcapWriter();
    datagrams.forEach((d, i) => w.packet(1_767_225_600_000_000 + i, buildFrame({ src: '127.0.0.1', dst: '127.0.0.1', proto: 17, srcPort: 40000, dstPort: 4739, payload: d })));
    const pcap = join(dir, 'ipfix.pcap');
    writeFileSync(pcap, w.toBuffer());
    const fields = (f: string[], filter?: string) =>
      execFileSync('tshark', ['-r', pcap, ...(filter ? ['-Y', filter] : []), '-T', 'fields', '-E', 'separator=|', '-E', 'aggregator=,', ...f.flatMap((x) => ['-e', x])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .trimEnd()
        .split('\n');
    const tmpl = fields(['cflow.template_id', 'cflow.template_ipfix_field_pen'], 'cflow.template_id')[0]!.split('|');
    expect(tmpl[0]).toBe('256,257,258,259');
    expect(tmpl[1]!.split(',').filter((p) => p === String(DOCUMENTATION_PEN)).length).toBe(28); // 7 per template
    expect(tmpl[1]!.split(',').filter((p) => p === '29305').length).toBe(8); // RFC 5103 reverse counters
    // Portless flows (the sample's ESP) go out without port fields: only TCP/UDP records carry them, so no ESP
    // flow reaches a collector as port 0 (what it reads as ICMP type 0 code 0 for ICMP).
    const all = (f: string) => fields([f]).flatMap((l) => l.split(',')).filter(Boolean);
    expect(all('cflow.protocol').length).toBe(records.length);
    expect(all('cflow.dstport').length).toBe(records.filter((r) => r.transport === 'tcp' || r.transport === 'udp').length);
    expect(records.some((r) => r.transport === 'esp')).toBe(true);
    const names = fields(['cflow.appl_name']).flatMap((l) => l.split(',')).filter(Boolean);
    const want = records.filter((r) => r.label !== 'ordinary').map((r) => r.protocol!);
    expect(names.sort()).toEqual(want.sort());
    // Sequence numbers as tshark follows them: no gap reported.
    expect(fields(['cflow.sequence_analysis.expected_sn']).filter(Boolean)).toEqual([]);
    const seq = fields(['cflow.sequence']).map(Number);
    expect(seq[0]).toBe(0);
    expect(seq.length).toBe(datagrams.length);
  });
});
