/**
 * Every capture of the dev corpus reads without a TraceFormatError, whole or in odd-sized chunks, and the
 * decoder finds the tunnelled and VLAN-tagged flows the corpus truth lists (inner addresses, encapsulation
 * name). Per-reason decode failures are printed for the report.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { Decoder, newPacketView } from '../../src/trace/decode.js';
import { readCaptureBuffer, readCaptureFile, readCaptureFileSync } from '../../src/trace/reader.js';
import { ENCAP_NAMES, type PacketView } from '../../src/trace/types.js';

const DIR = '/work/shared/corpus/pcap/';
const TRUTH = '/work/shared/corpus/truth.ndjson';
const have = existsSync(DIR) && existsSync(TRUTH);

interface Truth {
  pcap: string;
  transport: string;
  src: string;
  dst: string;
  vlan?: number;
  encap?: string;
}

function ipText(v: PacketView, off: number): string {
  const bytes = Array.from(v.data.subarray(off, off + (v.ipVersion === 4 ? 4 : 16)));
  const a = ipaddr.fromByteArray(bytes);
  return a.kind() === 'ipv6' ? (a as ipaddr.IPv6).toRFC5952String() : a.toString();
}

function hostOf(endpoint: string): string {
  if (endpoint.startsWith('[')) return endpoint.slice(1, endpoint.indexOf(']'));
  const parts = endpoint.split(':');
  return parts.length === 2 ? parts[0]! : endpoint;
}

describe.skipIf(!have)('dev corpus', () => {
  const files = have ? readdirSync(DIR).sort() : [];
  const truth: Truth[] = have ? readFileSync(TRUTH, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Truth) : [];

  it('reads every capture without a format error, identically whole and chunked', async () => {
    const failures: string[] = [];
    const total = new Decoder();
    const v = newPacketView();
    for (const f of files) {
      const buf = new Uint8Array(readFileSync(DIR + f));
      const sig: number[] = [];
      const d = new Decoder();
      try {
        readCaptureBuffer(buf, f, (p) => {
          sig.push(p.capLen, p.tsUs);
          total.decode(p, v);
          d.decode(p, v);
        });
        const sig2: number[] = [];
        await readCaptureFile(DIR + f, (p) => sig2.push(p.capLen, p.tsUs), { chunkSize: 4093 });
        expect(sig2).toEqual(sig);
        const sig3: number[] = [];
        readCaptureFileSync(DIR + f, (p) => sig3.push(p.capLen, p.tsUs), { chunkSize: 4093 });
        expect(sig3).toEqual(sig);
      } catch (e) {
        failures.push(`${f}: ${(e as Error).message}`);
      }
      if (Object.keys(d.stats.malformed).length > 0) console.log(`decode failures ${f}: ${JSON.stringify(d.stats.malformed)}`);
    }
    console.log(`corpus: ${files.length} captures, ${JSON.stringify(total.stats)}`);
    expect(failures).toEqual([]);
    const failed = Object.values(total.stats.malformed).reduce((a, b) => a + b, 0);
    expect(failed / (failed + total.stats.decoded)).toBeLessThan(0.01);
  });

  it('finds every truth flow seen inside GTP/VXLAN/CAPWAP/GRE by its inner addresses, and VLAN ids', () => {
    const want = truth.filter((t) => t.encap !== undefined || t.vlan !== undefined);
    expect(want.length).toBeGreaterThan(0);
    const byFile = new Map<string, Truth[]>();
    for (const t of want) byFile.set(t.pcap, [...(byFile.get(t.pcap) ?? []), t]);
    const missing: string[] = [];
    for (const [f, ts] of byFile) {
      const seen = new Set<string>();
      const d = new Decoder();
      const v = newPacketView();
      readCaptureBuffer(new Uint8Array(readFileSync(DIR + f)), f, (p) => {
        if (!d.decode(p, v)) return;
        const a = ipText(v, v.srcOff), b = ipText(v, v.dstOff);
        const key = [a, b].sort().join(' ');
        // The truth names GTP/CAPWAP/VXLAN/GRE only (nDPI does not mark IP-in-IP): no encap field = any.
        for (const enc of [ENCAP_NAMES[v.encap] ?? '-', '*']) {
          seen.add(`${key} ${enc} ${v.vlan}`);
          seen.add(`${key} ${enc} any`);
        }
      });
      for (const t of ts) {
        const key = [hostOf(t.src), hostOf(t.dst)].sort().join(' ');
        const enc = t.encap?.toLowerCase() ?? '*';
        if (!seen.has(`${key} ${enc} ${t.vlan ?? 'any'}`)) missing.push(`${f}: ${t.transport} ${t.src} ${t.dst} encap=${enc} vlan=${t.vlan ?? '-'}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
