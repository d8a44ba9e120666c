import { describe, expect, it } from 'vitest';
import { esp } from '../../src/detect/esp.js';
import { IPPROTO_ESP, type Evidence } from '../../src/detect/types.js';
import { randomBytes, rng, runFlow, type Pkt } from './udp-vpn-builders.js';
import { espPacket } from './ipsec-builders.js';

const run = (pk: Pkt[]): Evidence[] => runFlow(esp, IPPROTO_ESP, 0, 0, pk);
const rules = (ev: Evidence[]) => ev.map((e) => `${e.rule}@${e.packet}:${e.strength}`);

describe('esp (IP protocol 50)', () => {
  it('a single well-formed packet gives two distinct medium items (protocol number + header) at packet 0', () => {
    const ev = run([{ dir: 0, bytes: espPacket(0xff3b6603, 0x42, 68, rng(1)) }]);
    expect(rules(ev)).toEqual(['esp.ipproto@0:medium', 'esp.header@0:medium']);
    for (const e of ev) expect(e).toMatchObject({ source: 'esp', protocol: 'ipsec', offset: 0 });
    expect(ev[1]!.reason).toContain('SPI 0xff3b6603');
    expect(ev[1]!.reason).toContain('sequence number 66');
  });

  it('three packets of one SPI with +1 sequence numbers are strong at the third; single items only once', () => {
    const r = rng(2);
    const ev = run([1, 2, 3, 4].map((s) => ({ dir: 0, bytes: espPacket(0x0424565a, s, 1332, r) })));
    expect(rules(ev)).toEqual(['esp.ipproto@0:medium', 'esp.header@0:medium', 'esp.sequence@2:strong']);
    expect(ev[2]!.reason).toContain('sequence numbers 1…3');
  });

  it('per direction: interleaved directions each count their own run', () => {
    const r = rng(3);
    const pk: Pkt[] = [];
    for (let s = 10; s < 13; s++) pk.push({ dir: 0, bytes: espPacket(0x1111, s, 100, r) }, { dir: 1, bytes: espPacket(0x2222, s + 100, 100, r) });
    expect(rules(run(pk)).filter((x) => x.startsWith('esp.sequence'))).toEqual(['esp.sequence@4:strong', 'esp.sequence@5:strong']);
  });

  it('gaps of a few lost packets, reordering and duplicates keep a run (reference: "gaps/small reorder allowed")', () => {
    const r = rng(5);
    const seqs = (list: number[]) => run(list.map((s) => ({ dir: 0, bytes: espPacket(0x51a0c4e2, s, 120, r) })));
    // [sequence numbers in arrival order, the packet the strong item fires on (once)]
    const cases: [number[], number][] = [[[1, 2, 4], 2], [[100, 102, 101], 2], [[7, 9, 9, 8], 3], [[1000, 1004, 1003], 2], [[20, 26, 24], 2], [[1, 2, 3, 3, 3], 2]];
    for (const [list, at] of cases) {
      const ev = seqs(list);
      expect(rules(ev).filter((x) => x.startsWith('esp.sequence')), String(list)).toEqual([`esp.sequence@${at}:strong`]);
    }
    expect(seqs([1, 2, 4]).find((e) => e.rule === 'esp.sequence')!.reason).toContain('3 distinct sequence numbers within 1…4 (lost packets or reordering)');
    expect(seqs([1, 2, 3]).find((e) => e.rule === 'esp.sequence')!.reason).toContain('sequence numbers 1…3 rising by 1');
    // More than 4 numbers skipped, a counter stepping by 5, a repeated number alone, or a zero: no run.
    for (const list of [[1, 2, 40], [1000, 1033, 1001], [20, 27, 24], [3, 8, 13], [5, 5, 5, 5], [0, 1, 2]]) {
      expect(seqs(list).some((e) => e.rule === 'esp.sequence'), String(list)).toBe(false);
    }
  });

  it('reserved SPIs, zero sequence numbers, big jumps and SPI changes are not structure', () => {
    const r = rng(4);
    expect(rules(run([{ dir: 0, bytes: espPacket(0x80, 1, 64, r) }]))).toEqual(['esp.ipproto@0:medium']);
    expect(run([{ dir: 0, bytes: espPacket(0, 1, 64, r) }])).toEqual([]);
    expect(rules(run([{ dir: 0, bytes: espPacket(0x1234, 0, 64, r) }]))).toEqual(['esp.ipproto@0:medium']);
    expect(rules(run([{ dir: 0, bytes: espPacket(0x1234, 5, 11, r) }]))).toEqual(['esp.ipproto@0:medium']);
    const gap = run([1, 2, 40].map((s) => ({ dir: 0, bytes: espPacket(0x1234, s, 64, r) })));
    expect(gap.some((e) => e.strength === 'strong')).toBe(false);
    const spis = run([0x1234, 0x1234, 0x1235].map((spi, k) => ({ dir: 0, bytes: espPacket(spi, k + 1, 64, r) })));
    expect(spis.some((e) => e.strength === 'strong')).toBe(false);
  });

  it('SPIs 1–255 (manually keyed SAs): the sequence relation proves ESP (RFC 4303 §2.2); a lone packet does not', () => {
    const r = rng(6);
    for (const spi of [1, 0x05, 0xff]) {
      const ev = run([1, 2, 3].map((s) => ({ dir: 0, bytes: espPacket(spi, s, 96, r) })));
      expect(rules(ev)).toEqual(['esp.ipproto@0:medium', 'esp.sequence@2:strong']);
      expect(ev[1]!.reason).toContain('reserved range 1–255');
    }
    // Mid-stream counters, both directions with their own small SPIs.
    const pk: Pkt[] = [];
    for (let s = 7000; s < 7003; s++) pk.push({ dir: 0, bytes: espPacket(0x10, s, 80, r) }, { dir: 1, bytes: espPacket(0x11, s + 9, 80, r) });
    expect(rules(run(pk)).filter((x) => x.startsWith('esp.sequence'))).toEqual(['esp.sequence@4:strong', 'esp.sequence@5:strong']);
    // Look-alikes: a small SPI whose counter does not step by 1, or changes; SPI 0.
    expect(run([1, 5, 9].map((s) => ({ dir: 0, bytes: espPacket(0x05, s, 96, r) }))).some((e) => e.strength === 'strong')).toBe(false);
    expect(run([0x05, 0x05, 0x06].map((spi, k) => ({ dir: 0, bytes: espPacket(spi, k + 1, 96, r) }))).some((e) => e.strength === 'strong')).toBe(false);
    expect(run([1, 2, 3].map((s) => ({ dir: 0, bytes: espPacket(0, s, 96, r) })))).toEqual([]);
  });

  it('short packets and random payloads never throw and never give strong', () => {
    const r = rng(5);
    expect(run([{ dir: 0, bytes: new Uint8Array(3) }])).toEqual([]);
    for (let f = 0; f < 300; f++) {
      const pk: Pkt[] = [];
      for (let k = 0; k < 8; k++) pk.push({ dir: r() & 1, bytes: randomBytes((r() << 3) % 1500, r) });
      expect(run(pk).filter((e) => e.strength === 'strong')).toEqual([]);
    }
  });
});

describe('esp evidence under the evidence combination', () => {
  it('a lone ESP packet (e.g. a one-packet SA seen inside GTP) is a VPN verdict: two medium items of different rules', async () => {
    const { combine } = await import('../../src/classify/combine.js');
    const ev = run([{ dir: 0, bytes: espPacket(0xff3b6603, 0x42, 68, rng(9)) }]);
    expect(combine(ev)).toMatchObject({ isVpn: true, protocol: 'ipsec' });
    // A reserved SPI leaves only the protocol-number item: not enough alone.
    expect(combine(run([{ dir: 0, bytes: espPacket(0x80, 1, 68, rng(9)) }])).isVpn).toBe(false);
  });
});
