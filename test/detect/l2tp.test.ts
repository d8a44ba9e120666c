import { describe, expect, it } from 'vitest';
import { IPPROTO_L2TP, l2tp } from '../../src/detect/l2tp.js';
import { IPPROTO_UDP, type Evidence } from '../../src/detect/types.js';
import { concat, hex, LimitedFlowView, randomBytes, rng, runFlow, type Pkt } from './udp-vpn-builders.js';
import { avp, icmpEcho, ipv4Header, l2tpControl, l2tpData, l2tpDataFrame, pppFrame, sccrq, u16, u32, type PppForm } from './ipsec-builders.js';

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
  it('a data message carrying FF 03 + LCP is medium; two of one session in a direction are strong (reference: ≥ 2 packets)', () => {
    const r = rng(1);
    const d = (k: number) => l2tpData(0x1a2b, 0x0101, k === 0 ? 0xc021 : 0x0021, randomBytes(40, r));
    expect(rules(run([{ dir: 0, bytes: d(0) }]))).toEqual(['l2tp.data@0:medium']);
    const ev = run([0, 1, 2, 3].map((k) => ({ dir: 0, bytes: d(k) })));
    expect(rules(ev)).toEqual(['l2tp.data@0:medium', 'l2tp.data-session@1:strong']);
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

/** An IPv4 ICMP echo request of 84 bytes (20-byte header, total length 84). */
const ipv4Ping = (seq: number): Uint8Array => {
  const icmp = icmpEcho(0x77, seq, new Uint8Array(56).fill(seq));
  return concat(ipv4Header(1, icmp.length), icmp);
};
/** An IPv6 packet: version 6, payload length, next header 58 (ICMPv6), hop limit 64, two addresses, the payload. */
const ipv6Packet = (payload: Uint8Array): Uint8Array =>
  concat(hex('60 00 00 00'), u16(payload.length), Uint8Array.of(58, 64), hex('20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01'),
    hex('20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02'), payload);

describe('l2tp v2 data whose PPP frames use ACFC and/or PFC (RFC 1661 §6.5, §6.6)', () => {
  const frame = (form: PppForm, seq = 1) => pppFrame(form, 0x21, ipv4Ping(seq));
  it('IPv4 behind a compressed protocol field: one data message is medium, with the form in the reason', () => {
    for (const [form, text] of [['acfc', 'PPP IPv4 (ACFC): protocol 0021'], ['acfc+pfc', 'PPP IPv4 (ACFC+PFC): protocol 21'], ['pfc', 'PPP IPv4 (PFC): FF 03, protocol 21']] as const) {
      const ev = run([{ dir: 0, bytes: l2tpDataFrame(0x1a2b, 0x0101, frame(form), { length: true }) }]);
      expect(rules(ev), form).toEqual(['l2tp.data@0:medium']);
      expect(ev[0]!.reason, form).toContain(text);
      expect(ev[0]!.reason, form).toContain('IPv4 total length 84 == the 84 bytes remaining');
      expect(ev[0]!.reason, form).toContain('tunnel id 6699, session id 257');
    }
  });

  it('the header variants: without the L bit, with Ns/Nr (S bit), with an offset (O bit)', () => {
    for (const o of [{}, { ns: 7, nr: 3 }, { pad: 4 }, { length: true, ns: 1, nr: 0, pad: 2 }, { pad: 0 }]) {
      const ev = run([{ dir: 0, bytes: l2tpDataFrame(5, 6, frame('acfc+pfc'), o) }]);
      expect(rules(ev), JSON.stringify(o)).toEqual(['l2tp.data@0:medium']);
      const want = 2 + (o.length ? 2 : 0) + 4 + (o.ns !== undefined ? 4 : 0) + (o.pad !== undefined ? 2 + o.pad : 0);
      expect(ev[0]!.offset, JSON.stringify(o)).toBe(want);
    }
  });

  it('IPv6 (57 / 00 57), IPCP and CHAP under ACFC (80 21, C2 23) are data messages too', () => {
    const v6 = ipv6Packet(hex('80 00 12 34 00 01 00 01 61 62 63 64'));
    const ipcp = concat(hex('01 07 00 0a 03 06 0a 00 00 02')); // Configure-Request, IP-Address 10.0.0.2
    const chap = concat(hex('01 01 00 15 10'), new Uint8Array(16).fill(0xab)); // Challenge, 16-byte value
    for (const [form, proto, body, text] of [
      ['acfc+pfc', 0x57, v6, 'PPP IPv6 (ACFC+PFC)'], ['acfc', 0x57, v6, 'PPP IPv6 (ACFC)'],
      ['acfc', 0x8021, ipcp, 'PPP IPCP (ACFC)'], ['acfc', 0xc223, chap, 'PPP CHAP (ACFC)'],
    ] as const) {
      const ev = run([{ dir: 1, bytes: l2tpDataFrame(9, 10, pppFrame(form, proto, body), { length: true }) }]);
      expect(rules(ev), text).toEqual(['l2tp.data@0:medium']);
      expect(ev[0]!.reason).toContain(text);
    }
  });

  it('two of one session in a direction are strong, in both directions (ACFC alone, ACFC+PFC)', () => {
    const pk = [0, 1, 2, 3, 4, 5].map((k) => ({
      dir: k & 1, bytes: l2tpDataFrame(k & 1 ? 0x3344 : 0x1122, k & 1 ? 9 : 8, frame(k & 1 ? 'acfc' : 'acfc+pfc', k), { length: (k & 2) === 0 }),
    }));
    const ev = run(pk);
    expect(rules(ev)).toEqual(['l2tp.data@0:medium', 'l2tp.data-session@2:strong', 'l2tp.data-session@3:strong']);
    expect(ev[1]!.reason).toContain('tunnel id 4386, session id 8 constant');
    expect(ev[1]!.reason).toContain('latest IPv4 (ACFC+PFC)');
    expect(ev[2]!.reason).toContain('latest IPv4 (ACFC)');
  });

  it('mixed forms count toward one run: an LCP frame keeps FF 03 (RFC 1661 §6.6), the data after it does not', () => {
    const lcpEcho = hex('09 03 00 0c 1e 2d 3c 4b 01 02 03 04');
    const pk = [pppFrame('full', 0xc021, lcpEcho), frame('acfc+pfc', 1), frame('acfc+pfc', 2)].map((p) => ({ dir: 0, bytes: l2tpDataFrame(1, 2, p) }));
    expect(rules(run(pk))).toEqual(['l2tp.data-ppp@0:strong', 'l2tp.data@0:medium', 'l2tp.data-session@1:strong']);
  });

  it('rejects a PPP byte that is no protocol: even values, an even low octet, LCP without FF 03, a compressed datagram', () => {
    const bad = (ppp: Uint8Array) => run([{ dir: 0, bytes: l2tpDataFrame(1, 2, ppp, { length: true }) }]);
    const ip = ipv4Ping(1);
    // RFC 1661 §2: every protocol is odd and the high octet even; an even first octet starts a 2-octet field.
    for (const b of [0x20, 0x22, 0x56, 0xfc, 0x00]) expect(bad(concat(Uint8Array.of(b), ip)), b.toString(16)).toEqual([]);
    for (const w of [0x0020, 0x0056, 0x0121, 0x2145]) expect(bad(concat(u16(w), ip)), w.toString(16)).toEqual([]);
    // Protocols outside the set, though valid in form (0x23 OSI, 0x2d VJ compressed TCP/IP).
    expect(bad(concat(Uint8Array.of(0x23), ip))).toEqual([]);
    expect(bad(concat(Uint8Array.of(0x2d), ip))).toEqual([]);
    // LCP is never sent with compressed address/control (RFC 1661 §6.6), so C0 21 without FF 03 is not PPP.
    expect(bad(pppFrame('acfc', 0xc021, hex('01 01 00 0a 05 06 12 34 56 78')))).toEqual([]);
    // A compressed datagram (CCP-negotiated, e.g. MPPE) has no length field to check: not accepted compressed.
    expect(bad(pppFrame('acfc+pfc', 0xfd, hex('90 01 aa bb cc dd ee ff')))).toEqual([]);
    expect(bad(pppFrame('acfc', 0xfd, hex('90 01 aa bb cc dd ee ff')))).toEqual([]);
  });

  it('rejects an inner packet that does not fill the datagram exactly, or is not what the protocol says', () => {
    const bad = (ppp: Uint8Array) => run([{ dir: 0, bytes: l2tpDataFrame(1, 2, ppp, { length: true }) }]);
    const ip = ipv4Ping(1);
    expect(bad(concat(Uint8Array.of(0x21), ip, Uint8Array.of(0)))).toEqual([]); // total length 84, 85 bytes remain
    expect(bad(concat(Uint8Array.of(0x21), ip.subarray(0, 83)))).toEqual([]);
    const v6 = ip.slice();
    v6[0] = 0x65;
    expect(bad(concat(Uint8Array.of(0x21), v6))).toEqual([]); // version 6 behind the IPv4 protocol
    const ihl4 = ip.slice();
    ihl4[0] = 0x44;
    expect(bad(concat(Uint8Array.of(0x21), ihl4))).toEqual([]); // IHL below 5
    expect(bad(concat(Uint8Array.of(0x57), ip))).toEqual([]); // IPv4 behind the IPv6 protocol
    expect(bad(pppFrame('acfc', 0x8021, hex('01 07 00 0b 03 06 0a 00 00 02')))).toEqual([]); // IPCP length 11, 10 remain
    expect(bad(pppFrame('acfc', 0x8021, hex('09 07 00 0a 03 06 0a 00 00 02')))).toEqual([]); // code 9 is LCP's alone
    expect(bad(pppFrame('acfc', 0xc023, hex('04 07 00 04')))).toEqual([]); // PAP has codes 1–3
    // A wrong L2TP length or a set reserved bit still rejects the message, whatever it carries.
    const m = l2tpDataFrame(1, 2, frame('acfc+pfc'), { length: true });
    m[3]! += 1;
    expect(run([{ dir: 0, bytes: m }])).toEqual([]);
    const r = l2tpDataFrame(1, 2, frame('acfc+pfc'));
    r[0] = 0x04;
    expect(run([{ dir: 0, bytes: r }])).toEqual([]);
  });

  it('mixed tunnel or session ids in one direction are no run', () => {
    const pk = [1, 2, 1].map((t, k) => ({ dir: 0, bytes: l2tpDataFrame(t, 5, frame('acfc+pfc', k)) }));
    expect(rules(run(pk))).toEqual(['l2tp.data@0:medium']);
    const pk2 = [5, 6, 5].map((s, k) => ({ dir: 0, bytes: l2tpDataFrame(1, s, frame('acfc', k)) }));
    expect(rules(run(pk2))).toEqual(['l2tp.data@0:medium']);
  });

  it('an inner header past the bytes kept of earlier packets (48) is not read: the newest packet decides alike', () => {
    // Offset pad 36: the PPP frame starts at 2 + 4 + 2 + 36 = 44, the IPv4 length field at 47–48.
    expect(run([{ dir: 0, bytes: l2tpDataFrame(1, 2, frame('acfc+pfc'), { pad: 36 }) }])).toEqual([]);
    expect(rules(run([{ dir: 0, bytes: l2tpDataFrame(1, 2, frame('acfc+pfc'), { pad: 35 }) }]))).toEqual(['l2tp.data@0:medium']);
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
