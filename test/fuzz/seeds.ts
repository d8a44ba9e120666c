/**
 * Seeds the fuzz campaigns mutate. A committed set that needs nothing outside the repo — captures built here (pcap in
 * both byte orders and both time units, pcapng with several sections, interfaces, if_tsresol/if_tsoffset options and
 * every packet block kind) and the head of fixtures/sample.pcap — plus, when the dev corpus is beside the clone
 * (../shared/corpus, as in CI), its captures up to 300 KB. Frames for the session campaign are the seeds' packets.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { synthesize } from '../../src/synth/generate.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { readCaptureBuffer } from '../../src/trace/reader.js';
import { PCAP_DIR } from '../helpers/corpus.js';
import { PcapngWriter } from '../helpers/pcapng-writer.js';
import { walkUnits } from '../oracles/capture-oracle.js';
import { concat } from '../detect/udp-vpn-builders.js';
import { segmentsAt, serverFlight, SAN_ONLY_DER, VPN_SAN_DER } from '../detect/names/cert-builders.js';
import { helloBody, sniExt, tlsRecord } from '../detect/names/builders.js';
import { tcpConnection } from '../classify/flow-builders.js';

export { concat };

export const ROOT = resolve(import.meta.dirname, '..', '..');

export interface Seed {
  name: string;
  bytes: Uint8Array;
}

const CORPUS_MAX_BYTES = 300 * 1024;

function frame(i: number, payload: Uint8Array): Uint8Array {
  const v6 = i % 3 === 0;
  return buildFrame({
    src: v6 ? '2001:db8::1' : '10.0.0.1',
    dst: v6 ? `2001:db8::${(i % 7) + 2}` : `192.0.2.${(i % 7) + 2}`,
    proto: i % 2 === 0 ? 17 : 6,
    srcPort: 40000 + (i % 5),
    dstPort: [53, 443, 51820, 1194, 500][i % 5]!,
    payload,
  });
}

/** The head of fixtures/sample.pcap, cut at a record boundary: every protocol of the synthetic mix, 40 KB. */
function sampleHead(): Uint8Array {
  const buf = new Uint8Array(readFileSync(join(ROOT, 'fixtures', 'sample.pcap')));
  const end = walkUnits(buf).filter((u) => u.end <= 40_000).at(-1)!.end;
  return buf.slice(0, end);
}

/** A TLS 1.2 connection whose server flight (a real leaf with a SAN, then its chain) spans three segments. */
function certSplit(): Uint8Array {
  const w = new PcapWriter({ linkType: 1 });
  const flight = serverFlight([VPN_SAN_DER, SAN_ONLY_DER]);
  const payloads: { dir: 0 | 1; payload: Uint8Array }[] = [{ dir: 0, payload: tlsRecord(helloBody({ exts: [sniExt('portal.example.net')] })) }];
  for (const seg of segmentsAt(flight, [536, 1072])) payloads.push({ dir: 1, payload: seg });
  for (const p of tcpConnection(50321, 443, payloads, 1_700_000_000)) w.packet(Math.round(p.t * 1e6), buildFrame(p));
  return w.toBuffer();
}

function builtSeeds(): Seed[] {
  const payloads = [new Uint8Array(0), Uint8Array.of(1, 0, 0, 0, 9, 9, 9, 9), new Uint8Array(148).fill(7), new Uint8Array(300).map((_, i) => i & 255)];
  const le = new PcapWriter({ linkType: 1 });
  for (let i = 0; i < 12; i++) le.packet(1_700_000_000_000_000 + i * 1000, frame(i, payloads[i % payloads.length]!));
  const be = new PcapWriter({ linkType: 1, bigEndian: true, nanos: true });
  for (let i = 0; i < 8; i++) {
    const f = frame(i + 1, payloads[(i + 1) % payloads.length]!);
    be.packet(1_700_000_000_000_000 + i * 1_000_123, f, f.length + 4); // cut by snaplen: original length larger
  }
  const ng = new PcapngWriter()
    .section()
    .idb({ linkType: 1, tsresol: 9 })
    .idb({ linkType: 101, tsresol: 0x86, tsoffset: 5 })
    .epb(0, 1_700_000_000_000_000_000n, frame(0, payloads[3]!))
    .block(4, new Uint8Array(16)) // name resolution
    .epb(0, 1_700_000_000_500_000_000n, frame(1, payloads[2]!))
    .spb(frame(2, payloads[1]!))
    .pb(0, 1_700_000_001_000_000_000n, frame(3, payloads[3]!))
    .block(5, new Uint8Array(20)) // interface statistics
    .section({ bigEndian: true })
    .idb({ linkType: 1 })
    .epb(0, 1_700_000_002_000_000n, frame(4, payloads[2]!))
    .block(0xbad, new Uint8Array(12)) // custom
    .toBuffer();
  const synth: Uint8Array[] = [];
  synthesize({ packets: 600, flows: 40, vpnShare: 0.5, registeredShare: 0.5, seed: 18 }, (c) => synth.push(Uint8Array.from(c)));
  return [
    { name: 'built-le-us.pcap', bytes: le.toBuffer() },
    { name: 'built-be-ns.pcap', bytes: be.toBuffer() },
    { name: 'built-sections.pcapng', bytes: ng },
    { name: 'synth-600.pcap', bytes: concat(...synth) },
    { name: 'sample-head.pcap', bytes: sampleHead() },
    { name: 'tls12-cert-split.pcap', bytes: certSplit() },
  ];
}

function corpusSeeds(): Seed[] {
  if (!existsSync(PCAP_DIR)) return [];
  return readdirSync(PCAP_DIR)
    .filter((f) => /\.(pcap|pcapng|cap)$/.test(f) && statSync(join(PCAP_DIR, f)).size <= CORPUS_MAX_BYTES)
    .sort()
    .map((f) => ({ name: `corpus/${f}`, bytes: new Uint8Array(readFileSync(join(PCAP_DIR, f))) }));
}

let cached: Seed[] | null = null;
/** Every capture seed: the built ones first, then the corpus (when present). */
export function captureSeeds(): Seed[] {
  return (cached ??= [...builtSeeds(), ...corpusSeeds()]);
}

/** Whether the dev corpus contributed seeds (CI has it beside the clone; a bare clone runs the built seeds). */
export function corpusPresent(): boolean {
  return captureSeeds().some((s) => s.name.startsWith('corpus/'));
}

export interface SeedFrame {
  bytes: Uint8Array;
  linkType: number;
  tsUs: number;
}

let framesCached: SeedFrame[] | null = null;
/** The packets of every capture seed, as frames (bytes, link type, time). */
export function seedFrames(): SeedFrame[] {
  if (framesCached) return framesCached;
  const out: SeedFrame[] = [];
  for (const s of captureSeeds()) {
    try {
      readCaptureBuffer(s.bytes, s.name, (p) => {
        if (out.length < 200_000) out.push({ bytes: p.data.slice(p.offset, p.offset + p.capLen), linkType: p.linkType, tsUs: p.tsUs });
      });
    } catch {
      /* a seed that ends badly still gave its packets */
    }
  }
  return (framesCached = out);
}

/** Seed list texts: the sample registration list, the bundled domain list's head, small hand-made ones. */
export function listSeeds(): { name: string; kind: 'cidr' | 'domain'; text: string }[] {
  const reg = readFileSync(join(ROOT, 'fixtures', 'sample-registered.txt'), 'utf8');
  const dom = readFileSync(join(ROOT, 'data', 'vpn-domains.txt'), 'utf8').split('\n').slice(0, 120).join('\n');
  return [
    { name: 'sample-registered.txt', kind: 'cidr', text: reg },
    { name: 'vpn-domains-head.txt', kind: 'domain', text: dom },
    { name: 'cidr-mixed.txt', kind: 'cidr', text: '# operator list\r\n10.0.0.0/8,acme\r\n2001:db8::/32,beta # v6\n192.0.2.0/24\n::ffff:198.51.100.0/120,gamma\n' },
    { name: 'domains-mixed.txt', kind: 'domain', text: 'nordvpn.com,NordVPN\n*.vpn.example,Example\n\n# comment\nxn--bcher-kva.example,Bücher\n' },
  ];
}
