/**
 * The trace layer's "zero-allocation hot path" as a measured claim (probe: ../helpers/gc-probe.ts): reading a
 * capture, decoding every frame and accounting it to its flow (payload snippets recorded, flows ended by FIN/RST,
 * idle expiry and the final flush) allocates nothing per packet. The same decoder, packet view and flow table
 * serve every pass; what a pass may allocate is constant (one capture reader). A control that allocates one small
 * object per packet shows the probe sees it.
 */
import { describe, expect, it } from 'vitest';
import { synthesize } from '../../src/synth/generate.js';
import { Decoder, newPacketView } from '../../src/trace/decode.js';
import { FlowTable } from '../../src/trace/flow-table.js';
import { readCaptureBuffer } from '../../src/trace/reader.js';
import { expectAllocationSeen, youngAllocation } from '../helpers/gc-probe.js';
import { concat } from '../detect/udp-vpn-builders.js';

describe('the trace layer allocates nothing per packet', () => {
  const parts: Uint8Array[] = [];
  // VPN and ordinary flows of every kind the generator makes, IPv4 and IPv6, TCP opening and closing.
  synthesize({ packets: 60_000, flows: 2_000, vpnShare: 0.3, registeredShare: 0, seed: 5 }, (c) => parts.push(c.slice()));
  const trace = concat(...parts);
  const dec = new Decoder();
  const view = newPacketView();
  let ended = 0;
  const table = new FlowTable({}, { onEnd() { ended++; } });
  const pass = (extra?: (n: number) => void) => (): number => {
    let n = 0;
    for (let r = 0; r < 5; r++) {
      readCaptureBuffer(trace, 'synth', (p) => {
        if (dec.decode(p, view)) table.add(view);
        if (extra) extra(n);
        n++;
      });
      table.flush();
    }
    return n;
  };

  it('sees every packet and flow', () => {
    ended = 0;
    expect(pass()()).toBe(5 * 60_000);
    expect(ended).toBeGreaterThanOrEqual(5 * 2_000);
  });

  it('control: one small array per packet is seen', async () => {
    const keep: number[][] = new Array(64);
    // 300k arrays of ≥ 16 bytes, asserted on bytes (a scavenge may not happen: the probe counts bytes regardless).
    expectAllocationSeen(await youngAllocation(pass((n) => { keep[n & 63] = [n]; })), 5 * 60_000 * 16);
  });

  it('read + decode + track: 300k packets, 10k flows', async () => {
    const r = await youngAllocation(pass());
    expect(r.scavenges).toBe(0);
    // Five capture readers and the probe's own reading: ~8 KiB; a tier-up during the loop may add a few KiB once.
    // One 16-byte object per packet would be 4.8 MB.
    expect(r.bytes).toBeLessThanOrEqual(32 * 1024);
  });
});
