/**
 * LINKTYPE_NFLOG against Wireshark's dissector: the sample capture's IP packets rewrapped as NFLOG records (both
 * attribute byte orders, packet attribute between others) decode to the same addresses, protocols and ports as
 * tshark reads from the same file, and give the same flows as the Ethernet original.
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

const SAMPLE = join(import.meta.dirname, '..', '..', 'fixtures', 'sample.pcap');

function tlv(type: number, value: Uint8Array | number[], le: boolean): number[] {
  const len = 4 + value.length;
  const head = le ? [len & 255, len >> 8, type & 255, type >> 8] : [len >> 8, len & 255, type >> 8, type & 255];
  return [...head, ...Array.from(value), ...new Array<number>((4 - (len % 4)) % 4).fill(0)];
}

/** Every Ethernet IP frame of the sample as an NFLOG record (group 5, a prefix before and a uid after the packet). */
function nflogSample(le: boolean): { path: string; frames: number } {
  const raw = readFileSync(SAMPLE);
  const w = new PcapWriter({ linkType: 239, bigEndian: !le });
  let frames = 0;
  const reader = new CaptureReader('sample.pcap');
  reader.push(raw, (p) => {
    const f = p.data.subarray(p.offset, p.offset + p.capLen);
    const et = (f[12]! << 8) | f[13]!;
    if (et !== 0x0800 && et !== 0x86dd) return;
    const ip = f.subarray(14);
    const rec = Uint8Array.from([et === 0x0800 ? 2 : 10, 0, 0, 5, ...tlv(10, [...Buffer.from('gw'), 0], le), ...tlv(9, ip, le), ...tlv(11, [0, 0, 0, 0], le)]);
    w.packet(p.tsUs, rec);
    frames++;
  });
  reader.end();
  const path = join(mkdtempSync(join(tmpdir(), 'ts-nflog-')), `sample-${le ? 'le' : 'be'}.pcap`);
  writeFileSync(path, w.toBuffer());
  return { path, frames };
}

function flows(path: string): string[] {
  const s = createClassifier({}).session();
  const out: FlowRecord[] = [];
  s.on('flow', (r: FlowRecord) => out.push(r));
  const reader = new CaptureReader(path);
  reader.push(readFileSync(path), (p) => s.pushRaw(p));
  reader.end();
  s.end();
  return out.map((r) => `${r.transport} ${r.src} ${r.dst} ${r.packets} ${r.label} ${r.protocol}`).sort();
}

const noTshark = ensureTools('tshark');

describe('NFLOG captures', () => {
  it('give the same flows and verdicts as the Ethernet original, in either attribute byte order', () => {
    const want = flows(SAMPLE);
    for (const le of [true, false]) {
      const { path } = nflogSample(le);
      expect(flows(path)).toEqual(want);
    }
  });

  it.skipIf(noTshark !== null)(`decode like tshark's NFLOG dissector, packet by packet${noTshark ? ` — skipped: ${noTshark}` : ''}`, () => {
    // A file is in its writer's byte order; tshark reads the attributes the same way.
    const { path, frames } = nflogSample(true);
    const fields = ['ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'ip.proto', 'ipv6.nxt', 'tcp.srcport', 'udp.srcport', 'tcp.dstport', 'udp.dstport'];
    const out = execFileSync('tshark', ['-r', path, '-T', 'fields', '-E', 'separator=,', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const theirs = out.trim().split('\n').map((l) => {
      const [s4, s6, d4, d6, p4, p6, ts, us, td, ud] = l.split(',');
      // The outer header's fields (a tunnel's inner ones follow after a comma inside one field).
      const first = (x: string | undefined): string => (x ?? '').split(';')[0]!;
      return `${first(s4) || first(s6)} ${first(d4) || first(d6)} ${first(p4) || first(p6)} ${first(ts) || first(us)} ${first(td) || first(ud)}`;
    });
    expect(theirs).toHaveLength(frames);
    const d = new Decoder({ maxTunnelDepth: 0 });
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
  });
});

function expand6(a: string): string {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const mid = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...mid, ...t].map((x) => parseInt(x, 16).toString(16)).join(':');
}
