import { describe, expect, it } from 'vitest';
import { nebula } from '../../src/detect/nebula.js';
import { IPPROTO_UDP } from '../../src/detect/types.js';
import { concat, hex, nebulaStage1, putU32be, randomBytes, rng, runFlow, type Pkt } from './udp-vpn-builders.js';

const run = (pk: Pkt[]) => runFlow(nebula, IPPROTO_UDP, 4242, 4242, pk);
const rules = (ev: { rule: string; strength: string; packet?: number }[]) => ev.map((e) => [e.rule, e.strength, e.packet]);

const stage1 = nebulaStage1;
function header(b0: number, rx: number, ctr: number, len: number, r: () => number): Uint8Array {
  const b = randomBytes(len, r);
  b[0] = b0;
  b[1] = 0;
  b[2] = 0;
  b[3] = 0;
  putU32be(b, 4, rx);
  putU32be(b, 8, 0);
  putU32be(b, 12, ctr);
  return b;
}

describe('nebula detector', () => {
  it('spec worked example stage 1 (354 bytes) is strong on packet 0; stage 2 adds a medium reply item', () => {
    const r = rng(1);
    const s1 = stage1(r);
    expect(s1.length).toBe(354);
    const ev = run([{ dir: 0, bytes: s1 }, { dir: 1, bytes: header(0x10, 0x4b2c1a07, 2, 144, r) }]);
    expect(rules(ev)).toEqual([['nebula.stage1', 'strong', 0], ['nebula.stage2', 'medium', 1]]);
    expect(ev[0]!.reason).toContain('4b2c1a07');
    expect(ev[0]!.protocol).toBe('nebula');
  });

  it('stage 1 whose protobuf walk does not end at the last byte, or without InitiatorIndex, is rejected', () => {
    const r = rng(2);
    expect(run([{ dir: 0, bytes: concat(stage1(r), new Uint8Array([0])) }])).toEqual([]);
    expect(run([{ dir: 0, bytes: stage1(r).subarray(0, 353) }])).toEqual([]);
    const noIdx = concat(hex('10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01'), randomBytes(64, r), hex('0a 05 0a 03 01 02 03'));
    expect(run([{ dir: 0, bytes: noIdx }])).toEqual([]);
    const bad = stage1(r);
    bad[15] = 2; // counter 2 without a remote index is not stage 1
    expect(run([{ dir: 0, bytes: bad }])).toEqual([]);
  });

  it('mid-stream data: four packets per direction, constant remote index, rising counters → strong', () => {
    const r = rng(3);
    const pk: Pkt[] = [];
    for (let k = 0; k < 4; k++) {
      pk.push({ dir: 0, bytes: header(0x11, 0xaabbccdd, 100 + k, 80 + k * 16, r) });
      pk.push({ dir: 1, bytes: header(0x11, 0x11223344, 7 + k, 64, r) });
    }
    expect(rules(run(pk))).toEqual([['nebula.data', 'strong', 7]]);
    expect(run(pk.slice(0, 7))).toEqual([]);
    const flat = pk.map((p) => ({ dir: p.dir, bytes: header(0x11, 5, 9, 64, r) }));
    expect(run(flat)).toEqual([]);
    // Every packet twice (a mirror port's copy): still strong, once.
    expect(rules(run(pk.flatMap((p) => [p, p])))).toEqual([['nebula.data', 'strong', 14]]);
  });

  it('a lone 11 00 00 00 packet, DNS with ID 0x1100 and random bytes on 4242 give nothing', () => {
    const r = rng(4);
    expect(run([{ dir: 0, bytes: header(0x11, 1, 3, 64, r) }])).toEqual([]);
    const dns = hex('11 00 00 00 00 01 00 00 00 00 00 00 03 66 6f 6f 00 00 01 00 01');
    expect(run([0, 1, 0, 1, 0, 1, 0, 1].map((d) => ({ dir: d, bytes: dns })))).toEqual([]);
    expect(run([0, 1, 0, 1].map((d, k) => ({ dir: d, bytes: randomBytes(20 + k * 300, r) })))).toEqual([]);
  });
});
