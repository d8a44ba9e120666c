import { describe, expect, it } from 'vitest';
import { cloudflareWarp } from '../../src/detect/cloudflare-warp.js';
import { wireguard } from '../../src/detect/wireguard.js';
import { IPPROTO_UDP } from '../../src/detect/types.js';
import { randomBytes, rng, runFlow, wgData, wgInit, wgResp, type Pkt } from './udp-vpn-builders.js';

const run = (pk: Pkt[]) => runFlow(cloudflareWarp, IPPROTO_UDP, 60555, 2408, pk);
/** Official-client data: C4, 3-byte device value at 1-3 (LE word), receiver value, LE counter. */
const warpData = (dev: number, rx: number, c: number, len: number, r: () => number) => wgData(rx, c, len, r, 0xc4 | (dev << 8));

function official(r: () => number): Pkt[] {
  const init = randomBytes(194, r);
  init.set([0xc1, 0, 0, 0], 0);
  const resp = randomBytes(778, r);
  resp.set([0xc2, 0x5e, 0x21, 0x07], 0);
  const dev = 0x07215e; // bytes 5e 21 07 as a LE 24-bit value
  const pk: Pkt[] = [{ dir: 0, bytes: init }, { dir: 1, bytes: resp }];
  for (let k = 0; k < 4; k++) pk.push({ dir: 0, bytes: warpData(dev, 0x000c3b9a, k + 1, 84 + 8 * (k % 2), r) });
  for (let k = 0; k < 4; k++) pk.push({ dir: 1, bytes: warpData(dev, 0x01839068, k, 72 + 20 * (k % 2), r) });
  return pk;
}

describe('cloudflare-warp detector', () => {
  it('official client: C1/194 medium at 0, handshake echo strong at 2, data structure medium when both directions reach 4', () => {
    const ev = run(official(rng(1)));
    expect(ev.map((e) => [e.rule, e.strength, e.packet])).toEqual([
      ['warp.init', 'medium', 0],
      ['warp.handshake', 'strong', 2],
      ['warp.data', 'medium', 9],
    ]);
    expect(ev.every((e) => e.protocol === 'cloudflare-warp' && e.source === 'cloudflare-warp')).toBe(true);
    expect(ev[1]!.reason).toContain('5e2107');
  });

  it('data packets repeating a different 3-byte value than the reply do not complete the handshake', () => {
    const pk = official(rng(2));
    pk[1]!.bytes[1] = 0x99;
    expect(run(pk).map((e) => e.rule)).toEqual(['warp.init', 'warp.data']);
  });

  it('counters that do not rise break the data structure', () => {
    const r = rng(3);
    const pk: Pkt[] = [];
    for (let k = 0; k < 4; k++) pk.push({ dir: 0, bytes: warpData(0x123456, 5, 7, 84, r) });
    for (let k = 0; k < 4; k++) pk.push({ dir: 1, bytes: warpData(0x123456, 6, k, 84, r) });
    expect(run(pk)).toEqual([]);
  });

  it('standard WireGuard with a non-zero client id in the reserved bytes is WARP; with zero bytes it is not', () => {
    const r = rng(4);
    const ev = run([{ dir: 0, bytes: wgInit(0xabcdef01, r, 0x0a0b0c) }, { dir: 1, bytes: wgResp(0x1234, 0xabcdef01, r, 0x0a0b0c) }]);
    expect(ev.map((e) => [e.rule, e.strength, e.packet])).toEqual([['warp.wg-client-id', 'strong', 1]]);
    const plain: Pkt[] = [{ dir: 0, bytes: wgInit(0xabcdef01, r) }, { dir: 1, bytes: wgResp(0x1234, 0xabcdef01, r) }];
    expect(run(plain)).toEqual([]);
    expect(runFlow(wireguard, IPPROTO_UDP, 1, 2408, plain).some((e) => e.rule === 'wg.handshake')).toBe(true);
  });

  it('random payloads on 2408 give nothing', () => {
    const r = rng(5);
    const pk: Pkt[] = [];
    for (let k = 0; k < 16; k++) pk.push({ dir: k & 1, bytes: randomBytes(1 + ((k * 97) % 1400), r) });
    expect(run(pk)).toEqual([]);
  });
});
