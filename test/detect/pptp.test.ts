import { describe, expect, it } from 'vitest';
import { pptp } from '../../src/detect/pptp.js';
import { IPPROTO_GRE, IPPROTO_TCP, type Evidence } from '../../src/detect/types.js';
import { ascii, concat, hex, randomBytes, rng, runFlow, type Pkt } from './udp-vpn-builders.js';
import { greV0, greV1, ipv4Header, pptpHeader, pptpOcrp, pptpOcrq, pptpSccrq, u16, u32 } from './ipsec-builders.js';

const runTcp = (pk: Pkt[]): Evidence[] => runFlow(pptp, IPPROTO_TCP, 41366, 1723, pk);
const runGre = (pk: Pkt[]): Evidence[] => runFlow(pptp, IPPROTO_GRE, 0, 0, pk);
const rules = (ev: Evidence[]) => ev.map((e) => `${e.rule}@${e.packet}:${e.strength}`);

describe('pptp control (TCP)', () => {
  it('SCCRQ: length 156, message type 1, magic 1A2B3C4D, control type 1 → strong at packet 0', () => {
    const p = pptpSccrq();
    expect(p.length).toBe(156);
    const ev = runTcp([{ dir: 0, bytes: p }]);
    expect(rules(ev)).toEqual(['pptp.control@0:strong']);
    expect(ev[0]).toMatchObject({ source: 'pptp', protocol: 'pptp', offset: 0 });
    expect(ev[0]!.reason).toContain('SCCRQ(1)');
  });

  it('two messages in one segment walk to its end; OCRP echoing the OCRQ call id adds pptp.call', () => {
    const echo = concat(pptpHeader(16, 5), u32(7));
    expect(runTcp([{ dir: 0, bytes: concat(echo, echo) }])[0]!.reason).toContain('2 messages sum to the 32-byte segment');
    const ev = runTcp([{ dir: 0, bytes: pptpOcrq(0x4d2) }, { dir: 1, bytes: pptpOcrp(0x99, 0x4d2) }]);
    expect(rules(ev)).toEqual(['pptp.control@0:strong', 'pptp.control@1:strong', 'pptp.call@1:strong']);
    expect(rules(runTcp([{ dir: 0, bytes: pptpOcrq(0x4d2) }, { dir: 1, bytes: pptpOcrp(0x99, 0x4d3) }]))).toEqual(['pptp.control@0:strong', 'pptp.control@1:strong']);
  });

  it('rejects a wrong magic, a length not fixed for the type, message type 2, type 0/16, reserved ≠ 0', () => {
    const good = pptpSccrq();
    const mut = (k: number, v: number) => { const b = good.slice(); b[k] = v; return b; };
    for (const [k, v] of [[4, 0x1b], [1, 157], [3, 2], [9, 0], [9, 16], [11, 1]] as const) expect(runTcp([{ dir: 0, bytes: mut(k, v) }]), `byte ${k}`).toEqual([]);
  });

  it('SSH and random segments on 1723 give nothing', () => {
    expect(runTcp([{ dir: 0, bytes: ascii('SSH-2.0-OpenSSH_9.6\r\n') }, { dir: 1, bytes: ascii('SSH-2.0-OpenSSH_8.9p1\r\n') }])).toEqual([]);
    const r = rng(1);
    for (let f = 0; f < 300; f++) {
      const pk: Pkt[] = [];
      for (let k = 0; k < 6; k++) pk.push({ dir: r() & 1, bytes: randomBytes((r() << 3) % 1400, r) });
      expect(runTcp(pk)).toEqual([]);
    }
  });
});

describe('pptp enhanced GRE (IP protocol 47)', () => {
  it('version 1, protocol 880B, payload length == bytes after the header → strong at packet 0', () => {
    const r = rng(2);
    const p = greV1(0x4d2, concat(hex('ff 03 c0 21'), randomBytes(20, r)), 0);
    expect(Array.from(p.subarray(0, 4))).toEqual([0x30, 0x01, 0x88, 0x0b]);
    const ev = runGre([{ dir: 0, bytes: p }]);
    expect(rules(ev)).toEqual(['pptp.gre@0:strong']);
    expect(ev[0]!.reason).toContain('payload length 24 == 24 bytes after the 12-byte header');
  });

  it('ack-only packet (A, no S, length 0) is well-formed; a mismatching length is medium', () => {
    expect(rules(runGre([{ dir: 1, bytes: greV1(0x99, new Uint8Array(0), undefined, 5) }]))).toEqual(['pptp.gre@0:strong']);
    const r = rng(3);
    expect(rules(runGre([{ dir: 0, bytes: greV1(0x99, randomBytes(30, r), 1, undefined, 31) }]))).toEqual(['pptp.gre-header@0:medium']);
  });

  it('three sequenced packets of one call id in a direction: pptp.gre-sequence', () => {
    const r = rng(4);
    const pk: Pkt[] = [];
    for (let s = 0; s < 3; s++) pk.push({ dir: 0, bytes: greV1(0x4d2, randomBytes(60, r), s, s ? s - 1 : undefined) }, { dir: 1, bytes: greV1(0x99, new Uint8Array(0), undefined, s) });
    expect(rules(runGre(pk))).toEqual(['pptp.gre@0:strong', 'pptp.gre-sequence@4:strong']);
    const gap = [0, 1, 3].map((s) => ({ dir: 0, bytes: greV1(0x4d2, randomBytes(60, r), s) }));
    expect(rules(runGre(gap))).toEqual(['pptp.gre@0:strong']);
  });

  it('plain GRE version 0 (IPv4, keyed, random payloads) is never PPTP', () => {
    const r = rng(5);
    const inner = concat(ipv4Header(17, 20), randomBytes(20, r));
    expect(runGre([{ dir: 0, bytes: greV0(inner) }, { dir: 1, bytes: greV0(inner, 0x1234) }])).toEqual([]);
    for (let f = 0; f < 300; f++) {
      const pk: Pkt[] = [];
      for (let k = 0; k < 4; k++) {
        const flags = [0, 0x20, 0x10, 0x30, 0x80][r() % 5]!;
        pk.push({ dir: r() & 1, bytes: concat(new Uint8Array([flags, 0]), u16([0x0800, 0x86dd, 0x6558, 0x880b][r() & 3]!), randomBytes(r() % 200, r)) });
      }
      expect(runGre(pk)).toEqual([]);
    }
  });
});
