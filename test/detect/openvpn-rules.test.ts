/**
 * OpenVPN evidence rules as the reference states them (parts/1-udp-vpns.md §OpenVPN, "Detector checks and evidence",
 * "False-positive traps"), and the TCP length chain ("Framing": several packets per segment, one packet over several
 * segments). Each test here failed before the detector followed the reference row it names.
 */
import { describe, expect, it } from 'vitest';
import { openvpn } from '../../src/detect/openvpn.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/detect/types.js';
import { classify, tcpConnection } from '../classify/flow-builders.js';
import {
  OVPN_SPEC_TCP_CLIENT, ascii, concat, ovpnControl, randomBytes, rng, runFlow, tcpFrame, type OvpnMode, type OvpnSide, type Pkt,
} from './udp-vpn-builders.js';

const udp = (pk: Pkt[], dport = 1194) => runFlow(openvpn, IPPROTO_UDP, 40000, dport, pk);
const tcp = (pk: Pkt[], dport = 1194) => runFlow(openvpn, IPPROTO_TCP, 40000, dport, pk);
const rules = (ev: { rule: string; strength: string; packet?: number }[]) => ev.map((e) => [e.rule, e.strength, e.packet]);
const strong = (ev: { rule: string; strength: string; packet?: number }[]) => rules(ev.filter((e) => e.strength === 'strong'));
const none = new Uint8Array(0);
const C: OvpnMode = { kind: 'C' };
const N: OvpnMode = { kind: 'N' };

interface Msg { dir: 0 | 1; bytes: Uint8Array }
/** Mode-C exchange: client reset, server reset, then `more` control packets per side, alternating; net times as given. */
function modeC(seed: number, more: number, ntC = 0x6a2f1c40, ntS = 0x6a2f1c41): Msg[] {
  const r = rng(seed);
  const c: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: ntC };
  const s: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: ntS };
  const out: Msg[] = [
    { dir: 0, bytes: ovpnControl(0x38, C, c, [], null, 0, none, r) },
    { dir: 1, bytes: ovpnControl(0x40, C, s, [0], c.sid, 0, none, r) },
  ];
  for (let k = 0; k < more; k++) {
    out.push({ dir: 0, bytes: ovpnControl(k === 0 ? 0x28 : 0x20, C, c, [k], s.sid, k === 0 ? null : k, k === 0 ? none : randomBytes(120, r), r) });
    out.push({ dir: 1, bytes: ovpnControl(0x20, C, s, [k + 1], c.sid, k + 1, randomBytes(200, r), r) });
  }
  return out;
}
/** Mode-N exchange, both directions: reset pair, client ACK, client control, server ACK, server control… */
function modeN(seed: number, more: number): Msg[] {
  const r = rng(seed);
  const c: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: 0 };
  const s: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: 0 };
  const out: Msg[] = [
    { dir: 0, bytes: ovpnControl(0x38, N, c, [], null, 0, none, r) },
    { dir: 1, bytes: ovpnControl(0x40, N, s, [0], c.sid, 0, none, r) },
    { dir: 0, bytes: ovpnControl(0x28, N, c, [0], s.sid, null, none, r) },
  ];
  for (let k = 1; k <= more; k++) {
    out.push({ dir: 0, bytes: ovpnControl(0x20, N, c, [], null, k, concat(ascii('\x16\x03\x01'), randomBytes(60, r)), r) });
    out.push({ dir: 1, bytes: ovpnControl(0x20, N, s, [k], c.sid, k, randomBytes(90, r), r) });
  }
  return out;
}

describe('ovpn.session follows the mode-C row (client and server reset, each followed by ≥ 2 more control packets)', () => {
  it('two control packets each way (nDPI threshold) is not enough; three each way is strong on the packet completing it', () => {
    expect(strong(udp(modeC(1, 1)))).toEqual([]);
    const pk = modeC(1, 2);
    expect(strong(udp(pk))).toEqual([['ovpn.session', 'strong', 5]]);
  });
  it('three packets in one direction while the other direction is seen is not enough', () => {
    const pk = modeC(2, 2);
    // client: reset, ACK, control (3); server: reset only, then the rest cut
    expect(strong(udp([pk[0]!, pk[1]!, pk[2]!, pk[4]!]))).toEqual([]);
  });
  it('replay ids must rise by exactly one per packet', () => {
    const pk = modeC(3, 3);
    const b = pk[4]!.bytes; // client's second control packet: replay id +1 → +2
    b[12] = (b[12]! + 1) & 0xff;
    const ev = strong(udp(pk.slice(0, 6)));
    expect(ev).toEqual([]);
  });
  it('a control packet with key id ≠ 0 does not count in the opening run (the first key of a session is id 0)', () => {
    const pk = modeC(4, 2);
    pk[4]!.bytes[0] = 0x21;
    expect(strong(udp(pk))).toEqual([]);
  });
  it('net times of the two sides more than two days apart (each must be within a day of the capture) is not a session', () => {
    expect(strong(udp(modeC(5, 2, 0x6a2f1c40, 0x6a2f1c40 + 3 * 86400)))).toEqual([]);
    expect(strong(udp(modeC(5, 2, 0x6a2f1c40, 0x6a2f1c40 + 3600)))).toEqual([['ovpn.session', 'strong', 5]]);
  });
  it('mode N with both directions seen is decided by the echo, not by session repetition', () => {
    const ev = udp(modeN(6, 3));
    expect(strong(ev)).toEqual([['ovpn.reset-echo', 'strong', 1]]);
  });
});

describe('one direction only (asymmetric capture): ovpn.session-oneway', () => {
  function clientOnly(seed: number, n: number): Pkt[] {
    return modeN(seed, 6).filter((m) => m.dir === 0).slice(0, n);
  }
  it('four control packets repeating the session id with a consistent layout are strong; three are not', () => {
    expect(strong(udp(clientOnly(7, 3)))).toEqual([]);
    expect(rules(udp(clientOnly(7, 4)))).toEqual([['ovpn.reset', 'medium', 0], ['ovpn.session-oneway', 'strong', 3]]);
  });
  it('message packet ids that jump (not a retransmission and not +1) break the run', () => {
    const pk = clientOnly(8, 4);
    pk[3]!.bytes[13] = 9; // control packet's message id 2 → 9
    expect(strong(udp(pk))).toEqual([]);
  });
});

describe('server reset without a preceding client reset (trap: 0x40 also begins QUIC short headers)', () => {
  function serverOnly(seed: number, n: number): Pkt[] {
    return modeN(seed, 6).filter((m) => m.dir === 1).slice(0, n).map((m) => ({ dir: 0, bytes: m.bytes }));
  }
  it('mid-stream capture starting at the server reset: the lone server reset is weak, never medium', () => {
    expect(rules(udp(serverOnly(9, 1), 50000))).toEqual([['ovpn.server-reset', 'weak', 0]]);
  });
  it('then its own session run decides (one direction, four control packets)', () => {
    expect(rules(udp(serverOnly(9, 4), 50000))).toEqual([['ovpn.server-reset', 'weak', 0], ['ovpn.session-oneway', 'strong', 3]]);
  });
  it('the same over TCP with the server reset and the next packets coalesced into one segment', () => {
    const f = serverOnly(10, 4).map((p) => tcpFrame(p.bytes));
    const ev = tcp([{ dir: 0, bytes: concat(f[0]!, f[1]!) }, { dir: 0, bytes: concat(f[2]!, f[3]!) }], 50000);
    expect(rules(ev)).toEqual([['ovpn.server-reset', 'weak', 0], ['ovpn.tcp-chain', 'strong', 1], ['ovpn.session-oneway', 'strong', 1]]);
  });
});

describe('TCP: the length chain is walked within and across segments', () => {
  it('coalesced: client reset + ACK in one segment, then a control packet: every frame is seen', () => {
    const m = modeN(11, 2);
    const seg0 = concat(tcpFrame(m[0]!.bytes), tcpFrame(m[2]!.bytes)); // reset + ACK
    const ev = tcp([{ dir: 0, bytes: seg0 }, { dir: 1, bytes: tcpFrame(m[1]!.bytes) }, { dir: 0, bytes: tcpFrame(m[3]!.bytes) }]);
    expect(rules(ev)).toEqual([['ovpn.reset', 'medium', 0], ['ovpn.reset-echo', 'strong', 1], ['ovpn.tcp-chain', 'strong', 2]]);
  });
  it('coalesced mode-C server packets: the session rule counts every frame of a segment', () => {
    const m = modeC(12, 2);
    const f = m.map((x) => tcpFrame(x.bytes));
    // client: reset | ACK | control; server: reset | control+control in one segment, the newest when the rule is judged
    // (an earlier segment keeps ~48 bytes, so a coalesced segment's later frames count only while it is the newest)
    const ev = tcp([{ dir: 0, bytes: f[0]! }, { dir: 1, bytes: f[1]! }, { dir: 0, bytes: f[2]! }, { dir: 0, bytes: f[4]! }, { dir: 1, bytes: concat(f[3]!, f[5]!) }]);
    expect(strong(ev)).toEqual([['ovpn.tcp-chain', 'strong', 3], ['ovpn.session', 'strong', 4]]);
  });
  it('a frame split inside its 2-byte length field: the echo is still found', () => {
    const m = modeN(13, 1);
    const c = tcpFrame(m[0]!.bytes);
    const ev = tcp([{ dir: 0, bytes: c.subarray(0, 1) }, { dir: 0, bytes: c.subarray(1) }, { dir: 1, bytes: tcpFrame(m[1]!.bytes) }]);
    expect(rules(ev)).toEqual([['ovpn.reset', 'medium', 1], ['ovpn.reset-echo', 'strong', 2]]);
  });
  it('a frame split inside its header (session id) and a server reset split inside its ACK array', () => {
    const m = modeN(14, 1);
    const c = tcpFrame(m[0]!.bytes), s = tcpFrame(m[1]!.bytes);
    const ev = tcp([
      { dir: 0, bytes: c.subarray(0, 6) }, { dir: 0, bytes: c.subarray(6) },
      { dir: 1, bytes: s.subarray(0, 14) }, { dir: 1, bytes: s.subarray(14) },
    ]);
    expect(rules(ev)).toEqual([['ovpn.reset', 'medium', 1], ['ovpn.reset-echo', 'strong', 3]]);
    expect(ev[1]!.offset).toBe(2 + 14 - 14); // remote session id (frame offset 14 after the 2-byte length), in the second server segment
  });
  it('the chain carries over a packet that spans three segments', () => {
    const m = modeC(15, 2);
    const f = m.map((x) => tcpFrame(x.bytes));
    const big = f[3]!; // server control, 200-byte payload
    const ev = tcp([
      { dir: 0, bytes: f[0]! }, { dir: 1, bytes: f[1]! }, { dir: 0, bytes: f[2]! },
      { dir: 1, bytes: big.subarray(0, 60) }, { dir: 1, bytes: big.subarray(60, 130) }, { dir: 1, bytes: big.subarray(130) },
      { dir: 1, bytes: f[5]!.subarray(0, 3) }, { dir: 1, bytes: f[5]!.subarray(3) }, { dir: 0, bytes: f[4]! },
    ]);
    expect(strong(ev)).toEqual([['ovpn.tcp-chain', 'strong', 7], ['ovpn.session', 'strong', 8]]);
  });
  it('a frame whose start lies beyond the bytes kept of an earlier segment is unknown, not guessed', () => {
    const m = modeN(16, 1);
    // 60 bytes of an earlier (unrelated, well-framed) control packet, then the client reset in the same segment:
    // once a later segment arrives, the reset's session id (at offset 63+) is no longer kept.
    const filler = tcpFrame(concat(new Uint8Array([0x20]), randomBytes(57, rng(3))));
    const seg0 = concat(filler, tcpFrame(m[0]!.bytes));
    const ev = tcp([{ dir: 0, bytes: seg0 }, { dir: 1, bytes: tcpFrame(m[1]!.bytes) }]);
    expect(strong(ev)).toEqual([]);
  });
  it('a stream that opens with a proxy handshake resynchronises at the next segment', () => {
    const m = modeN(17, 1);
    const ev = tcp([
      { dir: 0, bytes: ascii('CONNECT 192.0.2.1:1194 HTTP/1.1\r\nHost: 192.0.2.1:1194\r\n\r\n') },
      { dir: 1, bytes: ascii('HTTP/1.1 200 Connection established\r\n\r\n') },
      { dir: 0, bytes: tcpFrame(m[0]!.bytes) }, { dir: 1, bytes: tcpFrame(m[1]!.bytes) },
    ]);
    expect(strong(ev)).toEqual([['ovpn.reset-echo', 'strong', 3]]);
  });
  it('DNS over TCP with pipelined queries whose ids look like opcodes is not a chain', () => {
    const q = (id: number) => tcpFrame(concat(new Uint8Array([id >> 8, id & 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ascii('\x07example\x03com\x00'), new Uint8Array([0, 1, 0, 1])));
    expect(tcp([{ dir: 0, bytes: concat(q(0x3800), q(0x2000), q(0x2800), q(0x2000)) }, { dir: 1, bytes: concat(q(0x4000), q(0x2000)) }])).toEqual([]);
  });
  it('the worked example 2 client segment followed by bytes of a next frame is still a lone reset', () => {
    expect(rules(tcp([{ dir: 0, bytes: concat(OVPN_SPEC_TCP_CLIENT, new Uint8Array([0x00, 0x16, 0x28])) }]))).toEqual([['ovpn.reset', 'medium', 0]]);
  });
});

describe('through a classifier session (flow table, snippets of 48 bytes)', () => {
  it('coalesced and split OpenVPN TCP frames: the flow is OpenVPN from its handshake', () => {
    const m = modeN(18, 2);
    const f = m.map((x) => tcpFrame(x.bytes));
    const payloads: { dir: 0 | 1; payload: Uint8Array }[] = [
      { dir: 0, payload: f[0]!.subarray(0, 1) }, { dir: 0, payload: concat(f[0]!.subarray(1), f[2]!.subarray(0, 5)) },
      { dir: 1, payload: f[1]! }, { dir: 0, payload: concat(f[2]!.subarray(5), f[3]!) },
    ];
    const recs = classify(tcpConnection(40001, 443, payloads));
    expect(recs.map((r) => [r.label, r.protocol])).toEqual([['unregistered_vpn', 'openvpn']]);
    expect(recs[0]!.evidence.some((e) => e.rule === 'ovpn.reset-echo' && e.strength === 'strong')).toBe(true);
  });
});
