import { describe, expect, it } from 'vitest';
import { tinc, parseIdLine } from '../../src/detect/tinc.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/detect/types.js';
import { LimitedFlowView, ascii, concat, hex, randomBytes, rng, runFlow, type Pkt } from './udp-vpn-builders.js';

const run = (pk: Pkt[]) => runFlow(tinc, IPPROTO_TCP, 50000, 655, pk);
const rules = (ev: { rule: string; strength: string; packet?: number }[]) => ev.map((e) => [e.rule, e.strength, e.packet]);
/** Spec worked example: KEX record, 68 bytes. */
const KEX = hex(`00 41 80 00 12 60 92 00 08 67 e5 0d a7 40 40 2e d4 b2 1c 89 6b b2 f4 4c ef 01 4f 1c dc ca 78 32
20 f1 83 a1 01 d0 70 1d 41 9b d5 dc de 78 a4 70 e8 90 5b 39 17 9d 5f 73 1b bf dc cc c5 5a 69 8a 98 6a 4c 72`);
const hexKey = (n: number, r: () => number) => ascii(Array.from(randomBytes(n / 2, r), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(''));

describe('tinc detector', () => {
  it('spec worked example: ID lines from both sides → medium at 0, strong at 1; then SPTPS KEX records', () => {
    const ev = run([
      { dir: 0, bytes: ascii('0 office_gw 17.7\n') },
      { dir: 1, bytes: ascii('0 hub_a 17.7\n') },
      { dir: 0, bytes: KEX },
      { dir: 1, bytes: KEX },
    ]);
    expect(rules(ev)).toEqual([
      ['tinc.id', 'medium', 0],
      ['tinc.id-both', 'strong', 1],
      ['tinc.sptps', 'strong', 2],
      ['tinc.sptps', 'strong', 3],
    ]);
    expect(ev[1]!.reason).toContain('0 hub_a 17.7');
    expect(ev.every((e) => e.protocol === 'tinc')).toBe(true);
  });

  it('legacy tinc 1.0: ID "17" then METAKEY with a 512-digit hex key, also coalesced in one segment', () => {
    const r = rng(1);
    const mk = concat(ascii('1 94 64 0 0 '), hexKey(512, r), ascii('\n'));
    expect(rules(run([{ dir: 0, bytes: ascii('0 alpha 17\n') }, { dir: 0, bytes: mk }]))).toEqual([
      ['tinc.id', 'medium', 0],
      ['tinc.metakey', 'strong', 1],
    ]);
    expect(rules(run([{ dir: 0, bytes: concat(ascii('0 alpha 17\n'), mk) }]))).toEqual([
      ['tinc.id', 'medium', 0],
      ['tinc.metakey', 'strong', 0],
    ]);
    const shortKey = concat(ascii('1 94 64 0 0 '), hexKey(64, r), ascii('\n'));
    expect(rules(run([{ dir: 0, bytes: ascii('0 alpha 17\n') }, { dir: 0, bytes: shortKey }]))).toEqual([['tinc.id', 'medium', 0]]);
  });

  it('SPTPS KEX needs minor ≥ 2', () => {
    expect(rules(run([{ dir: 0, bytes: ascii('0 a 17.1\n') }, { dir: 0, bytes: KEX }]))).toEqual([['tinc.id', 'medium', 0]]);
  });

  it('ID line grammar', () => {
    const ok = ['0 a 17\n', '0 node_1 17.7\n', '0 ?aGVsbG8-d29ybGQ 17.7\n', '0 X 17.12\n'];
    const bad = ['0 a 18\n', '0  a 17\n', '0 a-b 17\n', '0 a 17', '0 a 17.\n', '1 a 17\n', '0 a 17 \n', '0 a 170\n', '0 a 17.123\n'];
    for (const s of ok) expect(parseIdLine(new LimitedFlowView(IPPROTO_TCP, 1, 2, [{ dir: 0, bytes: ascii(s) }]), 0), s).toBeGreaterThan(0);
    for (const s of bad) expect(parseIdLine(new LimitedFlowView(IPPROTO_TCP, 1, 2, [{ dir: 0, bytes: ascii(s) }]), 0), s).toBe(-1);
  });

  it('the other direction starting with something else vetoes the ID pair; HTTP/TLS/SSH on 655 give nothing', () => {
    expect(run([{ dir: 0, bytes: ascii('0 a 17\n') }, { dir: 1, bytes: ascii('SSH-2.0-OpenSSH_9.6\r\n') }])).toEqual([{ ...run([{ dir: 0, bytes: ascii('0 a 17\n') }])[0] }]);
    expect(run([{ dir: 0, bytes: ascii('GET / HTTP/1.1\r\n\r\n') }, { dir: 1, bytes: ascii('HTTP/1.1 200 OK\r\n\r\n') }])).toEqual([]);
    expect(run([{ dir: 0, bytes: concat(new Uint8Array([0x16, 3, 1, 0, 0x40]), randomBytes(64, rng(2))) }])).toEqual([]);
  });
});

describe('tinc UDP (SPTPS data)', () => {
  const udp = (pk: Pkt[]) => runFlow(tinc, IPPROTO_UDP, 655, 655, pk);
  const pkt = (src: Uint8Array, seq: number, len: number, r: () => number) => {
    const b = randomBytes(len, r);
    b.fill(0, 0, 6);
    b.set(src, 6);
    b[12] = (seq >>> 24) & 0xff;
    b[13] = (seq >>> 16) & 0xff;
    b[14] = (seq >>> 8) & 0xff;
    b[15] = seq & 0xff;
    return b;
  };
  it('medium at 4 packets, strong at 8 with exact +1 steps', () => {
    const r = rng(5);
    const src = hex('3a 91 0c 7e 44 02');
    const pk: Pkt[] = [];
    for (let k = 0; k < 8; k++) pk.push({ dir: 0, bytes: pkt(src, 1000 + k, 90 + k, r) });
    expect(rules(udp(pk))).toEqual([['tinc.udp', 'medium', 3], ['tinc.udp', 'strong', 7]]);
    const gaps = pk.map((p, k) => ({ dir: 0, bytes: pkt(src, 1000 + 2 * k, 90, r) }));
    expect(rules(udp(gaps))).toEqual([['tinc.udp', 'medium', 3]]);
    const twoWay: Pkt[] = [];
    const src2 = hex('0b 0c 0d 0e 0f 10');
    for (let k = 0; k < 4; k++) twoWay.push({ dir: 0, bytes: pkt(src, 50 + 3 * k, 70, r) }, { dir: 1, bytes: pkt(src2, 9 + 3 * k, 70, r) });
    expect(rules(udp(twoWay))).toEqual([['tinc.udp', 'medium', 6]]); // once per flow, not once per direction
    // Every packet twice (a mirror port's copy): the medium item, once, at the fourth distinct packet (the strong
    // run of 8 would need 16 packets, past the detector's 12).
    expect(rules(udp(pk.flatMap((p) => [p, p])))).toEqual([['tinc.udp', 'medium', 6]]);
  });
  it('changing source id, zero source id, or non-zero destination id give nothing', () => {
    const r = rng(6);
    const a = (k: number) => pkt(randomBytes(6, r), 10 + k, 64, r);
    expect(udp([0, 1, 2, 3, 4].map((k) => ({ dir: 0, bytes: a(k) })))).toEqual([]);
    const z = new Uint8Array(6);
    expect(udp([0, 1, 2, 3, 4].map((k) => ({ dir: 0, bytes: pkt(z, 10 + k, 64, r) })))).toEqual([]);
    expect(udp([0, 1, 2, 3].map(() => ({ dir: 0, bytes: new Uint8Array(64) })))).toEqual([]);
  });
});
