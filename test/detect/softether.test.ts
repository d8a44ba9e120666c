import { describe, expect, it } from 'vitest';
import { softether, walkPack } from '../../src/detect/softether.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/detect/types.js';
import { LimitedFlowView, SOFTETHER_SPEC_PACK, ascii, concat, pack, randomBytes, rng, runFlow, type Pkt } from './udp-vpn-builders.js';

const udp = (pk: Pkt[], sport = 51381) => runFlow(softether, IPPROTO_UDP, sport, 5004, pk);
const rules = (ev: { rule: string; strength: string; packet?: number }[]) => ev.map((e) => [e.rule, e.strength, e.packet]);
const walk = (b: Uint8Array) => walkPack(new LimitedFlowView(IPPROTO_UDP, 1, 2, [{ dir: 0, bytes: b }]), 0, 0, b.length);

const REG = pack([
  ['host_name', { t: 2, v: [ascii('vpn1')] }],
  ['machine_key', { t: 1, v: [randomBytes(20, rng(1))] }],
  ['nat_traversal_ver', { t: 0, v: [1] }],
  ['opcode', { t: 2, v: [ascii('nat_t_register')] }],
  ['tran_id', { t: 4, v: [0x1234] }],
]);

describe('softether detector', () => {
  it('spec worked example Pack walks exactly (1 element) but a one-element Pack is not enough for the UDP rule', () => {
    expect(walk(SOFTETHER_SPEC_PACK)).toBe(1);
    expect(udp([{ dir: 0, bytes: SOFTETHER_SPEC_PACK }])).toEqual([]);
  });

  it('a complete multi-element Pack over UDP is strong on its own packet', () => {
    const ev = udp([{ dir: 0, bytes: REG }]);
    expect(rules(ev)).toEqual([['softether.pack', 'strong', 0]]);
    expect(ev[0]!.protocol).toBe('softether');
  });

  it('partial or over-long walks are rejected', () => {
    expect(walk(REG.subarray(0, REG.length - 1))).toBe(-1);
    expect(walk(concat(REG, new Uint8Array([0])))).toBe(-1);
    const badType = REG.slice();
    badType[4 + 4 + 9 + 3] = 7; // first element's type
    expect(walk(badType)).toBe(-1);
    const badName = REG.slice();
    badName[8] = 0x20; // space in the first name
    expect(walk(badName)).toBe(-1);
  });

  it('NAT-T query answered with the querying side\'s port → strong echo at packet 1; other port → medium', () => {
    const q = new Uint8Array([0x41]);
    const reply = ascii('IP=203.0.113.7,PORT=51381');
    expect(rules(udp([{ dir: 0, bytes: q }, { dir: 1, bytes: reply }]))).toEqual([['softether.natt-echo', 'strong', 1]]);
    expect(rules(udp([{ dir: 0, bytes: q }, { dir: 1, bytes: reply }], 40000))).toEqual([['softether.natt-reply', 'medium', 1]]);
  });

  // Cedar/UdpAccel.c (UdpAccelPoll): a UDP acceleration socket asks the NAT-T server (UDP 5004) with the one byte 'B'
  // and reads the answer with RUDPParseIPAndPortStr, the parser of the 41 query's `IP=…,PORT=…` reply.
  it('the UDP acceleration socket\'s query 42 answered the same way → the same echo and reply rules; a lone 42 is nothing', () => {
    const q = new Uint8Array([0x42]);
    const reply = ascii('IP=203.0.113.7,PORT=51381');
    expect(rules(udp([{ dir: 0, bytes: q }, { dir: 1, bytes: reply }]))).toEqual([['softether.natt-echo', 'strong', 1]]);
    expect(rules(udp([{ dir: 0, bytes: q }, { dir: 1, bytes: reply }], 40000))).toEqual([['softether.natt-reply', 'medium', 1]]);
    expect(udp([{ dir: 0, bytes: q }, { dir: 0, bytes: q }])).toEqual([]);
    // Only those two query bytes: another one-byte datagram still excludes the flow.
    expect(udp([{ dir: 0, bytes: new Uint8Array([0x43]) }, { dir: 1, bytes: reply }])).toEqual([]);
  });

  it('malformed replies and a lone 41 byte give nothing', () => {
    const q = new Uint8Array([0x41]);
    for (const s of ['IP=203.0.113.7,PORT=51381\n', 'IP=256.0.113.7,PORT=51381', 'IP=203.0.113,PORT=51381', 'IP=203.0.113.7,PORT=0', 'IP=1.2.3.4,PORT=70000']) {
      expect(udp([{ dir: 0, bytes: q }, { dir: 1, bytes: ascii(s) }]), s).toEqual([]);
    }
    expect(udp([{ dir: 0, bytes: q }, { dir: 0, bytes: q }])).toEqual([]);
  });

  it('DDNS POST: medium with the softether-network.net host, strong when the body is a Pack; RTP on 5004 gives nothing', () => {
    const head = 'POST /ddns/ddns.aspx HTTP/1.1\r\nContent-Type: application/octet-stream\r\nHost: x1.x1.dev.servers.ddns.softether-network.net\r\n\r\n';
    const t = (b: Uint8Array) => rules(runFlow(softether, IPPROTO_TCP, 37504, 80, [{ dir: 0, bytes: b }]));
    expect(t(ascii(head))).toEqual([['softether.ddns', 'medium', 0]]);
    expect(t(concat(ascii(head), REG))).toEqual([['softether.ddns', 'strong', 0]]);
    expect(t(ascii(head.replace('softether-network.net', 'example.net')))).toEqual([]);
    const rtp = randomBytes(172, rng(3));
    rtp[0] = 0x80;
    expect(udp([{ dir: 0, bytes: rtp }, { dir: 1, bytes: rtp }])).toEqual([]);
  });
});

describe('softether Pack item once per flow', () => {
  it('only the first Pack of a flow produces the item', () => {
    const ev = udp([{ dir: 0, bytes: REG }, { dir: 1, bytes: REG }, { dir: 0, bytes: REG }]);
    expect(ev.map((e) => [e.rule, e.packet])).toEqual([['softether.pack', 0]]);
  });
});
