import { describe, expect, it } from 'vitest';
import { tailscale } from '../../src/detect/tailscale.js';
import { wireguard } from '../../src/detect/wireguard.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/detect/types.js';
import { TS_SPEC_DISCO, WG_SPEC_INIT, WG_SPEC_RESP, ascii, disco, hex, randomBytes, rng, runFlow, type Pkt } from './udp-vpn-builders.js';

const run = (pk: Pkt[], dport = 41641) => runFlow(tailscale, IPPROTO_UDP, 41641, dport, pk);

describe('tailscale detector', () => {
  it('spec worked example: a disco ping decides on packet 0 (48-bit magic)', () => {
    const ev = run([{ dir: 0, bytes: TS_SPEC_DISCO }]);
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ rule: 'ts.disco', strength: 'strong', protocol: 'tailscale', source: 'tailscale', packet: 0, offset: 0 });
    expect(ev[0]!.reason).toContain('54 53 f0 9f 92 ac');
  });

  it('disco keys repeated per direction give ts.disco-keys once', () => {
    const r = rng(1);
    const ka = randomBytes(32, r), kb = randomBytes(32, r);
    const ev = run([
      { dir: 0, bytes: disco(ka, 124, r) },
      { dir: 1, bytes: disco(kb, 110, r) },
      { dir: 0, bytes: disco(ka, 124, r) },
      { dir: 0, bytes: disco(ka, 92, r) },
    ]);
    expect(ev.map((e) => [e.rule, e.packet])).toEqual([['ts.disco', 0], ['ts.disco-keys', 2]]);
    // a different key in the second packet of the direction does not repeat
    const ev2 = run([{ dir: 0, bytes: disco(ka, 124, r) }, { dir: 1, bytes: disco(kb, 110, r) }, { dir: 0, bytes: disco(kb, 124, r) }]);
    expect(ev2.map((e) => e.rule)).toEqual(['ts.disco']);
    // the other side's first disco may arrive after the repetition
    const ev3 = run([{ dir: 0, bytes: disco(ka, 124, r) }, { dir: 0, bytes: disco(ka, 124, r) }, { dir: 1, bytes: disco(kb, 110, r) }]);
    expect(ev3.map((e) => [e.rule, e.packet])).toEqual([['ts.disco', 0], ['ts.disco-keys', 2]]);
  });

  it('a WireGuard handshake on a 5-tuple that carried disco is labelled tailscale; plain WireGuard stays wireguard', () => {
    const pk: Pkt[] = [{ dir: 0, bytes: TS_SPEC_DISCO }, { dir: 0, bytes: WG_SPEC_INIT }, { dir: 1, bytes: WG_SPEC_RESP }];
    const ev = run(pk);
    expect(ev.map((e) => [e.rule, e.protocol, e.packet])).toEqual([['ts.disco', 'tailscale', 0], ['ts.wireguard', 'tailscale', 2]]);
    expect(run(pk.slice(1))).toEqual([]);
    expect(runFlow(wireguard, IPPROTO_UDP, 1, 41641, pk.slice(1)).every((e) => e.protocol === 'wireguard')).toBe(true);
  });

  it('too short, truncated magic or STUN on 3478 give nothing', () => {
    const short = TS_SPEC_DISCO.slice(0, 77);
    const bad = TS_SPEC_DISCO.slice();
    bad[5] = 0xad;
    const stun = hex('00 01 00 00 21 12 a4 42 01 02 03 04 05 06 07 08 09 0a 0b 0c');
    expect(run([{ dir: 0, bytes: short }, { dir: 0, bytes: bad }])).toEqual([]);
    expect(run([{ dir: 0, bytes: stun }, { dir: 1, bytes: stun }], 3478)).toEqual([]);
  });
});

describe('tailscale control plane (TCP 80)', () => {
  const tcp = (pk: Pkt[]) => runFlow(tailscale, IPPROTO_TCP, 50000, 80, pk);
  const req = (upgrade: string) =>
    ascii(`POST /ts2021 HTTP/1.1\r\nHost: controlplane.tailscale.com\r\n${upgrade}\r\nConnection: upgrade\r\nX-Tailscale-Handshake: AAEC\r\n\r\n`);
  it('the /ts2021 upgrade request is strong on packet 0', () => {
    const ev = tcp([{ dir: 0, bytes: req('Upgrade: tailscale-control-protocol') }]);
    expect(ev.map((e) => [e.rule, e.strength, e.packet])).toEqual([['ts.control', 'strong', 0]]);
  });
  it('other upgrades, other paths and plain HTTP give nothing', () => {
    expect(tcp([{ dir: 0, bytes: req('Upgrade: websocket') }])).toEqual([]);
    expect(tcp([{ dir: 0, bytes: ascii('POST /api HTTP/1.1\r\nUpgrade: tailscale-control-protocol\r\n\r\n') }])).toEqual([]);
    expect(tcp([{ dir: 0, bytes: ascii('GET / HTTP/1.1\r\nHost: a\r\n\r\n') }, { dir: 1, bytes: ascii('HTTP/1.1 200 OK\r\n\r\n') }])).toEqual([]);
  });
});
