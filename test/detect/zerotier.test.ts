import { describe, expect, it } from 'vitest';
import { zerotier } from '../../src/detect/zerotier.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/detect/types.js';
import { ZT_SPEC_HELLO, concat, hex, randomBytes, rng, runFlow, ztPacket, type Pkt } from './udp-vpn-builders.js';

const run = (pk: Pkt[], sport = 9993, dport = 9993) => runFlow(zerotier, IPPROTO_UDP, sport, dport, pk);
const rules = (ev: { rule: string; strength: string; packet?: number }[]) => ev.map((e) => [e.rule, e.strength, e.packet]);

describe('zerotier detector', () => {
  it('spec worked example HELLO: strong on packet 0, notes the destination-port echo', () => {
    const ev = run([{ dir: 0, bytes: ZT_SPEC_HELLO }]);
    expect(rules(ev)).toEqual([['zt.hello', 'strong', 0]]);
    expect(ev[0]).toMatchObject({ protocol: 'zerotier', offset: 41 });
    expect(ev[0]!.reason).toContain('2b910c7e44');
    expect(ev[0]!.reason).toContain('port 9993 equals');
    expect(run([{ dir: 0, bytes: ZT_SPEC_HELLO }], 9993, 40000)[0]!.reason).toContain('differs');
  });

  it('HELLO whose identity address differs from the source, or truncated, or encrypted (suite 1) is not a HELLO', () => {
    const a = ZT_SPEC_HELLO.slice();
    a[43] = a[43]! ^ 1;
    const b = ZT_SPEC_HELLO.slice(0, 134);
    const c = ZT_SPEC_HELLO.slice();
    c[18] = 0x08;
    expect(run([{ dir: 0, bytes: a }])).toEqual([]);
    expect(run([{ dir: 0, bytes: b }])).toEqual([]);
    expect(run([{ dir: 0, bytes: c }])).toEqual([]);
  });

  it('mid-stream: three packets per direction with mirrored address pairs → strong', () => {
    const r = rng(1);
    const x = randomBytes(5, r), y = randomBytes(5, r);
    x[0] = 0x12;
    y[0] = 0x34;
    const pk: Pkt[] = [];
    for (let k = 0; k < 3; k++) {
      pk.push({ dir: 0, bytes: ztPacket(y, x, 0x18, 100 + k, r) });
      pk.push({ dir: 1, bytes: ztPacket(x, y, 0x18, 200 + k, r) });
    }
    expect(rules(run(pk))).toEqual([['zt.peer', 'strong', 5]]);
    // not mirrored: reverse uses another pair
    const z = randomBytes(5, r);
    z[0] = 0x56;
    const bad = pk.map((p) => (p.dir === 1 ? { dir: 1, bytes: ztPacket(x, z, 0x18, 100, r) } : p));
    expect(run(bad)).toEqual([]);
  });

  it('constant-filled payloads and random UDP on 9993 give nothing', () => {
    const r = rng(2);
    const fill = new Uint8Array(100).fill(1);
    expect(run([0, 1, 0, 1, 0, 1].map((d) => ({ dir: d, bytes: fill })))).toEqual([]);
    expect(run([0, 1, 0, 1, 0, 1, 0, 1].map((d, k) => ({ dir: d, bytes: randomBytes(28 + k * 50, r) })))).toEqual([]);
  });
});

describe('zerotier TCP fallback', () => {
  const tcp = (pk: Pkt[]) => runFlow(zerotier, IPPROTO_TCP, 50000, 443, pk);
  const frame = (addr: number[], body: Uint8Array) => {
    const inner = concat(new Uint8Array(addr), body);
    return concat(new Uint8Array([0x17, 3, 3, inner.length >> 8, inner.length & 0xff]), inner);
  };
  const hello = hex('17 03 03 00 04 01 0e 00 02');
  it('hello alone is medium; hello then an exactly chained frame is strong at packet 1', () => {
    const r = rng(3);
    expect(rules(tcp([{ dir: 0, bytes: hello }]))).toEqual([['zt.tcp-hello', 'medium', 0]]);
    const f1 = frame([4, 198, 51, 100, 23, 0x27, 0x09], randomBytes(135, r));
    expect(rules(tcp([{ dir: 0, bytes: hello }, { dir: 1, bytes: randomBytes(20, r) }, { dir: 0, bytes: f1 }]))).toEqual([
      ['zt.tcp-hello', 'medium', 0],
      ['zt.tcp', 'strong', 2],
    ]);
    // hello and frames coalesced in the first segment decide at once
    expect(rules(tcp([{ dir: 0, bytes: concat(hello, f1, frame([0], randomBytes(40, r))) }]))).toEqual([['zt.tcp', 'strong', 0]]);
  });
  it('a frame whose length does not chain, a bad address block, or real TLS give no strong item', () => {
    const r = rng(4);
    const bad = frame([4, 1, 2, 3, 4, 0, 80], randomBytes(50, r));
    bad[4] = bad[4]! + 1; // length one too long: the next "frame" would start inside garbage
    expect(rules(tcp([{ dir: 0, bytes: hello }, { dir: 0, bytes: concat(bad, randomBytes(30, r)) }]))).toEqual([['zt.tcp-hello', 'medium', 0]]);
    expect(rules(tcp([{ dir: 0, bytes: hello }, { dir: 0, bytes: frame([5], randomBytes(50, r)) }]))).toEqual([['zt.tcp-hello', 'medium', 0]]);
    const ch = concat(hex('16 03 01 00 c8'), randomBytes(200, r));
    const app = concat(hex('17 03 03 00 40'), randomBytes(64, r));
    expect(tcp([{ dir: 0, bytes: ch }, { dir: 1, bytes: app }, { dir: 0, bytes: app }])).toEqual([]);
  });
});
