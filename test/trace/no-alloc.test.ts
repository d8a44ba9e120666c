/**
 * The trace layer's "zero-allocation hot path" as a measured claim (probe: ../helpers/gc-probe.ts): reading a
 * capture, decoding every frame and accounting it to its flow (payload snippets recorded, flows ended by FIN/RST
 * after their linger, idle expiry and the final flush) allocates nothing per packet — nor does reassembling IP
 * fragments (whole, duplicated, lost and timed out, IPv4 and IPv6). The same decoder, packet view and flow table
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
import { PcapWriter } from '../../src/trace/pcap-writer.js';
import { LINKTYPE_RAW } from '../../src/trace/types.js';
import { ipv4, ipv6, udp } from './decode-helpers.js';
import { fragmentOf, ipBody, split } from './frag-helpers.js';

/**
 * A raw-IP capture of fragmented UDP datagrams: 2,000 datagrams of 1.5–4.5 KB over 50 flows, IPv4 and IPv6,
 * interleaved, 10 ms apart (the trace spans ~65 s); every 7th loses a fragment (it times out), every 5th repeats one.
 */
function fragmentTrace(): { bytes: Uint8Array; packets: number } {
  const w = new PcapWriter({ linkType: LINKTYPE_RAW });
  let ts = Date.UTC(2026, 0, 1) * 1000, n = 0;
  const pending: Uint8Array[][] = [];
  for (let d = 0; d < 2000; d++) {
    const v6 = d % 3 === 0;
    const payload = new Uint8Array(1500 + ((d * 977) % 3000)).fill(d & 255);
    const sp = 1000 + (d % 50);
    const pkt = v6 ? ipv6('2001:db8::1', '2001:db8::2', 17, udp(sp, 4500, payload)) : ipv4('10.0.0.1', '10.0.0.2', 17, udp(sp, 4500, payload));
    let frags = split(ipBody(pkt), [1232, 1232, 1232]).map((p) => fragmentOf(pkt, d, p));
    if (d % 7 === 0) frags = frags.slice(0, -1);
    if (d % 5 === 0) frags.push(frags[0]!);
    pending.push(frags);
    // Two datagrams in flight at once: their fragments interleave.
    if (pending.length === 2) {
      const [a, b] = pending.splice(0, 2) as [Uint8Array[], Uint8Array[]];
      for (let k = 0; k < Math.max(a.length, b.length); k++) {
        for (const f of [a[k], b[k]]) if (f) { w.packet((ts += 10_000), f); n++; }
      }
    }
  }
  return { bytes: w.toBuffer(), packets: n };
}

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

  it('read + decode + reassemble + track: fragments (whole, duplicated, lost) of 2,000 datagrams × 5', async () => {
    const frag = fragmentTrace();
    const t = new FlowTable({}, { onEnd() {} }, dec);
    // Each pass runs 100 s of capture time after the previous one, so lost fragments time out in every pass.
    let shift = 0;
    const fragPass = (): number => {
      let n = 0;
      for (let r = 0; r < 5; r++) {
        shift += 100e6;
        readCaptureBuffer(frag.bytes, 'frag', (p) => {
          p.tsUs += shift;
          if (dec.decode(p, view)) t.add(view);
          n++;
        });
        t.flush();
      }
      return n;
    };
    expect(fragPass()).toBe(5 * frag.packets);
    const st = t.stats.reassembly;
    const timedOut = st.timedOut;
    expect(st.reassembled).toBeGreaterThan(5 * 1500);
    expect(st.duplicates).toBeGreaterThan(0);
    expect(st.timedOut).toBeGreaterThan(0);
    const r = await youngAllocation(fragPass);
    expect(st.timedOut).toBeGreaterThan(timedOut * 2);
    expect(r.scavenges).toBe(0);
    // One 16-byte object per fragment would be ~0.6 MB.
    expect(r.bytes).toBeLessThanOrEqual(32 * 1024);
  });
});
