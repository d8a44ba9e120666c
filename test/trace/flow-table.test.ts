import { describe, expect, it } from 'vitest';
import { FLOW_NUM_LAYOUT, FlowTable, type FlowListener } from '../../src/trace/flow-table.js';
import type { EndReason, FlowHandle } from '../../src/trace/types.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../src/trace/frame-builder.js';
import { makeView, type ViewSpec } from './packet-view-helper.js';
import { u8 } from '../../src/detect/types.js';

interface Ended {
  src: string;
  dst: string;
  reason: EndReason;
  pf: number;
  pr: number;
  bf: number;
  br: number;
  first: number;
  last: number;
  flags: number;
  vlan: number;
  encap: number;
  spiFwd: number;
  spiRev: number;
}

function collect(opts: ConstructorParameters<typeof FlowTable>[0] = {}) {
  const ended: Ended[] = [];
  const packets: { isNew: boolean; payload: boolean; id: number }[] = [];
  const listener: FlowListener = {
    onPacket(f, isNew, payload) {
      packets.push({ isNew, payload, id: f.id });
    },
    onEnd(f: FlowHandle, reason) {
      const h = f as FlowHandle & { spiFwd: number; spiRev: number };
      ended.push({
        src: f.srcText(), dst: f.dstText(), reason, pf: f.packetsFwd, pr: f.packetsRev, bf: f.bytesFwd,
        br: f.bytesRev, first: f.firstSeenUs, last: f.lastSeenUs, flags: f.tcpFlags, vlan: f.vlan, encap: f.encap,
        spiFwd: h.spiFwd, spiRev: h.spiRev,
      });
    },
  };
  const t = new FlowTable(opts, listener);
  const add = (s: ViewSpec) => t.add(makeView(s));
  return { t, ended, packets, add };
}

const A = '10.0.0.1', B = '192.0.2.7';

describe('FlowTable basics', () => {
  it('groups both directions into one flow with the first sender as initiator', () => {
    const { t, ended, add } = collect();
    add({ tsUs: 1_000_000, src: A, dst: B, proto: 17, srcPort: 5000, dstPort: 53, payload: new Uint8Array(10) });
    add({ tsUs: 1_000_500, src: B, dst: A, proto: 17, srcPort: 53, dstPort: 5000, payload: new Uint8Array(30) });
    add({ tsUs: 1_001_000, src: A, dst: B, proto: 17, srcPort: 5000, dstPort: 53 });
    expect(t.size).toBe(1);
    t.flush();
    expect(t.size).toBe(0);
    expect(ended).toHaveLength(1);
    const e = ended[0]!;
    expect(e).toMatchObject({ src: '10.0.0.1:5000', dst: '192.0.2.7:53', reason: 'eof', pf: 2, pr: 1 });
    expect(e.bf).toBe(20 + 8 + 10 + 20 + 8);
    expect(e.br).toBe(20 + 8 + 30);
    expect(e.first).toBe(1_000_000);
    expect(e.last).toBe(1_001_000);
    expect(t.stats).toMatchObject({ flows: 1, ended: 1, eof: 1 });
  });

  it('packet and byte counters pass 2^32 without wrapping (a tunnel at 100k packets/s does in 12 hours)', () => {
    const { t, ended, packets, add } = collect();
    add({ tsUs: 1_000_000, src: A, dst: B, proto: 17, srcPort: 5000, dstPort: 4500, payload: new Uint8Array(10) });
    add({ tsUs: 1_000_100, src: B, dst: A, proto: 17, srcPort: 4500, dstPort: 5000, payload: new Uint8Array(10) });
    expect(packets).toHaveLength(2);
    // The only live flow holds slot 0 of a fresh table (its counters say so below).
    const slot = 0;
    const L = FLOW_NUM_LAYOUT;
    expect([t.num[slot * L.stride + L.packetsFwd], t.num[slot * L.stride + L.packetsRev]]).toEqual([1, 1]);
    // As if 2^32 - 1 packets and 2^40 bytes had gone each way already.
    t.num[slot * L.stride + L.packetsFwd] = 2 ** 32 - 1;
    t.num[slot * L.stride + L.packetsRev] = 2 ** 32 - 1;
    t.num[slot * L.stride + L.bytesFwd] = 2 ** 40;
    add({ tsUs: 1_000_200, src: A, dst: B, proto: 17, srcPort: 5000, dstPort: 4500, payload: new Uint8Array(10) });
    add({ tsUs: 1_000_300, src: A, dst: B, proto: 17, srcPort: 5000, dstPort: 4500, payload: new Uint8Array(10) });
    add({ tsUs: 1_000_400, src: B, dst: A, proto: 17, srcPort: 4500, dstPort: 5000, payload: new Uint8Array(10) });
    t.flush();
    expect(ended[0]).toMatchObject({ pf: 2 ** 32 + 1, pr: 2 ** 32, bf: 2 ** 40 + 2 * (20 + 8 + 10) });
  });

  it('distinguishes ports, protocol, vlan and encap', () => {
    const { t, ended, add } = collect();
    const base = { tsUs: 1, src: A, dst: B, proto: 17, srcPort: 1, dstPort: 2 };
    add(base);
    add({ ...base, srcPort: 3 });
    add({ ...base, proto: 6 });
    add({ ...base, vlan: 10 });
    add({ ...base, encap: 3 });
    add({ ...base, src: B, dst: A, srcPort: 2, dstPort: 1 }); // same as first
    expect(t.size).toBe(5);
    t.flush();
    expect(ended.map((e) => e.vlan).sort()).toEqual([-1, -1, -1, -1, 10]);
    expect(ended.filter((e) => e.encap === 3)).toHaveLength(1);
  });

  it('TCP: SYN sender initiates; a SYN-ACK seen first makes its receiver the initiator', () => {
    const { t, ended, add } = collect();
    add({ tsUs: 1, src: B, dst: A, proto: 6, srcPort: 443, dstPort: 40000, tcpFlags: TCP_SYN | TCP_ACK });
    add({ tsUs: 2, src: A, dst: B, proto: 6, srcPort: 40000, dstPort: 443, tcpFlags: TCP_ACK });
    t.flush();
    expect(ended[0]).toMatchObject({ src: '10.0.0.1:40000', dst: '192.0.2.7:443', pf: 1, pr: 1 });
    expect(ended[0]!.flags).toBe(TCP_SYN | TCP_ACK);
  });

  it('TCP, linger 0: FIN both ways then the final ACK ends the connection at once; a later packet starts a new flow', () => {
    const { t, ended, add } = collect({ tcpLingerSec: 0 });
    const c2s = { src: A, dst: B, proto: 6, srcPort: 40000, dstPort: 80 };
    const s2c = { src: B, dst: A, proto: 6, srcPort: 80, dstPort: 40000 };
    add({ ...c2s, tsUs: 1, tcpFlags: TCP_SYN });
    add({ ...s2c, tsUs: 2, tcpFlags: TCP_SYN | TCP_ACK });
    add({ ...c2s, tsUs: 3, tcpFlags: TCP_FIN | TCP_ACK });
    add({ ...s2c, tsUs: 4, tcpFlags: TCP_FIN | TCP_ACK });
    expect(ended).toHaveLength(0);
    add({ ...c2s, tsUs: 5, tcpFlags: TCP_ACK });
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ reason: 'fin', pf: 3, pr: 2 });
    expect(t.size).toBe(0);
    add({ ...c2s, tsUs: 6, tcpFlags: TCP_ACK });
    expect(t.size).toBe(1);
    expect(t.stats.fin).toBe(1);
  });

  it('TCP: a new SYN on a closed (FIN/FIN) flow ends it and starts another', () => {
    const { t, ended, add } = collect();
    const c2s = { src: A, dst: B, proto: 6, srcPort: 40000, dstPort: 80 };
    const s2c = { src: B, dst: A, proto: 6, srcPort: 80, dstPort: 40000 };
    add({ ...c2s, tsUs: 1, tcpFlags: TCP_FIN | TCP_ACK });
    add({ ...s2c, tsUs: 2, tcpFlags: TCP_FIN | TCP_ACK });
    add({ ...c2s, tsUs: 3, tcpFlags: TCP_SYN });
    expect(ended.map((e) => e.reason)).toEqual(['fin']);
    expect(t.size).toBe(1);
  });

  it('TCP, linger 0: RST ends the flow immediately', () => {
    const { t, ended, add } = collect({ tcpLingerSec: 0 });
    add({ tsUs: 1, src: A, dst: B, proto: 6, srcPort: 1, dstPort: 2, tcpFlags: TCP_SYN });
    add({ tsUs: 2, src: B, dst: A, proto: 6, srcPort: 2, dstPort: 1, tcpFlags: TCP_RST | TCP_ACK });
    expect(ended.map((e) => [e.reason, e.pf, e.pr])).toEqual([['rst', 1, 1]]);
    expect(t.size).toBe(0);
  });

  it('expires idle flows by capture time with separate TCP/other timeouts', () => {
    const { t, ended, add } = collect({ idleTimeoutSec: 10, tcpIdleTimeoutSec: 100 });
    add({ tsUs: 0, src: A, dst: B, proto: 17, srcPort: 1, dstPort: 2 });
    add({ tsUs: 0, src: A, dst: B, proto: 6, srcPort: 1, dstPort: 2, tcpFlags: TCP_ACK });
    add({ tsUs: 5e6, src: A, dst: B, proto: 1 });
    t.advance(11e6);
    expect(ended.map((e) => e.src)).toEqual(['10.0.0.1:1']);
    expect(ended[0]!.reason).toBe('idle');
    t.advance(15.5e6);
    expect(ended.map((e) => e.src)).toEqual(['10.0.0.1:1', '10.0.0.1']);
    // add() expires on its own as capture time moves on
    add({ tsUs: 200e6, src: B, dst: A, proto: 17, srcPort: 9, dstPort: 9 });
    expect(ended).toHaveLength(3);
    expect(ended[2]!.src).toBe('10.0.0.1:1');
    expect(t.stats.idle).toBe(3);
    expect(t.size).toBe(1);
  });

  it('evicts the least recently active flow at maxFlows', () => {
    const { t, ended, add } = collect({ maxFlows: 2 });
    add({ tsUs: 1, src: A, dst: B, proto: 17, srcPort: 1, dstPort: 1 });
    add({ tsUs: 2, src: A, dst: B, proto: 6, srcPort: 2, dstPort: 2, tcpFlags: TCP_ACK });
    add({ tsUs: 3, src: A, dst: B, proto: 17, srcPort: 1, dstPort: 1 }); // touch flow 1
    add({ tsUs: 4, src: A, dst: B, proto: 17, srcPort: 3, dstPort: 3 });
    expect(ended.map((e) => [e.src, e.reason])).toEqual([['10.0.0.1:2', 'evicted']]);
    expect(t.size).toBe(2);
    expect(t.stats.evicted).toBe(1);
  });

  it('reassembly off: attributes non-first fragments through the fragment map and counts unmatched ones', () => {
    const { t, ended, add } = collect({ maxReassemblies: 0 });
    add({ tsUs: 1, src: A, dst: B, proto: 17, srcPort: 53, dstPort: 53, payload: new Uint8Array(100), frag: { id: 7, offset: 0, more: true } });
    add({ tsUs: 2, src: A, dst: B, proto: 17, payload: new Uint8Array(50), frag: { id: 7, offset: 1480, more: false } });
    add({ tsUs: 3, src: A, dst: B, proto: 17, payload: new Uint8Array(50), frag: { id: 8, offset: 1480, more: false } });
    t.flush();
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ pf: 2, src: '10.0.0.1:53' });
    expect(t.stats.fragmentsMatched).toBe(1);
    expect(t.stats.fragmentsUnmatched).toBe(1);
    expect(t.stats.packets).toBe(3);
  });

  it('reassembly off: attributes IPv6 non-first fragments and exposes IPv6 addresses through addrBytes()', () => {
    const addrs: string[] = [];
    const t = new FlowTable({ maxReassemblies: 0 }, {
      onEnd(f) {
        const b = f.addrBytes();
        addrs.push(Buffer.from(b.subarray(f.src6Off(), f.src6Off() + 16)).toString('hex'), Buffer.from(b.subarray(f.dst6Off(), f.dst6Off() + 16)).toString('hex'));
        expect(f.packetsRev).toBe(2);
        expect(f.src4).toBe(0);
      },
    });
    const S = '2001:db8::53', C = '2001:db8::c';
    t.add(makeView({ tsUs: 1, src: C, dst: S, proto: 17, srcPort: 999, dstPort: 53 }));
    t.add(makeView({ tsUs: 2, src: S, dst: C, proto: 17, srcPort: 53, dstPort: 999, payload: new Uint8Array(1400), frag: { id: 0xdeadbeef, offset: 0, more: true } }));
    t.add(makeView({ tsUs: 3, src: S, dst: C, proto: 17, payload: new Uint8Array(300), frag: { id: 0xdeadbeef, offset: 1448, more: false } }));
    t.flush();
    expect(t.stats.fragmentsMatched).toBe(1);
    expect(addrs).toEqual(['2001' + '0db8' + '0'.repeat(20) + '000c', '2001' + '0db8' + '0'.repeat(20) + '0053']);
  });

  it('linger 0: a packet after RST starts a new flow; out-of-order timestamps keep first <= last', () => {
    const { t, ended, add } = collect({ tcpLingerSec: 0 });
    add({ tsUs: 100, src: A, dst: B, proto: 6, srcPort: 1, dstPort: 2, tcpFlags: TCP_RST });
    add({ tsUs: 90, src: A, dst: B, proto: 6, srcPort: 1, dstPort: 2, tcpFlags: TCP_ACK });
    add({ tsUs: 80, src: B, dst: A, proto: 6, srcPort: 2, dstPort: 1, tcpFlags: TCP_ACK });
    t.flush();
    // lastSeen is the capture clock at the flow's last packet (100: time does not go back), firstSeen its earliest time.
    expect(ended.map((e) => [e.reason, e.first, e.last, e.pf, e.pr])).toEqual([['rst', 100, 100, 1, 0], ['eof', 80, 100, 1, 1]]);
  });

  it('keys ESP by address pair (not SPI) and tracks the SPI per direction', () => {
    const { t, ended, add } = collect();
    add({ tsUs: 1, src: A, dst: B, proto: 50, spi: 0x1111, payload: new Uint8Array(40) });
    add({ tsUs: 2, src: B, dst: A, proto: 50, spi: 0x2222, payload: new Uint8Array(40) });
    add({ tsUs: 3, src: A, dst: B, proto: 50, spi: 0x3333, payload: new Uint8Array(40) });
    t.flush();
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ src: '10.0.0.1', dst: '192.0.2.7', pf: 2, pr: 1, spiFwd: 0x3333, spiRev: 0x2222 });
    expect(t.stats.espSpiChanges).toBe(1);
  });

  it('formats IPv6 endpoints per RFC 5952', () => {
    const { t, ended, add } = collect();
    add({ tsUs: 1, src: '2001:0db8:0:0:1:0:0:1', dst: 'fe80::1', proto: 17, srcPort: 1, dstPort: 2 });
    add({ tsUs: 1, src: '2001:db8::1', dst: '2001:db8::2', proto: 58 });
    t.flush();
    expect(ended.map((e) => [e.src, e.dst]).sort()).toEqual([
      ['2001:db8::1', '2001:db8::2'],
      ['[2001:db8::1:0:0:1]:1', '[fe80::1]:2'],
    ]);
  });

  it('validates options', () => {
    expect(() => new FlowTable({ maxFlows: 0 }, { onEnd() {} })).toThrow(/maxFlows/);
    expect(() => new FlowTable({ idleTimeoutSec: -1 }, { onEnd() {} })).toThrow(/idleTimeoutSec/);
  });
});

describe('FlowTable payload recording', () => {
  const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255);

  it('exposes the whole current payload and stored first bytes of earlier ones', () => {
    const seen: { n: number; avail: number[]; len: number[]; dir: number[]; first: number[] }[] = [];
    const t = new FlowTable({ maxPayloadPackets: 3, payloadBytes: 4 }, {
      onPacket(f, _isNew, payload) {
        if (!payload) return;
        const v = f.view;
        const r = { n: v.nPackets, avail: [] as number[], len: [] as number[], dir: [] as number[], first: [] as number[] };
        for (let i = 0; i < v.nPackets; i++) {
          r.avail.push(v.avail(i)); r.len.push(v.len(i)); r.dir.push(v.dir(i)); r.first.push(u8(v, i, 3));
        }
        seen.push(r);
      },
      onEnd() {},
    });
    const c = { src: A, dst: B, proto: 6, srcPort: 1, dstPort: 443 };
    const s = { src: B, dst: A, proto: 6, srcPort: 443, dstPort: 1 };
    t.add(makeView({ ...c, tsUs: 1, tcpFlags: TCP_SYN }));
    t.add(makeView({ ...c, tsUs: 2, tcpFlags: TCP_ACK | TCP_PSH, payload: bytes(100, 1) }));
    t.add(makeView({ ...s, tsUs: 3, tcpFlags: TCP_ACK | TCP_PSH, payload: bytes(50, 2) }));
    t.add(makeView({ ...c, tsUs: 4, tcpFlags: TCP_ACK | TCP_PSH, payload: bytes(3, 3) }));
    t.add(makeView({ ...c, tsUs: 5, tcpFlags: TCP_ACK | TCP_PSH, payload: bytes(9, 4) })); // beyond N
    expect(seen).toEqual([
      { n: 1, avail: [100], len: [100], dir: [0], first: [22] },
      { n: 2, avail: [4, 50], len: [100, 50], dir: [0, 1], first: [22, 23] },
      { n: 3, avail: [4, 4, 3], len: [100, 50, 3], dir: [0, 1, 0], first: [22, 23, -1] },
    ]);
    expect(t.capturingFlows).toBe(1);
    t.flush();
    expect(t.capturingFlows).toBe(0);
  });

  it('the view never serves stale reads: full newest payload only inside its packet callback; nothing after stopCapture', () => {
    const got: string[] = [];
    const t = new FlowTable({ maxPayloadPackets: 4, payloadBytes: 4 }, {
      onPacket(f, _isNew, payload) {
        if (!payload) return;
        const v = f.view;
        const i = v.nPackets - 1;
        got.push(`pkt n=${v.nPackets} avail=${v.avail(i)} byte3=${u8(v, i, 3)}`);
        if (v.nPackets === 2) {
          f.stopCapture();
          got.push(`stopped n=${v.nPackets} avail=${v.avail(0)}`);
        }
      },
      onEnd(f) {
        const v = f.view;
        got.push(`end n=${v.nPackets} avail0=${v.avail(0)}`);
      },
    });
    const c = { src: A, dst: B, proto: 17, srcPort: 1, dstPort: 53 };
    t.add(makeView({ ...c, tsUs: 1, payload: bytes(100, 1) }));
    t.add(makeView({ ...c, tsUs: 2, payload: bytes(10, 2) }));
    t.add(makeView({ ...c, tsUs: 3, payload: bytes(10, 3) }));
    t.flush();
    // After stopCapture the stored first bytes are gone at once (avail 0), not served from a cache.
    expect(got).toEqual(['pkt n=1 avail=100 byte3=22', 'pkt n=2 avail=10 byte3=23', 'stopped n=2 avail=0', 'end n=0 avail0=0']);
  });

  it('after its packet callback, the newest packet shows only its stored first bytes', () => {
    let handleView: { avail(i: number): number; nPackets: number } | null = null;
    const t = new FlowTable({ maxPayloadPackets: 4, payloadBytes: 4 }, {
      onPacket(f, _isNew, payload) {
        if (!payload) return;
        handleView = f.view;
        expect(f.view.avail(0)).toBe(100); // the whole payload, inside the callback
      },
      onEnd() {},
    });
    t.add(makeView({ src: A, dst: B, proto: 17, srcPort: 1, dstPort: 53, tsUs: 1, payload: bytes(100, 1) }));
    // Read between packets (same flyweight, same slot): the full-payload window of the callback is closed.
    expect(handleView!.nPackets).toBe(1);
    expect(handleView!.avail(0)).toBe(4);
  });

  it('stopCapture releases the snippet slot and stops payload callbacks', () => {
    let payloads = 0;
    const t = new FlowTable({ maxCapturingFlows: 1 }, {
      onPacket(f, _n, payload) {
        if (payload) {
          payloads++;
          f.stopCapture();
        }
      },
      onEnd() {},
    });
    for (let i = 0; i < 3; i++) t.add(makeView({ tsUs: i, src: A, dst: B, proto: 17, srcPort: i, dstPort: 9, payload: bytes(5, i) }));
    t.add(makeView({ tsUs: 9, src: A, dst: B, proto: 17, srcPort: 0, dstPort: 9, payload: bytes(5, 0) }));
    expect(payloads).toBe(3);
    expect(t.capturingFlows).toBe(0);
    expect(t.stats.captureSkipped).toBe(0);
  });

  it('skips capture (counted) when the snippet pool is full', () => {
    let payloads = 0;
    const t = new FlowTable({ maxCapturingFlows: 1 }, { onPacket(_f, _n, p) { if (p) payloads++; }, onEnd() {} });
    for (let i = 0; i < 3; i++) t.add(makeView({ tsUs: i, src: A, dst: B, proto: 17, srcPort: i, dstPort: 9, payload: bytes(5, i) }));
    expect(payloads).toBe(1);
    expect(t.stats.captureSkipped).toBe(2);
  });
});

describe('TCP connection lifecycle: a closed connection lingers and absorbs its trailing packets', () => {
  const c2s = { src: A, dst: B, proto: 6, srcPort: 40000, dstPort: 443 };
  const s2c = { src: B, dst: A, proto: 6, srcPort: 443, dstPort: 40000 };
  const S = 1_000_000;
  /** SYN, SYN-ACK, ACK, data both ways, FIN both ways at 2 s, the final ACK. */
  const conversation = (add: (v: ViewSpec) => void): void => {
    add({ ...c2s, tsUs: S, tcpFlags: TCP_SYN });
    add({ ...s2c, tsUs: S + 10, tcpFlags: TCP_SYN | TCP_ACK });
    add({ ...c2s, tsUs: S + 20, tcpFlags: TCP_ACK });
    add({ ...c2s, tsUs: S + 30, tcpFlags: TCP_ACK | TCP_PSH, payload: new Uint8Array(10) });
    add({ ...s2c, tsUs: S + 40, tcpFlags: TCP_ACK | TCP_PSH, payload: new Uint8Array(20) });
    add({ ...c2s, tsUs: 2 * S, tcpFlags: TCP_FIN | TCP_ACK });
    add({ ...s2c, tsUs: 2 * S + 10, tcpFlags: TCP_FIN | TCP_ACK });
    add({ ...c2s, tsUs: 2 * S + 20, tcpFlags: TCP_ACK }); // the final ACK: closed
  };

  it('a retransmitted FIN, another ACK and a late RST stay in the one record; it ends with fin after the linger', () => {
    const { t, ended, add } = collect();
    conversation(add);
    add({ ...s2c, tsUs: 3 * S, tcpFlags: TCP_FIN | TCP_ACK }); // retransmitted FIN (the final ACK was lost)
    add({ ...c2s, tsUs: 3 * S + 20, tcpFlags: TCP_ACK }); // acknowledged again
    add({ ...c2s, tsUs: 5 * S, tcpFlags: TCP_RST }); // late RST
    expect(ended).toHaveLength(0);
    expect(t.stats.afterClose).toBe(3);
    t.advance(5 * S + 4.5e6);
    expect(ended).toHaveLength(0); // 4.5 s after its last packet: still lingering (default 5 s)
    t.advance(5 * S + 6e6);
    expect(ended.map((e) => [e.reason, e.pf, e.pr, e.last])).toEqual([['fin', 7, 4, 5 * S]]);
    expect(t.stats.fin).toBe(1);
    expect(t.size).toBe(0);
  });

  it('a RST closes too; its end reason is rst, and trailing packets are absorbed', () => {
    const { t, ended, add } = collect();
    add({ ...c2s, tsUs: S, tcpFlags: TCP_SYN });
    add({ ...s2c, tsUs: S + 10, tcpFlags: TCP_RST | TCP_ACK });
    add({ ...c2s, tsUs: S + 20, tcpFlags: TCP_ACK });
    t.flush();
    expect(ended.map((e) => [e.reason, e.pf, e.pr])).toEqual([['rst', 2, 1]]);
    expect(t.stats.rst).toBe(1);
  });

  it('a new SYN on the tuple during the linger ends the old connection at once and starts a new flow', () => {
    const { t, ended, add } = collect();
    conversation(add);
    add({ ...c2s, tsUs: 2 * S + 500, tcpFlags: TCP_SYN });
    expect(ended.map((e) => [e.reason, e.pf, e.pr])).toEqual([['fin', 5, 3]]);
    add({ ...s2c, tsUs: 2 * S + 600, tcpFlags: TCP_SYN | TCP_ACK });
    t.flush();
    expect(ended.map((e) => [e.reason, e.src, e.pf, e.pr])).toEqual([['fin', '10.0.0.1:40000', 5, 3], ['eof', '10.0.0.1:40000', 1, 1]]);
  });

  it('between the second FIN and the final ACK the connection is still open: a late final ACK is its own', () => {
    const { t, ended, add } = collect();
    add({ ...c2s, tsUs: S, tcpFlags: TCP_SYN });
    add({ ...s2c, tsUs: S + 10, tcpFlags: TCP_SYN | TCP_ACK });
    add({ ...c2s, tsUs: 2 * S, tcpFlags: TCP_FIN | TCP_ACK });
    add({ ...s2c, tsUs: 2 * S + 10, tcpFlags: TCP_FIN | TCP_ACK });
    add({ ...c2s, tsUs: 20 * S, tcpFlags: TCP_ACK }); // 18 s later, beyond any linger
    expect(t.stats.afterClose).toBe(0);
    t.flush();
    expect(ended.map((e) => [e.reason, e.pf, e.pr])).toEqual([['fin', 3, 2]]);
    // Never acknowledged: the connection ends as fin when it idles out (or at the end of input).
    const b = collect({ tcpIdleTimeoutSec: 10 });
    b.add({ ...c2s, tsUs: S, tcpFlags: TCP_FIN | TCP_ACK });
    b.add({ ...s2c, tsUs: S + 10, tcpFlags: TCP_FIN | TCP_ACK });
    b.t.advance(S + 11e6);
    expect(b.ended.map((e) => e.reason)).toEqual(['fin']);
  });

  it('a packet after the linger starts a new flow even before the periodic sweep ran', () => {
    const { t, ended, add } = collect({ tcpLingerSec: 2 });
    conversation(add);
    t.advance(2 * S + 1_500_000); // the sweep runs at most once a second: the next one is due at 3.5 s
    add({ ...c2s, tsUs: 2 * S + 20 + 2_000_001, tcpFlags: TCP_ACK }); // 2 s + 1 µs after the final ACK
    expect(ended.map((e) => e.reason)).toEqual(['fin']);
    expect(t.size).toBe(1);
  });

  it('the same for idle flows: a packet after the idle timeout starts a new flow, whenever the sweep ran', () => {
    const { t, ended, add } = collect({ idleTimeoutSec: 10 });
    add({ tsUs: S, src: A, dst: B, proto: 17, srcPort: 1, dstPort: 2 });
    t.advance(S + 9.5e6);
    add({ tsUs: S + 10e6 + 1, src: A, dst: B, proto: 17, srcPort: 1, dstPort: 2 });
    expect(ended.map((e) => e.reason)).toEqual(['idle']);
    expect(t.size).toBe(1);
  });

  it('lingering connections are evicted first at the cap (with their close reason); flush ends them with it too', () => {
    const { ended, add } = collect({ maxFlows: 2 });
    conversation(add);
    add({ tsUs: 2 * S + 100, src: A, dst: B, proto: 17, srcPort: 5, dstPort: 6 });
    add({ tsUs: 2 * S + 200, src: A, dst: B, proto: 17, srcPort: 7, dstPort: 8 });
    expect(ended.map((e) => [e.src, e.reason])).toEqual([['10.0.0.1:40000', 'fin']]);
    const b = collect();
    conversation(b.add);
    b.t.flush();
    expect(b.ended.map((e) => e.reason)).toEqual(['fin']);
  });

  it('tcpLingerSec is validated', () => {
    expect(() => new FlowTable({ tcpLingerSec: -1 }, { onEnd() {} })).toThrow(/tcpLingerSec/);
  });
});
