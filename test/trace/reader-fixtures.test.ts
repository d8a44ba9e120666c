/** The committed fixtures equal a fresh generation, and read + decode to what their generator says. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Decoder, newPacketView } from '../../src/trace/decode.js';
import { readCaptureFile } from '../../src/trace/reader.js';
import { ENCAP_NAMES, type RawPacket } from '../../src/trace/types.js';
import { sectionsPcapng, tunnelPackets, tunnelsPcap } from './fixture-gen.js';

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'trace');
const FIXTURES: [string, () => Uint8Array][] = [
  ['tunnels.pcap', tunnelsPcap],
  ['sections.pcapng', sectionsPcapng],
];

describe('trace fixtures', () => {
  for (const [name, gen] of FIXTURES) {
    it(`${name} is the generator's output (UPDATE_FIXTURES=1 rewrites it)`, () => {
      const path = join(DIR, name);
      const fresh = gen();
      if (process.env.UPDATE_FIXTURES === '1' || !existsSync(path)) {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, fresh);
      }
      expect(Buffer.from(readFileSync(path)).equals(Buffer.from(fresh))).toBe(true);
    });
  }

  it('tunnels.pcap decodes each packet as its generator describes', async () => {
    const want = tunnelPackets();
    const d = new Decoder();
    const v = newPacketView();
    const got: unknown[] = [];
    await readCaptureFile(join(DIR, 'tunnels.pcap'), (p: RawPacket) => {
      got.push(d.decode(p, v) ? { encap: ENCAP_NAMES[v.encap] ?? null, proto: v.proto, srcPort: v.srcPort, dstPort: v.dstPort, vlan: v.vlan } : null);
    }, { chunkSize: 100 });
    expect(got).toEqual(want.map((w) => w.expect));
    expect(d.stats.malformed).toEqual({ 'non-ip': 1 });
  });

  it('sections.pcapng reads across byte orders, units and block kinds', async () => {
    const d = new Decoder();
    const v = newPacketView();
    const got: [number, number, number][] = [];
    const stats = await readCaptureFile(join(DIR, 'sections.pcapng'), (p) => {
      expect(d.decode(p, v)).toBe(true);
      got.push([p.linkType, p.tsUs, v.proto]);
    }, { chunkSize: 33 });
    const T0 = 1_700_000_000_000_000;
    expect(got).toEqual([
      [1, T0, 17],
      [101, T0 + 1000, 6],
      [1, T0 + 1000, 6], // SPB: interface 0, time of the previous packet
      [276, 3_000_000, 17],
      [276, 5_500_000, 17],
    ]);
    expect(stats).toMatchObject({ packets: 5, interfaces: 3, skippedBlocks: 2, unknownBlocks: 1 });
  });
});
