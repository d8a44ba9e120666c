import { describe, expect, it } from 'vitest';
import { tinc, parseIdLine } from '../../src/detect/tinc.js';
import { IPPROTO_TCP } from '../../src/detect/types.js';
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
