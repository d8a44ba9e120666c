import { describe, expect, it } from 'vitest';
import { zerotier } from '../../src/detect/zerotier.js';
import { IPPROTO_UDP } from '../../src/detect/types.js';
import { ZT_SPEC_HELLO, randomBytes, rng, runFlow, ztPacket, type Pkt } from './udp-vpn-builders.js';

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
