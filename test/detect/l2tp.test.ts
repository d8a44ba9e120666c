import { describe, expect, it } from 'vitest';
import { IPPROTO_L2TP, l2tp } from '../../src/detect/l2tp.js';
import { IPPROTO_UDP, type Evidence } from '../../src/detect/types.js';
import { concat, hex, LimitedFlowView, randomBytes, rng, runFlow, type Pkt } from './udp-vpn-builders.js';
import { avp, l2tpControl, l2tpData, sccrq, u16, u32 } from './ipsec-builders.js';

const run = (pk: Pkt[], transport = IPPROTO_UDP): Evidence[] => runFlow(l2tp, transport, 1701, 1701, pk);
const rules = (ev: Evidence[]) => ev.map((e) => `${e.rule}@${e.packet}:${e.strength}`);

describe('l2tp v2 control', () => {
  it('SCCRQ: C802, length == payload, Message Type AVP first (80 08 00 00 00 00 00 01) → strong at packet 0', () => {
    const p = sccrq(0x1a2b);
    expect(Array.from(p.subarray(0, 2))).toEqual([0xc8, 0x02]);
    expect(Array.from(p.subarray(12, 20))).toEqual(Array.from(hex('80 08 00 00 00 00 00 01')));
    const ev = run([{ dir: 0, bytes: p }]);
    expect(rules(ev)).toEqual(['l2tp.control@0:strong']);
    expect(ev[0]).toMatchObject({ source: 'l2tp', protocol: 'l2tp', offset: 0 });
    expect(ev[0]!.reason).toContain('SCCRQ(1)');
    expect(ev[0]!.reason).toContain('5 AVPs sum to');
  });

  it('SCCRP acknowledging the SCCRQ (Nr = Ns + 1) adds l2tp.ack', () => {
    const sccrp = l2tpControl(2, 0x1a2b, 0, 0, 1, [avp(2, hex('01 00')), avp(9, u16(0x77))]);
    const ev = run([{ dir: 0, bytes: sccrq(0x1a2b) }, { dir: 1, bytes: sccrp }]);
    expect(rules(ev)).toEqual(['l2tp.control@0:strong', 'l2tp.control@1:strong', 'l2tp.ack@1:strong']);
    expect(ev[2]!.reason).toContain('Nr 1 acknowledges Ns 0');
  });

  it('ZLB alone is medium; a ZLB acknowledging an earlier control message is strong', () => {
    expect(rules(run([{ dir: 0, bytes: l2tpControl(0, 5, 0, 3, 4) }]))).toEqual(['l2tp.zlb@0:medium']);
    const hello = l2tpControl(6, 5, 0, 7, 2);
    expect(rules(run([{ dir: 0, bytes: hello }, { dir: 1, bytes: l2tpControl(0, 9, 0, 2, 8) }]))).toEqual([
      'l2tp.control@0:strong', 'l2tp.zlb@1:medium', 'l2tp.ack@1:strong',
    ]);
  });

  it('rejects wrong flags, wrong length, unknown message type, non-mandatory first AVP, broken AVP walk', () => {
    const good = sccrq(1);
    const mut = (k: number, v: number) => { const b = good.slice(); b[k] = v; return b; };
    for (const [k, v] of [[0, 0xca], [1, 0x01], [3, good[3]! + 1], [19, 5], [19, 13], [12, 0x00], [13, 0x09]] as const) {
      expect(run([{ dir: 0, bytes: mut(k, v) }]), `byte ${k}`).toEqual([]);
    }
    const walk = good.slice();
    walk[21] = 0x07; // Protocol Version AVP length 8 → 7: the walk no longer ends exactly
    expect(run([{ dir: 0, bytes: walk }])).toEqual([]);
  });
});

/** A PPP control packet (RFC 1661 §5): code, identifier, length (whole packet), data. */
const pppPacket = (code: number, id: number, data: Uint8Array): Uint8Array => concat(Uint8Array.of(code, id), u16(4 + data.length), data);
/** PPP options: type, length (including these 2 bytes), value. */
const opt = (type: number, value: number[]): Uint8Array => Uint8Array.of(type, 2 + value.length, ...value);

describe('l2tp v2 data carrying a PPP control packet (RFC 1661 §5 inner chain)', () => {
  // LCP Configure-Request: MRU 1400, ACCM 0, magic number (RFC 1661 §6.1, §6.4; RFC 1662 §7.1).
  const lcpConfReq = pppPacket(1, 1, concat(opt(1, [0x05, 0x78]), opt(2, [0, 0, 0, 0]), opt(5, [0x1e, 0x2d, 0x3c, 0x4b])));
  it('a lone LCP Configure-Request in a data message is strong (and the data header medium)', () => {
    const p = l2tpData(0x1a2b, 0x0101, 0xc021, lcpConfReq);
    const ev = run([{ dir: 0, bytes: p }]);
    expect(rules(ev)).toEqual(['l2tp.data-ppp@0:strong', 'l2tp.data@0:medium']);
    expect(ev[0]!.reason).toContain('LCP Configure-Request(1), identifier 1, length 20 == the 20 bytes remaining, options end exactly there');
    // Without the L bit (00 02): the same chain.
    expect(rules(run([{ dir: 0, bytes: l2tpData(5, 6, 0xc021, lcpConfReq, false) }]))).toEqual(['l2tp.data-ppp@0:strong', 'l2tp.data@0:medium']);
  });
  it('IPCP Configure-Request (IP-Address option), LCP Echo-Request, IPv6CP, CCP Reset-Ack are chains too; once per flow', () => {
    const ipcp = pppPacket(1, 7, opt(3, [10, 0, 0, 2]));
    const echo = pppPacket(9, 3, Uint8Array.of(0x1e, 0x2d, 0x3c, 0x4b, 1, 2, 3));
    const v6cp = pppPacket(2, 4, opt(1, [1, 2, 3, 4, 5, 6, 7, 8]));
    const ccp = pppPacket(15, 9, new Uint8Array(0));
    for (const [proto, pkt] of [[0x8021, ipcp], [0xc021, echo], [0x8057, v6cp], [0x80fd, ccp]] as const) {
      expect(rules(run([{ dir: 0, bytes: l2tpData(1, 2, proto, pkt) }])), proto.toString(16)).toContain('l2tp.data-ppp@0:strong');
    }
    const ev = run([{ dir: 0, bytes: l2tpData(1, 2, 0xc021, lcpConfReq) }, { dir: 1, bytes: l2tpData(3, 4, 0x8021, ipcp) }]);
    expect(rules(ev).filter((x) => x.startsWith('l2tp.data-ppp'))).toEqual(['l2tp.data-ppp@0:strong']);
  });
  it('look-alikes: length off by one, unknown code, options not ending exactly, a data protocol, a short echo', () => {
    const bad = (proto: number, pkt: Uint8Array) => rules(run([{ dir: 0, bytes: l2tpData(1, 2, proto, pkt) }]));
    const longer = concat(lcpConfReq, Uint8Array.of(0));
    expect(bad(0xc021, longer)).toEqual(['l2tp.data@0:medium']); // length field 20, 21 bytes remain
    const code12 = lcpConfReq.slice();
    code12[0] = 12;
    expect(bad(0xc021, code12)).toEqual(['l2tp.data@0:medium']);
    const ipcp8 = pppPacket(8, 1, Uint8Array.of(0, 0)); // Protocol-Reject is LCP's alone
    expect(bad(0x8021, ipcp8)).toEqual(['l2tp.data@0:medium']);
    const badOpt = lcpConfReq.slice();
    badOpt[5] = 5; // MRU option length 4 → 5: the option walk overruns
    expect(bad(0xc021, badOpt)).toEqual(['l2tp.data@0:medium']);
    expect(bad(0x0021, pppPacket(1, 1, new Uint8Array(16)))).toEqual(['l2tp.data@0:medium']);
    expect(bad(0xc021, pppPacket(9, 1, Uint8Array.of(1, 2)))).toEqual(['l2tp.data@0:medium']);
    // A snaplen-cut datagram cannot show its chain: 30 of its 32 bytes captured.
    const whole = l2tpData(1, 2, 0xc021, lcpConfReq);
    const cut = new (class extends LimitedFlowView {
      override avail(i: number): number {
        return Math.min(30, super.avail(i));
      }
    })(IPPROTO_UDP, 1701, 1701, [{ dir: 0, bytes: whole }]);
    expect(rules(l2tp.detect(cut) ?? [])).toEqual(['l2tp.data@0:medium']);
  });
});

describe('l2tp v2 data', () => {
  it('a data message carrying FF 03 + LCP is medium; three of one session in a direction are strong', () => {
    const r = rng(1);
    const d = (k: number) => l2tpData(0x1a2b, 0x0101, k === 0 ? 0xc021 : 0x0021, randomBytes(40, r));
    expect(rules(run([{ dir: 0, bytes: d(0) }]))).toEqual(['l2tp.data@0:medium']);
    const ev = run([0, 1, 2, 3].map((k) => ({ dir: 0, bytes: d(k) })));
    expect(rules(ev)).toEqual(['l2tp.data@0:medium', 'l2tp.data-session@2:strong']);
    expect(ev[1]!.reason).toContain('tunnel id 6699, session id 257');
  });

  it('without the L bit, and rejects another session id, a wrong length or a non-PPP body', () => {
    const r = rng(2);
    expect(rules(run([{ dir: 0, bytes: l2tpData(1, 2, 0x0021, randomBytes(20, r), false) }]))).toEqual(['l2tp.data@0:medium']);
    const mixed = [1, 2, 1].map((s) => ({ dir: 0, bytes: l2tpData(1, s, 0x0021, randomBytes(20, r)) }));
    expect(rules(run(mixed))).toEqual(['l2tp.data@0:medium']);
    const bad = l2tpData(1, 2, 0x0021, randomBytes(20, r));
    bad[3]! += 1;
    expect(run([{ dir: 0, bytes: bad }])).toEqual([]);
    expect(run([{ dir: 0, bytes: l2tpData(1, 2, 0x1234, randomBytes(20, r)) }])).toEqual([]);
  });
});

describe('l2tp v3', () => {
  it('control message over UDP (C803) and over IP 115 (after a zero session id)', () => {
    const body = concat(avp(0, u16(1)), avp(2, hex('00 00 00 01')));
    const msg = concat(hex('c8 03'), u16(12 + body.length), u32(0), u16(0), u16(0), body);
    expect(rules(run([{ dir: 0, bytes: msg }]))).toEqual(['l2tp.v3-control@0:strong']);
    const ev = run([{ dir: 0, bytes: concat(u32(0), msg) }], IPPROTO_L2TP);
    expect(rules(ev)).toEqual(['l2tp.v3-control@0:strong']);
    expect(ev[0]!.offset).toBe(4);
    expect(run([{ dir: 0, bytes: concat(u32(7), msg) }], IPPROTO_L2TP)).toEqual([]);
  });
});

describe('l2tp look-alikes', () => {
  it('random payloads on 1701 never give strong (seeded)', () => {
    const r = rng(3);
    for (let f = 0; f < 300; f++) {
      const pk: Pkt[] = [];
      for (let k = 0; k < 6; k++) pk.push({ dir: r() & 1, bytes: randomBytes((r() << 3) % 1400, r) });
      expect(run(pk).filter((e) => e.strength === 'strong')).toEqual([]);
    }
  });
});
