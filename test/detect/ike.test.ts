import { describe, expect, it } from 'vitest';
import { ike } from '../../src/detect/ike.js';
import { IPPROTO_UDP, type Evidence } from '../../src/detect/types.js';
import { concat, hex, randomBytes, rng, runFlow, type Pkt } from './udp-vpn-builders.js';
import {
  espPacket, ikeMessage, payload, SPEC_SPI_I, SPEC_SPI_R, u16, u32, v1Encrypted, v1MainMode1, v2Auth, v2SaInitRequest, v2SaInitResponse,
} from './ipsec-builders.js';

const run = (pk: Pkt[], sport = 500, dport = 500): Evidence[] => runFlow(ike, IPPROTO_UDP, sport, dport, pk);
const rules = (ev: Evidence[]) => ev.map((e) => `${e.rule}@${e.packet}:${e.strength}`);

describe('ike: IKEv2 on UDP 500', () => {
  it('spec worked example header: IKE_SA_INIT request decides strongly at packet 0', () => {
    const p = v2SaInitRequest(rng(1));
    expect(p.length).toBe(304);
    expect(Array.from(p.subarray(0, 28))).toEqual(Array.from(hex('3f1ca29b005e71d4 0000000000000000 21 20 22 08 00000000 00000130')));
    expect(Array.from(p.subarray(76 - 48, 76 - 44))).toEqual([0x22, 0x00, 0x00, 0x30]);
    const ev = run([{ dir: 0, bytes: p }]);
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ source: 'ike', protocol: 'ipsec', strength: 'strong', rule: 'ike.message', packet: 0, offset: 0 });
    expect(ev[0]!.reason).toContain('IKE_SA_INIT(34)');
    expect(ev[0]!.reason).toContain('SA→KE→Nonce→N→N');
    expect(ev[0]!.reason).toContain('length 304 == UDP payload 304');
  });

  it('response echoing the initiator SPI: ike.message and ike.reply on packet 1', () => {
    const r = rng(2);
    const ev = run([{ dir: 0, bytes: v2SaInitRequest(r) }, { dir: 1, bytes: v2SaInitResponse(r) }]);
    expect(rules(ev)).toEqual(['ike.message@0:strong', 'ike.message@1:strong', 'ike.reply@1:strong']);
    expect(ev[2]!.reason).toContain('initiator SPI echoed');
  });

  it('SK-wrapped IKE_AUTH: one payload reaching the end is a complete walk', () => {
    const r = rng(3);
    const ev = run([{ dir: 0, bytes: v2Auth(r, SPEC_SPI_I, SPEC_SPI_R, 1, false) }]);
    expect(rules(ev)).toEqual(['ike.message@0:strong']);
    expect(ev[0]!.reason).toContain('IKE_AUTH(35)');
  });

  it('reply relation alone decides when the chain uses a payload type outside the registry', () => {
    const r = rng(4);
    // An IKE_AUTH pair whose single payload type (127) is not in the IKEv2 registry: no walk, but the SPI echo holds.
    const odd = (resp: boolean) =>
      ikeMessage({ spiI: SPEC_SPI_I, spiR: SPEC_SPI_R, next: 127, version: 0x20, exchange: 35, flags: resp ? 0x20 : 0x08, msgId: 1 }, payload(35, randomBytes(100, r)));
    const ev = run([{ dir: 0, bytes: odd(false) }, { dir: 1, bytes: odd(true) }]);
    expect(rules(ev)).toEqual([]);
    // Type 127 is rejected already in the header; with a registered first type and a broken walk the echo decides.
    const broken = (resp: boolean) => {
      const m = v2Auth(r, SPEC_SPI_I, SPEC_SPI_R, 1, resp);
      m[28 + 2] = 0; // SK payload length high byte → walk ends early
      m[28 + 3] = 8;
      return m;
    };
    const ev2 = run([{ dir: 0, bytes: broken(false) }, { dir: 1, bytes: broken(true) }]);
    expect(rules(ev2)).toEqual(['ike.reply@1:strong']);
  });

  it('length field must equal the UDP payload; version, exchange and reserved flags are checked', () => {
    const r = rng(5);
    const good = v2SaInitRequest(r);
    const cases: [number, number][] = [[27, 0x31], [17, 0x30], [18, 0x28], [19, 0x01], [19, 0x40], [20, 1]];
    for (const [off, v] of cases) {
      const b = good.slice();
      b[off] = v;
      expect(run([{ dir: 0, bytes: b }]), `offset ${off} = ${v}`).toEqual([]);
    }
    expect(run([{ dir: 0, bytes: concat(good, new Uint8Array(4)) }])).toEqual([]);
    const zeroSpi = good.slice();
    zeroSpi.fill(0, 0, 8);
    expect(run([{ dir: 0, bytes: zeroSpi }])).toEqual([]);
  });

  it('snaplen-cut message with a matching header is medium (chain not walked)', () => {
    const p = v2SaInitRequest(rng(6));
    const v = { dir: 0, bytes: p.subarray(0, 96) };
    const view = new (class {
      readonly transport = IPPROTO_UDP; readonly ipVersion = 4 as const; readonly srcPort = 500; readonly dstPort = 500; readonly nPackets = 1;
      dir() { return 0; } len() { return 304; } avail() { return v.bytes.length; } buf() { return v.bytes; } start() { return 0; }
    })();
    const out = ike.detect(view);
    expect(out?.map((e) => `${e.rule}:${e.strength}`)).toEqual(['ike.header:medium']);
  });
});

describe('ike: IKEv1', () => {
  it('Main Mode message 1 in clear: strong at packet 0', () => {
    const ev = run([{ dir: 0, bytes: v1MainMode1(rng(7), SPEC_SPI_I) }]);
    expect(rules(ev)).toEqual(['ike.message@0:strong']);
    expect(ev[0]!.reason).toContain('IKEv1 header');
    expect(ev[0]!.reason).toContain('SA→VID→VID');
  });

  it('encrypted Quick Mode seen mid-stream: medium per message, strong when the reply echoes both SPIs', () => {
    const r = rng(8);
    const pk = [
      { dir: 0, bytes: v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 32, 0x5a5a1234) },
      { dir: 1, bytes: v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 32, 0x5a5a1234, 48) },
    ];
    expect(rules(run(pk))).toEqual(['ike.header@0:medium', 'ike.header@1:medium', 'ike.v1-sa@1:strong', 'ike.reply@1:strong']);
    // Body not padded to 8: not even medium.
    expect(run([{ dir: 0, bytes: v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 32, 1, 61) }])).toEqual([]);
  });

  // Mode Config and XAUTH (draft-dukes-ike-mode-cfg §3.1, draft-beaulieu-ike-xauth §2.2) run in the ISAKMP
  // Transaction exchange, type 6, after phase 1: HASH then the attribute payload (14, the reference's "mode-config
  // attributes"), encrypted like Quick Mode. IKEv1 remote access (XAUTH with PSK, address pull) always shows them.
  it('Mode Config / XAUTH Transaction exchange (6) mid-stream: medium per message, strong when the reply echoes both SPIs', () => {
    const r = rng(9);
    const pk = [
      { dir: 0, bytes: v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 6, 0x1a2b3c4d) },
      { dir: 1, bytes: v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 6, 0x1a2b3c4d, 80) },
    ];
    const ev = run(pk);
    expect(rules(ev)).toEqual(['ike.header@0:medium', 'ike.header@1:medium', 'ike.v1-sa@1:strong', 'ike.reply@1:strong']);
    expect(ev[0]!.reason).toContain('exchange Transaction(6)');
  });

  it('an attribute payload (14) in a clear IKEv1 chain walks: HASH → ATTR', () => {
    const r = rng(10);
    const body = concat(payload(14, randomBytes(20, r)), payload(0, concat(u16(1), u16(0), randomBytes(8, r))));
    const msg = ikeMessage({ spiI: SPEC_SPI_I, spiR: SPEC_SPI_R, next: 8, version: 0x10, exchange: 6, flags: 0, msgId: 7 }, body);
    const ev = run([{ dir: 0, bytes: msg }]);
    expect(rules(ev)).toEqual(['ike.message@0:strong']);
    expect(ev[0]!.reason).toContain('HASH→ATTR');
  });

  it('exchange types 7–31 stay unassigned: not IKE', () => {
    const r = rng(11);
    for (const x of [7, 8, 31]) expect(run([{ dir: 0, bytes: v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, x, 0x1a2b3c4d) }])).toEqual([]);
  });
});

describe('ike: NAT-T on UDP 4500', () => {
  it('IKE behind the non-ESP marker: strong at packet 0 with offset 4', () => {
    const r = rng(9);
    const ev = run([{ dir: 0, bytes: v2Auth(r, SPEC_SPI_I, SPEC_SPI_R, 1, false, true) }], 4500, 4500);
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ rule: 'ike.message', strength: 'strong', packet: 0, offset: 4 });
    expect(ev[0]!.reason).toContain('non-ESP marker');
  });

  it('ESP-in-UDP: third packet of one SPI with +1 sequence numbers is strong; keepalives and IKE interleave', () => {
    const r = rng(10);
    const pk: Pkt[] = [
      { dir: 0, bytes: espPacket(0x04888fe4, 7, 120, r) },
      { dir: 1, bytes: espPacket(0xcbb7a0c6, 1, 132, r) },
      { dir: 0, bytes: new Uint8Array([0xff]) },
      { dir: 0, bytes: espPacket(0x04888fe4, 8, 900, r) },
      { dir: 0, bytes: espPacket(0x04888fe4, 9, 64, r) },
    ];
    const ev = run(pk, 40000, 4500);
    expect(rules(ev)).toEqual(['natt.keepalive@2:weak', 'natt.esp@4:strong']);
    expect(ev[1]!.reason).toContain('SPI 0x04888fe4');
  });

  it('ESP-in-UDP needs sequence numbers within the anti-replay window, one SPI ≥ 256, and port 4500', () => {
    const r = rng(11);
    const mk = (spi: number, seqs: number[]) => seqs.map((s) => ({ dir: 0, bytes: espPacket(spi, s, 100, r) }));
    expect(rules(run(mk(0x1000, [1, 2, 4]), 40000, 4500))).toEqual(['natt.esp@2:strong']); // a lost packet
    expect(rules(run(mk(0x1000, [9, 11, 10]), 40000, 4500))).toEqual(['natt.esp@2:strong']); // reordered
    expect(run(mk(0x1000, [1, 2, 40]), 40000, 4500)).toEqual([]);
    expect(run(mk(0xff, [1, 2, 3]), 40000, 4500)).toEqual([]);
    expect(run(mk(0x1000, [1, 2, 3]), 40000, 4501)).toEqual([]);
    expect(run([...mk(0x1000, [1, 2]), ...mk(0x2000, [3])], 40000, 4500)).toEqual([]);
  });

  it('TURN ChannelData relaying constant-size RTP on 4500 is not ESP-in-UDP (RFC 8656 §12.4)', () => {
    const r = rng(12);
    // channel 0x4b01, data length 172 (G.711 RTP), RTP's first word 0x8008 + sequence, up to 3 bytes of padding.
    const chan = (seq: number, pad: number) => concat(hex('4b 01 00 ac 80 08'), u16(seq), randomBytes(168 + pad, r));
    for (const pad of [0, 3]) expect(run([0, 1, 2, 3].map((k) => ({ dir: 0, bytes: chan(0x600 + k, pad) })), 40000, 4500)).toEqual([]);
    // Control: four bytes of "padding" is no ChannelData, and the run is ESP-shaped again.
    expect(rules(run([0, 1, 2].map((k) => ({ dir: 0, bytes: chan(0x600 + k, 4) })), 40000, 4500))).toEqual(['natt.esp@2:strong']);
  });

  it('a lone keepalive is weak and reported once', () => {
    const ka = { dir: 0, bytes: new Uint8Array([0xff]) };
    expect(rules(run([ka, ka, ka], 4500, 4500))).toEqual(['natt.keepalive@0:weak']);
    expect(run([ka], 500, 500)).toEqual([]);
  });
});

describe('ike: look-alikes give nothing strong', () => {
  it('DNS query on UDP 500', () => {
    const dns = hex('ab cd 01 00 00 01 00 00 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01');
    expect(run([{ dir: 0, bytes: dns }, { dir: 1, bytes: dns }])).toEqual([]);
  });
  it('random payloads on 500 and 4500 (seeded)', () => {
    const r = rng(12);
    for (let f = 0; f < 300; f++) {
      const pk: Pkt[] = [];
      for (let k = 0; k < 6; k++) pk.push({ dir: r() & 1, bytes: randomBytes((r() << 3) % 1400, r) });
      for (const port of [500, 4500]) expect(run(pk, 40000, port).filter((e) => e.strength !== 'weak')).toEqual([]);
    }
  });
  it('a zero marker followed by random bytes on 4500', () => {
    const r = rng(13);
    const p = concat(new Uint8Array(4), randomBytes(200, r));
    expect(run([{ dir: 0, bytes: p }, { dir: 1, bytes: p }], 4500, 4500)).toEqual([]);
  });
  it('OpenVPN-like constant word + BE counter off port 4500 is not ESP-in-UDP', () => {
    const r = rng(14);
    const pk = [1, 2, 3].map((s) => ({ dir: 0, bytes: concat(u32(0x48000001), u32(s), randomBytes(80, r)) }));
    expect(run(pk, 40000, 1194)).toEqual([]);
  });
});

describe('ike: an IKEv1 SA seen mid-stream (reference part 2 §1 "Mid-stream")', () => {
  const r = rng(41);
  it('two encrypted messages of one SPI pair (DPD R-U-THERE and its ACK: message ids of their own) are strong', () => {
    const ev = run([
      { dir: 0, bytes: v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 5, 0x1111, 80) },
      { dir: 1, bytes: v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 5, 0x2222, 80) },
      { dir: 0, bytes: v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 5, 0x3333, 80) },
    ]);
    expect(rules(ev)).toEqual(['ike.header@0:medium', 'ike.header@1:medium', 'ike.v1-sa@1:strong', 'ike.header@2:medium']);
    expect(ev[2]!.reason).toContain('exchange Informational');
    // The same on UDP 4500 behind the non-ESP marker, one direction only.
    const natt = run([0x10, 0x20].map((id) => ({ dir: 0, bytes: v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 32, id, 64, true) })), 40000, 4500);
    expect(rules(natt)).toEqual(['ike.header@0:medium', 'ike.header@1:medium', 'ike.v1-sa@1:strong']);
  });

  it('not on another SPI pair, a zero responder SPI, or a body that is not padded to 8', () => {
    const other = hex('01 02 03 04 05 06 07 08');
    expect(rules(run([{ dir: 0, bytes: v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 5, 1) }, { dir: 1, bytes: v1Encrypted(r, SPEC_SPI_I, other, 5, 2) }]))).toEqual(['ike.header@0:medium', 'ike.header@1:medium']);
    const zero = new Uint8Array(8);
    expect(rules(run([{ dir: 0, bytes: v1Encrypted(r, SPEC_SPI_I, zero, 5, 1) }, { dir: 1, bytes: v1Encrypted(r, SPEC_SPI_I, zero, 5, 2) }])).filter((x) => x.startsWith('ike.v1-sa'))).toEqual([]);
    expect(rules(run([{ dir: 0, bytes: v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 5, 1, 60) }, { dir: 1, bytes: v1Encrypted(r, SPEC_SPI_I, SPEC_SPI_R, 5, 2, 64) }])).filter((x) => x.startsWith('ike.v1-sa'))).toEqual([]);
  });
});
