import { describe, expect, it } from 'vitest';
import { wireguard } from '../../src/detect/wireguard.js';
import { IPPROTO_UDP } from '../../src/detect/types.js';
import {
  WG_SPEC_INIT, WG_SPEC_RESP, hex, randomBytes, rng, runFlow, wgCookie, wgData, wgInit, wgResp, type Pkt,
} from './udp-vpn-builders.js';

const run = (pk: Pkt[], dport = 51820) => runFlow(wireguard, IPPROTO_UDP, 43462, dport, pk);
const strong = (pk: Pkt[], dport = 51820) => run(pk, dport).filter((e) => e.strength === 'strong');

describe('wireguard detector', () => {
  it('spec worked example: init then echoing response → medium at 0, strong wg.handshake at packet 1', () => {
    const ev = run([{ dir: 0, bytes: WG_SPEC_INIT }, { dir: 1, bytes: WG_SPEC_RESP }]);
    expect(ev.map((e) => [e.rule, e.strength, e.packet])).toEqual([
      ['wg.init', 'medium', 0],
      ['wg.handshake', 'strong', 1],
    ]);
    expect(ev[1]!.protocol).toBe('wireguard');
    expect(ev[1]!.source).toBe('wireguard');
    expect(ev[1]!.offset).toBe(8);
    expect(ev[1]!.reason).toContain('d7519a3c');
  });

  it('decides on any port (no port requirement)', () => {
    expect(strong([{ dir: 0, bytes: WG_SPEC_INIT }, { dir: 1, bytes: WG_SPEC_RESP }], 443)).toHaveLength(1);
  });

  it('response whose receiver index does not echo the sender index is not a handshake', () => {
    const resp = WG_SPEC_RESP.slice();
    resp[8] = resp[8]! ^ 1;
    expect(strong([{ dir: 0, bytes: WG_SPEC_INIT }, { dir: 1, bytes: resp }])).toEqual([]);
  });

  it('response in the same direction as the initiation is not an echo', () => {
    expect(strong([{ dir: 0, bytes: WG_SPEC_INIT }, { dir: 0, bytes: WG_SPEC_RESP }])).toEqual([]);
  });

  it('non-zero reserved bytes or wrong lengths are rejected', () => {
    const r = rng(1);
    expect(run([{ dir: 0, bytes: wgInit(7, r, 0x010203) }, { dir: 1, bytes: wgResp(9, 7, r) }])).toEqual([]);
    const longInit = new Uint8Array(149);
    longInit.set(WG_SPEC_INIT);
    expect(run([{ dir: 0, bytes: longInit }, { dir: 1, bytes: WG_SPEC_RESP }])).toEqual([]);
  });

  it('initiation with a non-zero mac2 (cookie held) gives no lone-init item but still pairs', () => {
    const init = WG_SPEC_INIT.slice();
    init[140] = 0x55;
    const ev = run([{ dir: 0, bytes: init }, { dir: 1, bytes: WG_SPEC_RESP }]);
    expect(ev.map((e) => e.rule)).toEqual(['wg.handshake']);
  });

  it('cookie reply echoing the sender index is strong', () => {
    const r = rng(2);
    const ev = run([{ dir: 0, bytes: wgInit(0x11223344, r) }, { dir: 1, bytes: wgCookie(0x11223344, r) }]);
    expect(ev.find((e) => e.rule === 'wg.cookie')).toMatchObject({ strength: 'strong', packet: 1, offset: 4 });
    expect(run([{ dir: 0, bytes: wgInit(0x11223344, r) }, { dir: 1, bytes: wgCookie(0x11223345, r) }]).map((e) => e.rule)).toEqual(['wg.init']);
  });

  it('the handshake is found after retransmitted initiations (5 s retries with new indexes)', () => {
    const r = rng(3);
    const ev = run([
      { dir: 0, bytes: wgInit(1, r) }, { dir: 0, bytes: wgInit(2, r) }, { dir: 0, bytes: wgInit(3, r) },
      { dir: 1, bytes: wgResp(99, 2, r) },
    ]);
    expect(ev.filter((e) => e.strength === 'strong').map((e) => [e.rule, e.packet])).toEqual([['wg.handshake', 3]]);
  });

  it('mid-stream: four data packets per direction with constant receivers and rising counters → strong (reference: both directions, ≥4 each)', () => {
    const r = rng(4);
    const pk: Pkt[] = [
      { dir: 0, bytes: wgData(0xaaaa, 500, 128, r) },
      { dir: 1, bytes: wgData(0xbbbb, 900, 96, r) },
      { dir: 0, bytes: wgData(0xaaaa, 501, 32, r) },
      { dir: 0, bytes: wgData(0xaaaa, 503, 1452, r) }, // one lost; full-size MTU-capped packet (not ≡ 0 mod 16)
      { dir: 0, bytes: wgData(0xaaaa, 504, 48, r) },
      { dir: 1, bytes: wgData(0xbbbb, 901, 1452, r) },
      { dir: 1, bytes: wgData(0xbbbb, 902, 64, r) },
      { dir: 1, bytes: wgData(0xbbbb, 903, 32, r) },
    ];
    const ev = run(pk);
    // The first direction to reach four is one-way (medium); the second completes the strong rule.
    expect(ev.map((e) => [e.rule, e.strength, e.packet])).toEqual([
      ['wg.data-oneway', 'medium', 4],
      ['wg.data', 'strong', 7],
    ]);
    expect(ev[1]!.reason).toContain('4 the other way under their own index');
    // Three packets per direction are not enough for either rule; one direction alone never becomes strong.
    expect(run(pk.filter((_, k) => k !== 4 && k !== 7))).toEqual([]);
    const oneWay = run([...pk.filter((p) => p.dir === 0), { dir: 0, bytes: wgData(0xaaaa, 505, 32, r) }]);
    expect(oneWay.map((e) => [e.rule, e.strength])).toEqual([['wg.data-oneway', 'medium']]);
  });

  it('data runs with a changing receiver index, jumping counters or odd sizes are rejected (a repeated counter is not counted)', () => {
    const r = rng(5);
    const d = (rx: number, c: number, len = 64): Pkt => ({ dir: 0, bytes: wgData(rx, c, len, r) });
    // The control: four consistent packets give the one-way item, so each run below fails on its one defect.
    expect(run([d(1, 1), d(1, 2), d(1, 3), d(1, 4)]).map((e) => e.rule)).toEqual(['wg.data-oneway']);
    expect(run([d(1, 1), d(2, 2), d(1, 3), d(1, 4)])).toEqual([]);
    expect(run([d(1, 1), d(1, 1), d(1, 2), d(1, 3)])).toEqual([]);
    expect(run([d(1, 1), d(1, 100000), d(1, 100001), d(1, 100002)])).toEqual([]);
    expect(run([d(1, 1, 33), d(1, 2, 49), d(1, 3, 40), d(1, 4, 64)])).toEqual([]); // several non-padded sizes
    expect(run([d(1, 1, 20), d(1, 2, 20), d(1, 3, 20), d(1, 4, 20)])).toEqual([]); // shorter than a keepalive
  });

  it('a single data packet never decides', () => {
    expect(run([{ dir: 0, bytes: wgData(1, 0, 32, rng(6)) }])).toEqual([]);
  });

  describe('look-alike traffic gives nothing', () => {
    it('random UDP payloads of every size 0-1500 on 51820', () => {
      const r = rng(7);
      for (let n = 0; n <= 1500; n++) {
        expect(wireguard.detect(new (class {
          transport = IPPROTO_UDP; ipVersion = 4 as const; srcPort = 1; dstPort = 51820; nPackets = 1;
          b = randomBytes(n, r);
          dir() { return 0; } len() { return this.b.length; } avail() { return this.b.length; } buf() { return this.b; } start() { return 0; }
        })())).toBeNull();
      }
    });
    it('DNS query with ID 0x0100 and flags 0000 on 53', () => {
      const q = hex('01 00 00 00 00 01 00 00 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01');
      expect(run([{ dir: 0, bytes: q }, { dir: 1, bytes: q }], 53)).toEqual([]);
    });
    it('STUN binding request/response and QUIC/DTLS-looking packets on 443', () => {
      const r = rng(8);
      const stun = hex('00 01 00 00 21 12 a4 42 01 02 03 04 05 06 07 08 09 0a 0b 0c');
      const quic = randomBytes(1200, r);
      quic[0] = 0xc3;
      const dtls = randomBytes(200, r);
      dtls.set([0x16, 0xfe, 0xfd], 0);
      expect(run([{ dir: 0, bytes: stun }, { dir: 1, bytes: stun }, { dir: 0, bytes: quic }, { dir: 0, bytes: dtls }], 443)).toEqual([]);
    });
  });

  it('every rule id it emits is documented', () => {
    const r = rng(9);
    const ev = [
      ...run([{ dir: 0, bytes: WG_SPEC_INIT }, { dir: 1, bytes: WG_SPEC_RESP }]),
      ...run([{ dir: 0, bytes: wgInit(5, r) }, { dir: 1, bytes: wgCookie(5, r) }]),
    ];
    for (const e of ev) expect(Object.keys(wireguard.rules)).toContain(e.rule);
  });
});

describe('wireguard vendor variant and reordering', () => {
  it('204/100-byte variant with the index echo is medium, not strong', () => {
    const r = rng(10);
    const init = randomBytes(204, r);
    init.set([1, 0, 0, 0, 0x44, 0x33, 0x22, 0x11], 0);
    const resp = randomBytes(100, r);
    resp.set([2, 0, 0, 0, 9, 9, 9, 9, 0x44, 0x33, 0x22, 0x11], 0);
    expect(run([{ dir: 0, bytes: init }, { dir: 1, bytes: resp }]).map((e) => [e.rule, e.strength, e.packet])).toEqual([['wg.variant-echo', 'medium', 1]]);
    resp[11] = 0x12;
    expect(run([{ dir: 0, bytes: init }, { dir: 1, bytes: resp }])).toEqual([]);
  });

  it('a capture where every packet appears twice (a mirror of ingress and egress) still has its runs', () => {
    const r = rng(12);
    const pk: Pkt[] = [];
    for (let k = 0; k < 4; k++) {
      const a = wgData(0xaaaa, 500 + k, 64 + 16 * k, r), b = wgData(0xbbbb, 900 + k, 96, r);
      pk.push({ dir: 0, bytes: a }, { dir: 0, bytes: a }, { dir: 1, bytes: b }, { dir: 1, bytes: b });
    }
    expect(run(pk).map((e) => [e.rule, e.strength, e.packet])).toEqual([['wg.data-oneway', 'medium', 12], ['wg.data', 'strong', 14]]);
    // Repeats count once: three distinct counters are still three.
    const d = (c: number): Pkt => ({ dir: 0, bytes: wgData(3, c, 64, r) });
    expect(run([d(1), d(2), d(2), d(3), d(3)])).toEqual([]);
  });

  it('a neighbour swap (counter step −1) is tolerated, a large step back is not', () => {
    const r = rng(11);
    const d = (c: number): Pkt => ({ dir: 0, bytes: wgData(7, c, 64, r) });
    expect(run([d(10), d(12), d(11), d(13)]).map((e) => e.rule)).toEqual(['wg.data-oneway']);
    expect(run([d(100), d(50), d(51), d(52)])).toEqual([]);
  });
});
