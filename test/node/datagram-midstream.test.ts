/**
 * The UDP adapter on a tunnel seen mid-stream: OpenVPN's data rule needs 8 P_DATA_V2 datagrams each way, 16 in all,
 * beyond the adapter's default record of 8 datagrams per tuple; with `maxPackets: 16` the tuple is OpenVPN.
 */
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import { DatagramClassifier } from '../../src/node/datagram.js';
import { ovpnDataV2, rng } from '../detect/udp-vpn-builders.js';

function run(maxPackets?: number): string | undefined {
  const r = rng(3);
  const dc = new DatagramClassifier(createClassifier(), maxPackets === undefined ? {} : { maxPackets });
  const client = { address: '192.0.2.10', port: 40000 }, server = { address: '198.51.100.7', port: 1194 };
  let label: string | undefined;
  for (let i = 0; i < 12 && label === undefined; i++) {
    for (const [from, to, id] of [[client, server, 50_000 + i], [server, client, 70_000 + i]] as const) {
      const v = dc.inspect(ovpnDataV2(0x48, 0x00a1b2, id, 100, r), from, to);
      if (v !== undefined && v.label !== 'ordinary') label = `${v.label} ${v.protocol}`;
    }
  }
  dc.close?.();
  return label;
}

describe('DatagramClassifier: OpenVPN seen mid-stream', () => {
  it('maxPackets 16: OpenVPN from its data channel; the default 8: not enough for the rule', () => {
    expect(run(16)).toBe('unregistered_vpn openvpn');
    expect(run()).toBeUndefined();
  });
});
