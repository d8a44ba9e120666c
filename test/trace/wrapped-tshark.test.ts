/**
 * Wrappings a gateway receives traffic in, against Wireshark's dissectors: the sample capture's IP packets
 * rewrapped as NFLOG records (link type 239; both attribute byte orders, the packet attribute between others), as
 * pf log records (link type 117) and
 * as Geneve (UDP 6081, as AWS Gateway Load Balancer sends it: options, then the IP packet) and as VXLAN-GPE
 * (UDP 4790, the IP packet by next protocol) decode to the same
 * addresses, protocols and ports as tshark reads from the same file, and give the same flows as the original.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { CaptureReader } from '../../src/trace/reader.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { Decoder, newPacketView } from '../../src/trace/decode.js';
import { ensureTools } from '../helpers/tools.js';
import { geneve, ipv4, nflogAttr as tlv, pflogHeader, udp, vxlanGpe } from './decode-helpers.js';

const SAMPLE = join(import.meta.dirname, '..', '..', 'fixtures', 'sample.pcap');

/** Every Ethernet IP frame of the sample, its IP packet (and whether it is IPv4) wrapped by `wrap`. */
function rewrapSample(name: string, writer: PcapWriter, wrap: (ip: Uint8Array, v4: boolean) => Uint8Array): { path: string; frames: number } {
  let frames = 0;
  const reader = new CaptureReader('sample.pcap');
  reader.push(readFileSync(SAMPLE), (p) => {
    const f = p.data.subarray(p.offset, p.offset + p.capLen);
    const et = (f[12]! << 8) | f[13]!;
    if (et !== 0x0800 && et !== 0x86dd) return;
    writer.packet(p.tsUs, wrap(f.subarray(14), et === 0x0800));
    frames++;
  });
  reader.end();
  const path = join(mkdtempSync(join(tmpdir(), 'ts-wrapped-')), `${name}.pcap`);
  writeFileSync(path, writer.toBuffer());
  return { path, frames };
}

/** NFLOG records of group 5: a prefix before and a uid after the packet attribute. */
const nflogSample = (le: boolean) =>
  rewrapSample(`nflog-${le ? 'le' : 'be'}`, new PcapWriter({ linkType: 239, bigEndian: !le }), (ip, v4) =>
    Uint8Array.from([v4 ? 2 : 10, 0, 0, 5, ...tlv(10, [...Buffer.from('gw'), 0], le), ...tlv(9, ip, le), ...tlv(11, [0, 0, 0, 0], le)]));

/** pf's log records (`tcpdump -i pflog0` on OpenBSD/FreeBSD/pfSense): a 61-byte header padded to 64, interface em0. */
const pflogSample = () =>
  rewrapSample('pflog', new PcapWriter({ linkType: 117 }), (ip, v4) => Uint8Array.from([...pflogHeader(v4 ? 2 : 28), ...ip])); // 28: AF_INET6 on FreeBSD

/** The IP packet, wrapped by `wrap`, in UDP from a load balancer (192.0.2.1:50000) to an appliance (192.0.2.2:port). */
const udpWrapped = (name: string, port: number, wrap: (ip: Uint8Array, v4: boolean) => Uint8Array) =>
  rewrapSample(name, new PcapWriter({ linkType: 101 }), (ip, v4) => ipv4('192.0.2.1', '192.0.2.2', 17, udp(50000, port, wrap(ip, v4))));

/** Geneve (UDP 6081) with three 8-byte options (the shape of AWS GWLB's), then the packet. */
const geneveSample = () =>
  udpWrapped('geneve', 6081, (ip, v4) =>
    geneve(ip, v4 ? 0x0800 : 0x86dd, { options: [[1, 2, 3, 4, 5, 6, 7, 8], [0, 0, 0, 0, 9, 9, 9, 9], [0, 0, 0, 0, 0, 0, 0, 7]] }));

/** VXLAN-GPE (UDP 4790): I and P flags, next protocol IPv4 (1) or IPv6 (2). */
const gpeSample = () => udpWrapped('vxlan-gpe', 4790, (ip, v4) => vxlanGpe(ip, v4 ? 1 : 2));

function flows(path: string): string[] {
  const s = createClassifier({}).session();
  const out: FlowRecord[] = [];
  s.on('flow', (r: FlowRecord) => out.push(r));
  const reader = new CaptureReader(path);
  reader.push(readFileSync(path), (p) => s.pushRaw(p));
  reader.end();
  s.end();
  return out.map((r) => `${r.transport} ${r.src} ${r.dst} ${r.packets} ${r.label} ${r.protocol}${r.encap ? ` in ${r.encap}` : ''}`).sort();
}

const noTshark = ensureTools('tshark');

describe('NFLOG, PFLOG, Geneve and VXLAN-GPE captures', () => {
  it('give the same flows and verdicts as the Ethernet original (NFLOG in either attribute byte order, PFLOG; Geneve and VXLAN-GPE inner flows)', () => {
    const want = flows(SAMPLE);
    for (const le of [true, false]) expect(flows(nflogSample(le).path)).toEqual(want);
    expect(flows(pflogSample().path)).toEqual(want);
    expect(flows(geneveSample().path)).toEqual(want.map((l) => `${l} in geneve`));
    expect(flows(gpeSample().path)).toEqual(want.map((l) => `${l} in vxlan`));
  });

  it.skipIf(noTshark !== null)(`decode like tshark's NFLOG, PFLOG, Geneve and VXLAN-GPE dissectors, packet by packet${noTshark ? ` — skipped: ${noTshark}` : ''}`, () => {
    // An NFLOG file is in its writer's byte order; tshark reads the attributes the same way.
    for (const [{ path, frames }, inner] of [[nflogSample(true), false], [pflogSample(), false], [geneveSample(), true], [gpeSample(), true]] as const) sameAsTshark(path, frames, inner);
  });
});

/**
 * Our decoder's innermost addresses, protocol and ports of each packet equal tshark's. `inner`: the packets are
 * in a tunnel, so tshark's last occurrence of each field is the inner packet's, and an inner IPv6 packet's
 * addresses are its ipv6 fields (the ip ones are the carrier's).
 */
function sameAsTshark(path: string, frames: number, inner: boolean): void {
  {
    const fields = ['ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'ip.proto', 'ipv6.nxt', 'tcp.srcport', 'udp.srcport', 'tcp.dstport', 'udp.dstport'];
    const args = ['-r', path, '-T', 'fields', '-E', 'separator=/t', '-E', `occurrence=${inner ? 'l' : 'f'}`, ...fields.flatMap((f) => ['-e', f])];
    const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const theirs = out.trim().split('\n').map((l) => {
      const [s4, s6, d4, d6, p4, p6, ts, us, td, ud] = l.split('\t');
      const ip = (v4: string | undefined, v6: string | undefined): string => (inner ? v6 || v4 : v4 || v6) ?? '';
      const proto = ip(p4, p6);
      // An inner packet without ports (ESP): the last udp port tshark names is the carrier's.
      const ports = proto === '6' || proto === '17';
      return `${ip(s4, s6)} ${ip(d4, d6)} ${proto} ${ports ? ts || us : ''} ${ports ? td || ud : ''}`;
    });
    expect(theirs).toHaveLength(frames);
    const d = new Decoder({});
    const v = newPacketView();
    const ours: string[] = [];
    const reader = new CaptureReader(path);
    reader.push(readFileSync(path), (p) => {
      expect(d.decode(p, v)).toBe(true);
      const addr = (which: 'src' | 'dst'): string => {
        if (v.ipVersion === 4) { const a = which === 'src' ? v.src4 : v.dst4; return [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.'); }
        const o = which === 'src' ? v.srcOff : v.dstOff;
        const parts: string[] = [];
        for (let i = 0; i < 16; i += 2) parts.push(((v.data[o + i]! << 8) | v.data[o + i + 1]!).toString(16));
        return parts.join(':');
      };
      const ports = v.proto === 6 || v.proto === 17;
      ours.push(`${addr('src')} ${addr('dst')} ${v.proto} ${ports ? v.srcPort : ''} ${ports ? v.dstPort : ''}`);
    });
    reader.end();
    // tshark writes IPv6 compressed (::); compare expanded forms.
    const expand = (line: string): string => line.split(' ').map((t) => (t.includes(':') ? expand6(t) : t)).join(' ');
    expect(theirs.map(expand)).toEqual(ours.map(expand));
  }
}

function expand6(a: string): string {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const mid = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...mid, ...t].map((x) => parseInt(x, 16).toString(16)).join(':');
}
