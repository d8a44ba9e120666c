import { describe, expect, it } from 'vitest';
import { openvpn } from '../../src/detect/openvpn.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/detect/types.js';
import {
  OVPN_SPEC_CLIENT, OVPN_SPEC_SERVER, OVPN_SPEC_TCP_CLIENT, ascii, concat, hex, ovpnControl, ovpnDataV2, putU32be, randomBytes, rng, runFlow,
  tcpFrame, type OvpnMode, type OvpnSide, type Pkt,
} from './udp-vpn-builders.js';
import { u16 } from './ipsec-builders.js';

const udp = (pk: Pkt[], dport = 1194) => runFlow(openvpn, IPPROTO_UDP, 40000, dport, pk);
const tcp = (pk: Pkt[], dport = 1194) => runFlow(openvpn, IPPROTO_TCP, 40000, dport, pk);
const rules = (ev: { rule: string; strength: string; packet?: number }[]) => ev.map((e) => [e.rule, e.strength, e.packet]);

/** A full opening exchange in one mode: client reset, server reset (acks 0, echoes S_c), client ACK, client control, server control. */
function opening(mode: OvpnMode, r: () => number, v3 = false): Pkt[] {
  const c: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: 0x6a2f1c40 };
  const s: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: 0x6a2f1c41 };
  const none = new Uint8Array(0);
  return [
    { dir: 0, bytes: ovpnControl(v3 ? 0x50 : 0x38, mode, c, [], null, 0, none, r) },
    { dir: 1, bytes: ovpnControl(0x40, mode, s, [0], c.sid, 0, none, r) },
    { dir: 0, bytes: ovpnControl(0x28, mode, c, [0], s.sid, null, none, r) },
    { dir: 0, bytes: ovpnControl(0x20, mode, c, [], null, 1, concat(ascii('\x16\x03\x01'), randomBytes(200, r)), r) },
    { dir: 1, bytes: ovpnControl(0x28, mode, s, [1], c.sid, null, none, r) },
  ];
}

describe('openvpn detector', () => {
  it('spec worked example 1 (UDP, tls-auth SHA1): medium client reset at 0, strong reset echo at 1', () => {
    const ev = udp([{ dir: 0, bytes: OVPN_SPEC_CLIENT }, { dir: 1, bytes: OVPN_SPEC_SERVER }]);
    expect(rules(ev)).toEqual([['ovpn.reset', 'medium', 0], ['ovpn.reset-echo', 'strong', 1]]);
    expect(ev[1]).toMatchObject({ protocol: 'openvpn', source: 'openvpn', offset: 42 });
    expect(ev[1]!.reason).toContain('6a1f93c20b7e4d58');
    expect(ev[1]!.reason).toContain('20-byte HMAC');
  });

  it('echo naming another session id is not an echo', () => {
    const srv = OVPN_SPEC_SERVER.slice();
    srv[45] = srv[45]! ^ 0xff;
    expect(rules(udp([{ dir: 0, bytes: OVPN_SPEC_CLIENT }, { dir: 1, bytes: srv }]))).toEqual([['ovpn.reset', 'medium', 0]]);
  });

  it('spec worked example 2 (TCP, no wrapping): length prefix, then server reset echo at packet 1', () => {
    const r = rng(1);
    const s: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: 0 };
    const srv = tcpFrame(ovpnControl(0x40, { kind: 'N' }, s, [0], OVPN_SPEC_TCP_CLIENT.subarray(3, 11), 0, new Uint8Array(0), r));
    const ev = tcp([{ dir: 0, bytes: OVPN_SPEC_TCP_CLIENT }, { dir: 1, bytes: srv }]);
    expect(rules(ev)).toEqual([['ovpn.reset', 'medium', 0], ['ovpn.reset-echo', 'strong', 1]]);
    expect(ev[1]!.offset).toBe(2 + 14);
  });

  it('TCP segment whose length prefix does not fit is ignored', () => {
    const seg = OVPN_SPEC_TCP_CLIENT.slice();
    seg[1] = 0x20;
    expect(tcp([{ dir: 0, bytes: seg }])).toEqual([]);
  });

  for (const mode of [{ kind: 'N' }, { kind: 'A', hmac: 16 }, { kind: 'A', hmac: 20 }, { kind: 'A', hmac: 32 }, { kind: 'A', hmac: 48 }, { kind: 'A', hmac: 64 }] as OvpnMode[]) {
    const name = mode.kind === 'A' ? `tls-auth H=${mode.hmac}` : 'no wrapping';
    it(`${name}: echo at packet 1 over UDP and TCP (earlier packets keep only 48 bytes)`, () => {
      const pk = opening(mode, rng(2));
      const ev = udp(pk);
      expect(ev.find((e) => e.rule === 'ovpn.reset-echo')).toMatchObject({ strength: 'strong', packet: 1 });
      expect(ev[0]).toMatchObject({ rule: 'ovpn.reset', strength: 'medium', packet: 0 });
      const evt = tcp(pk.map((p) => ({ dir: p.dir, bytes: tcpFrame(p.bytes) })));
      expect(evt.find((e) => e.rule === 'ovpn.reset-echo')).toMatchObject({ strength: 'strong', packet: 1 });
    });
  }

  it('tls-crypt (mode C): no visible echo; three client and two server control packets are not yet a session (UDP), but over TCP the client chain of three is', () => {
    const pk = opening({ kind: 'C' }, rng(3));
    const ev = udp(pk);
    expect(rules(ev)).toEqual([['ovpn.reset', 'medium', 0]]);
    expect(rules(tcp(pk.map((p) => ({ dir: p.dir, bytes: tcpFrame(p.bytes) }))))).toEqual([['ovpn.reset', 'medium', 0], ['ovpn.tcp-chain', 'strong', 3]]);
  });

  it('mode C with replay ids that do not rise by one is not a session', () => {
    const pk = opening({ kind: 'C' }, rng(4));
    for (const p of pk) putU32be(p.bytes, 9, 77); // constant replay id
    expect(udp(pk).filter((e) => e.strength === 'strong')).toEqual([]);
  });

  it('one direction only (server side seen): server reset weak, then session strong after four control packets', () => {
    const r = rng(5);
    const s: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: 5 };
    const cs = randomBytes(8, r);
    const mode: OvpnMode = { kind: 'N' };
    const pk: Pkt[] = [
      { dir: 0, bytes: ovpnControl(0x40, mode, s, [0], cs, 0, new Uint8Array(0), r) },
      { dir: 0, bytes: ovpnControl(0x20, mode, s, [1], cs, 1, randomBytes(300, r), r) },
      { dir: 0, bytes: ovpnControl(0x20, mode, s, [], null, 2, randomBytes(300, r), r) },
    ];
    expect(rules(udp(pk, 50000))).toEqual([['ovpn.server-reset', 'weak', 0]]);
    pk.push({ dir: 0, bytes: ovpnControl(0x20, mode, s, [], null, 3, randomBytes(300, r), r) });
    expect(rules(udp(pk, 50000))).toEqual([['ovpn.server-reset', 'weak', 0], ['ovpn.session-oneway', 'strong', 3]]);
  });

  it('tls-crypt-v2 client reset: WKc length = length − 54 and replay id 0x0F000000 → strong on packet 0', () => {
    const r = rng(6);
    const b = randomBytes(353, r);
    b[0] = 0x50;
    putU32be(b, 9, 0x0f000000);
    b[351] = 0x01;
    b[352] = 0x2b; // 299
    expect(rules(udp([{ dir: 0, bytes: b }]))).toEqual([['ovpn.crypt-v2', 'strong', 0]]);
    b[352] = 0x2c;
    expect(udp([{ dir: 0, bytes: b }])).toEqual([]);
  });

  it('mid-stream P_DATA_V2: medium at 4 packets in a direction, strong at 8 in each direction (constant key id + peer id, packet id +1)', () => {
    const r = rng(7);
    const pk: Pkt[] = [];
    for (let k = 0; k < 8; k++) pk.push({ dir: 0, bytes: ovpnDataV2(0x49, 0x000021, 1000 + k, 100 + k * 10, r) });
    expect(rules(udp(pk))).toEqual([['ovpn.data', 'medium', 3]]); // one direction only stays medium
    const both: Pkt[] = [];
    for (let k = 0; k < 8; k++) {
      both.push({ dir: 0, bytes: ovpnDataV2(0x49, 0x000021, 1000 + k, 100 + k * 10, r) });
      both.push({ dir: 1, bytes: ovpnDataV2(0x49, 0x000021, 7 + k, 1400, r) });
    }
    expect(rules(udp(both))).toEqual([['ovpn.data', 'medium', 6], ['ovpn.data', 'strong', 15]]);
    const bad = pk.map((p, k) => ({ dir: 0, bytes: ovpnDataV2(0x49, k, 1000 + k, 100, r) })); // peer id changes
    expect(udp(bad)).toEqual([]);
    const flat = pk.map(() => ({ dir: 0, bytes: ovpnDataV2(0x49, 0x21, 5, 100, r) })); // packet id does not rise
    expect(udp(flat)).toEqual([]);
  });

  it('mid-stream P_DATA_V2 over UDP: a swapped pair and a copy keep the run; a big step back breaks it', () => {
    const r = rng(13);
    const ids = (list: number[]) => list.map((id, k) => ({ dir: 0, bytes: ovpnDataV2(0x48, 0x000003, id, 120 + 16 * k, r) }));
    expect(rules(udp(ids([500, 502, 501, 503])))).toEqual([['ovpn.data', 'medium', 3]]);
    expect(rules(udp(ids([500, 501, 501, 502, 503])))).toEqual([['ovpn.data', 'medium', 4]]);
    expect(udp(ids([500, 501, 480, 481, 482]))).toEqual([]);
  });

  describe('look-alike traffic gives no strong item', () => {
    it('a lone 0x38 first byte with random contents is at most weak (here: nothing)', () => {
      const r = rng(8);
      for (let n = 1; n < 200; n++) {
        const b = randomBytes(n, r);
        b[0] = 0x38;
        b[9] = 1; // non-zero ack count in a client reset
        expect(udp([{ dir: 0, bytes: b }])).toEqual([]);
      }
    });
    it('random UDP on 1194, both directions, every size class', () => {
      const r = rng(9);
      const pk: Pkt[] = [];
      for (let k = 0; k < 24; k++) pk.push({ dir: k % 3 === 0 ? 1 : 0, bytes: randomBytes((k * 61) % 1500, r) });
      expect(udp(pk).filter((e) => e.strength !== 'weak')).toEqual([]);
    });
    it('QUIC short headers (0x40-0x7F first byte, constant DCID) are not P_DATA_V2 or a server reset', () => {
      const r = rng(10);
      const dcid = randomBytes(8, r);
      const pk: Pkt[] = [];
      for (let k = 0; k < 12; k++) {
        const b = concat(new Uint8Array([0x48]), dcid, randomBytes(60, r));
        pk.push({ dir: 0, bytes: b });
      }
      expect(udp(pk, 443)).toEqual([]);
    });
    it('TURN ChannelData (RFC 8656 §12.4) relaying constant-size RTP on a channel 0x48xx–0x4Fxx is not P_DATA_V2', () => {
      const r = rng(12);
      // channel 0x4801, length 172 (G.711: 12-byte RTP header + 160), RTP first word 0x8000 + sequence.
      const chan = (seq: number, len = 172, pad = 0) => concat(hex('48 01'), u16(len), hex('80 00'), u16(seq), randomBytes(len - 4 + pad, r));
      const both = (mk: (seq: number) => Uint8Array): Pkt[] => [...Array(10).keys()].flatMap((k) => [{ dir: 0, bytes: mk(0x1200 + k) }, { dir: 1, bytes: mk(0x7700 + k) }]);
      expect(udp(both((q) => chan(q)), 3478)).toEqual([]);
      expect(udp(both((q) => chan(q, 172, 3)), 3478)).toEqual([]); // up to 3 bytes of padding
      // Control: the same bytes one padding byte further from the length field read as P_DATA_V2 again.
      expect(rules(udp(both((q) => chan(q, 172, 4)), 3478))).toEqual([['ovpn.data', 'medium', 6], ['ovpn.data', 'strong', 15]]);
    });
    it('DNS over TCP on 1194 and HTTP / TLS on 1194 give nothing', () => {
      const r = rng(11);
      const dns = (id: number) => {
        const q = concat(new Uint8Array([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), ascii('\x07example\x03com\x00'), new Uint8Array([0, 1, 0, 1]));
        return tcpFrame(q);
      };
      expect(tcp([{ dir: 0, bytes: dns(0x3812) }, { dir: 1, bytes: dns(0x3812) }, { dir: 0, bytes: dns(0x2055) }, { dir: 0, bytes: dns(0x2877) }])).toEqual([]);
      const http = ascii('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n');
      const tls = concat(new Uint8Array([0x16, 0x03, 0x01, 0x00, 0xc8]), randomBytes(200, r));
      expect(tcp([{ dir: 0, bytes: http }, { dir: 1, bytes: tls }, { dir: 0, bytes: tls }])).toEqual([]);
    });
  });
});

describe('openvpn session rule, two packets in each direction', () => {
  it('mode C: reset + one more control packet per direction is not a session (the reference asks for two more each way)', () => {
    const r = rng(12);
    const mode: OvpnMode = { kind: 'C' };
    const c: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: 100 };
    const s: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: 200 };
    const none = new Uint8Array(0);
    const pk: Pkt[] = [
      { dir: 0, bytes: ovpnControl(0x38, mode, c, [], null, 0, none, r) },
      { dir: 1, bytes: ovpnControl(0x40, mode, s, [0], c.sid, 0, none, r) },
      { dir: 0, bytes: ovpnControl(0x28, mode, c, [0], s.sid, null, none, r) },
      { dir: 1, bytes: ovpnControl(0x20, mode, s, [], null, 1, randomBytes(100, r), r) },
    ];
    expect(rules(udp(pk))).toEqual([['ovpn.reset', 'medium', 0]]);
  });
});

describe('openvpn data channel V1 and TCP continuation segments', () => {
  it('P_DATA_V1 (0x30-0x37) with rising AEAD packet ids at offset 1 is only weak, and never strong', () => {
    const r = rng(13);
    const pk: Pkt[] = [];
    for (let k = 0; k < 10; k++) {
      const b = randomBytes(120, r);
      b[0] = 0x31;
      putU32be(b, 1, 50 + k);
      pk.push({ dir: 1, bytes: b });
    }
    expect(rules(udp(pk))).toEqual([['ovpn.data', 'weak', 3]]);
  });

  it('a constant 4-byte game header followed by a little-endian counter is at most weak', () => {
    const r = rng(15);
    const pk: Pkt[] = [];
    for (let k = 0; k < 12; k++) {
      const b = randomBytes(90, r);
      b.set([0x32, 0x0b, 0xd1, 0x49, k & 0xff, 0, 0, 0], 0);
      pk.push({ dir: k % 3 === 0 ? 0 : 1, bytes: b });
    }
    expect(udp(pk).filter((e) => e.strength !== 'weak')).toEqual([]);
  });

  it('TCP: a control packet split across segments does not break the length chain', () => {
    const r = rng(14);
    const mode: OvpnMode = { kind: 'A', hmac: 20 };
    const c: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: 9 };
    const none = new Uint8Array(0);
    const reset = tcpFrame(ovpnControl(0x38, mode, c, [], null, 0, none, r)); // built in wire order: replay ids 1, 2, 3
    const big = tcpFrame(ovpnControl(0x20, mode, c, [], null, 1, randomBytes(1300, r), r));
    const pk: Pkt[] = [
      { dir: 0, bytes: reset },
      { dir: 0, bytes: big.subarray(0, 700) },
      { dir: 0, bytes: big.subarray(700) }, // continuation: starts mid-packet
      { dir: 0, bytes: tcpFrame(ovpnControl(0x20, mode, c, [], null, 2, randomBytes(80, r), r)) },
    ];
    expect(rules(tcp(pk))).toEqual([['ovpn.reset', 'medium', 0], ['ovpn.tcp-chain', 'strong', 3]]);
  });
});

describe('openvpn TCP lone reset is read from its frame, not its segment', () => {
  it('bytes of a next frame after the framed client reset: still the medium item (the length chain says where the reset ends)', () => {
    expect(rules(tcp([{ dir: 0, bytes: concat(OVPN_SPEC_TCP_CLIENT, new Uint8Array([0x00, 0x01, 0x38])) }]))).toEqual([['ovpn.reset', 'medium', 0]]);
    expect(rules(tcp([{ dir: 0, bytes: concat(OVPN_SPEC_TCP_CLIENT.subarray(0, 15), new Uint8Array([0x01])) }]))).toEqual([]);
    expect(rules(tcp([{ dir: 0, bytes: OVPN_SPEC_TCP_CLIENT }]))).toEqual([['ovpn.reset', 'medium', 0]]);
  });
});
