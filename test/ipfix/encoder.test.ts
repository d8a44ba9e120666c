/**
 * IPFIX encoder against a naive RFC 7011 decoder (test/oracles/ipfix-decoder.ts): every record comes back with its
 * values, messages stay within maxMessageSize, sequence numbers count the data records sent before each message,
 * data never precedes its templates, and templates are re-sent on the time and message-count schedule. Random
 * records (IPv4/IPv6, portless, hostile and long strings) and random message sizes are property-tested.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/classify/record.js';
import { cutUtf8, DOCUMENTATION_PEN, IE, IpfixEncoder, REVERSE_PEN, TEMPLATE_V4, TEMPLATE_V4_PORTLESS, TEMPLATE_V6, TEMPLATE_V6_PORTLESS, TS_IE } from '../../src/ipfix/index.js';
import { IpfixDecoder, uint, type Field } from '../oracles/ipfix-decoder.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isoOf(ms: number, us: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}.${String(us).padStart(6, '0')}Z`;
}

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((w) => w.map((x) => x.toString(16)).join(':'));
const text = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 300 }), fc.constant(''));

const recordArb: fc.Arbitrary<FlowRecord> = fc
  .record({
    v6: fc.boolean(),
    a: v4, b: v4, a6: v6, b6: v6,
    transport: fc.constantFrom('tcp', 'udp', 'esp', 'icmp', 'icmpv6', 'gre'),
    sp: fc.integer({ min: 1, max: 65535 }), dp: fc.integer({ min: 1, max: 65535 }),
    vlan: fc.option(fc.integer({ min: 0, max: 4095 }), { nil: undefined }),
    label: fc.constantFrom('registered_vpn', 'unregistered_vpn', 'ordinary'),
    protocol: fc.option(text, { nil: null }),
    registrant: fc.option(text, { nil: null }),
    rule: fc.option(text, { nil: null }),
    confidence: fc.double({ min: 0, max: 1, noNaN: true }),
    sp2: fc.nat(1e6), dp2: fc.nat(1e6), sb: fc.nat(2 ** 40), db: fc.nat(2 ** 40),
    start: fc.integer({ min: 1e12, max: 2e12 }), us: fc.nat(999_999), dur: fc.nat(1e9),
    listVersion: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
    end: fc.constantFrom('idle', 'evicted', 'fin', 'rst', 'eof'),
    payloadCut: fc.option(fc.integer({ min: 1, max: 255 }), { nil: undefined }),
    captureCapped: fc.option(fc.constant(true), { nil: undefined }),
  })
  .map((x) => {
    const ported = x.transport === 'tcp' || x.transport === 'udp';
    const ep = (ip: string, port: number) => (ported ? (x.v6 ? `[${ip}]:${port}` : `${ip}:${port}`) : ip);
    const r: FlowRecord = {
      transport: x.transport,
      src: ep(x.v6 ? x.a6 : x.a, x.sp),
      dst: ep(x.v6 ? x.b6 : x.b, x.dp),
      label: x.label as FlowRecord['label'],
      protocol: x.protocol,
      confidence: x.confidence,
      registrant: x.registrant,
      evidence: x.rule === null ? [] : [{ source: 's', protocol: 'p', strength: 'strong', rule: x.rule, reason: 'r' }],
      packets: x.sp2 + x.dp2, bytes: x.sb + x.db, srcPackets: x.sp2, srcBytes: x.sb, dstPackets: x.dp2, dstBytes: x.db,
      firstSeen: isoOf(x.start, x.us),
      lastSeen: isoOf(x.start + x.dur, x.us),
      listVersion: x.listVersion,
      decidedAtPacket: 0,
      end: x.end as NonNullable<FlowRecord['end']>,
    };
    if (x.vlan !== undefined) r.vlan = x.vlan;
    if (x.payloadCut !== undefined) r.payloadCut = x.payloadCut;
    if (x.captureCapped !== undefined) r.captureCapped = x.captureCapped;
    return r;
  });

function valueOf(fields: Field[], values: Uint8Array[], id: number, pen = 0): Uint8Array {
  const i = fields.findIndex((f) => f.id === id && f.pen === pen);
  if (i < 0) throw new Error(`no field ${pen}/${id}`);
  return values[i]!;
}

const ALL_TEMPLATES = [TEMPLATE_V4, TEMPLATE_V6, TEMPLATE_V4_PORTLESS, TEMPLATE_V6_PORTLESS];

/** Checks a stream of messages and returns the decoded records. */
function checkStream(msgs: Uint8Array[], max: number): { fields: Field[]; values: Uint8Array[]; tid: number }[] {
  const dec = new IpfixDecoder();
  let seq = 0;
  const out: { fields: Field[]; values: Uint8Array[]; tid: number }[] = [];
  msgs.forEach((b, k) => {
    expect(b.length).toBeLessThanOrEqual(max);
    const m = dec.decode(b);
    expect(m.version).toBe(10);
    expect(m.sequence).toBe(seq);
    if (k === 0) expect(m.templates.map((t) => t.id)).toEqual(ALL_TEMPLATES);
    seq = (seq + m.records.length) >>> 0;
    for (const r of m.records) out.push({ fields: dec.templates.get(r.tid)!, values: r.values, tid: r.tid });
  });
  return out;
}

/** The longest string the encoder keeps for a maxMessageSize: four in one IPv6 record must fit (254 from 1143 on). */
const stringCap = (max: number): number => Math.min(254, Math.floor((max - 16 - 4 - 103 - 4) / 4));

function expectRecord(d: { fields: Field[]; values: Uint8Array[]; tid: number }, r: FlowRecord, pen = DOCUMENTATION_PEN, cap = 254): void {
  const v = (id: number, p = 0) => valueOf(d.fields, d.values, id, p);
  const ip = (t: string) => (t.startsWith('[') ? t.slice(1, t.indexOf(']')) : t.includes('.') ? t.replace(/:\d+$/, '') : t);
  const six = d.tid === TEMPLATE_V6 || d.tid === TEMPLATE_V6_PORTLESS;
  const ported = r.transport === 'tcp' || r.transport === 'udp';
  expect(d.tid).toBe(ported ? (six ? TEMPLATE_V6 : TEMPLATE_V4) : six ? TEMPLATE_V6_PORTLESS : TEMPLATE_V4_PORTLESS);
  expect(six).toBe(r.src.includes('[') || (!r.src.includes('.') && r.src.includes(':')));
  const addr = (b: Uint8Array) => (six ? Array.from({ length: 8 }, (_, i) => ((b[i * 2]! << 8) | b[i * 2 + 1]!).toString(16)).join(':') : Array.from(b).join('.'));
  expect(addr(v(six ? IE.sourceIPv6Address : IE.sourceIPv4Address))).toBe(six ? ip(r.src).split(':').map((x) => parseInt(x, 16).toString(16)).join(':') : ip(r.src));
  expect(addr(v(six ? IE.destinationIPv6Address : IE.destinationIPv4Address))).toBe(six ? ip(r.dst).split(':').map((x) => parseInt(x, 16).toString(16)).join(':') : ip(r.dst));
  const port = (t: string) => Number(t.slice(t.lastIndexOf(':') + 1));
  const has = (id: number) => d.fields.some((f) => f.id === id && f.pen === 0);
  // A portless flow has no port fields at all: a 0 there reads as ICMP type 0 code 0 (echo reply) to collectors.
  expect([has(IE.sourceTransportPort), has(IE.destinationTransportPort)]).toEqual([ported, ported]);
  if (ported) {
    expect(uint(v(IE.sourceTransportPort))).toBe(port(r.src));
    expect(uint(v(IE.destinationTransportPort))).toBe(port(r.dst));
  }
  expect(uint(v(IE.protocolIdentifier))).toBe({ tcp: 6, udp: 17, esp: 50, icmp: 1, icmpv6: 58, gre: 47 }[r.transport]);
  expect(uint(v(IE.vlanId))).toBe(r.vlan ?? 0);
  expect(uint(v(IE.octetDeltaCount))).toBe(r.srcBytes);
  expect(uint(v(IE.packetDeltaCount))).toBe(r.srcPackets);
  expect(uint(v(IE.octetDeltaCount, REVERSE_PEN))).toBe(r.dstBytes);
  expect(uint(v(IE.packetDeltaCount, REVERSE_PEN))).toBe(r.dstPackets);
  expect(uint(v(IE.flowStartMilliseconds))).toBe(Math.floor(Date.parse(r.firstSeen) ));
  expect(uint(v(IE.flowEndMilliseconds))).toBe(Math.floor(Date.parse(r.lastSeen)));
  expect(uint(v(IE.flowEndReason))).toBe({ idle: 1, fin: 3, rst: 3, eof: 4, stop: 4, evicted: 5 }[r.end!]);
  const str = (id: number, p = 0) => utf8.decode(v(id, p));
  const cut = (s: string) => utf8.decode(cutUtf8(s, cap));
  expect(str(IE.applicationName)).toBe(cut(r.label === 'ordinary' ? '' : (r.protocol ?? '')));
  expect(str(TS_IE.label, pen)).toBe(r.label);
  expect(str(TS_IE.registrant, pen)).toBe(cut(r.registrant ?? ''));
  expect(str(TS_IE.rule, pen)).toBe(cut(r.evidence[0]?.rule ?? ''));
  expect(new DataView(v(TS_IE.confidence, pen).slice().buffer).getFloat64(0)).toBe(r.confidence);
  expect(uint(v(TS_IE.listVersion, pen))).toBe(r.listVersion);
  expect(uint(v(TS_IE.payloadCut, pen))).toBe(r.payloadCut ?? 0);
  // IPFIX booleans are 1 (true) and 2 (false), RFC 7011 §6.1.5.
  expect(uint(v(TS_IE.captureCapped, pen))).toBe(r.captureCapped === true ? 1 : 2);
}

describe('IPFIX encoder', () => {
  it('round-trips random records through messages of random sizes; sequence, size and template order hold', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 512, max: 9000 }), (recs, max) => {
        const enc = new IpfixEncoder({ maxMessageSize: max });
        const msgs: Uint8Array[] = [];
        for (const r of recs) enc.add(r, 1_700_000_000_000, (m) => msgs.push(m));
        enc.flush(1_700_000_000_000, (m) => msgs.push(m));
        const got = checkStream(msgs, max);
        expect(got.length).toBe(recs.length);
        got.forEach((d, i) => expectRecord(d, recs[i]!, DOCUMENTATION_PEN, stringCap(max)));
        expect(enc.stats.records).toBe(recs.length);
      }),
      { numRuns: 60 },
    );
  });

  it('a record without per-direction counters exports its totals as forward and end reason 0', () => {
    const r = fc.sample(recordArb, { seed: 3, numRuns: 1 })[0]!;
    const { srcPackets, srcBytes, dstPackets, dstBytes, end, ...old } = r;
    void [srcPackets, srcBytes, dstPackets, dstBytes, end];
    const enc = new IpfixEncoder();
    const msgs: Uint8Array[] = [];
    enc.add(old as FlowRecord, 0, (m) => msgs.push(m));
    enc.flush(0, (m) => msgs.push(m));
    const [d] = checkStream(msgs, 1400);
    const v = (id: number, pen = 0) => uint(valueOf(d!.fields, d!.values, id, pen));
    expect([v(IE.packetDeltaCount), v(IE.octetDeltaCount), v(IE.packetDeltaCount, REVERSE_PEN), v(IE.octetDeltaCount, REVERSE_PEN), v(IE.flowEndReason)]).toEqual([r.packets, r.bytes, 0, 0, 0]);
  });

  it('cuts strings to 254 UTF-8 bytes on a character boundary', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), (s) => {
        const b = cutUtf8(s);
        const t = utf8.decode(b); // throws on a split character
        return b.length <= 254 && s.startsWith(t) && (Buffer.byteLength(s) <= 254 ? t === s : Buffer.byteLength(s.slice(0, t.length + 2)) > 254);
      }),
    );
  });

  it('a string of 255 UTF-8 bytes or more decodes (the length byte 255 announces the three-byte form, RFC 7011 §7)', () => {
    // 255 one-byte, 85 three-byte (255 bytes) and 300 one-byte characters, in every string field at once.
    for (const s of ['R'.repeat(255), '€'.repeat(85), 'x'.repeat(300), `${'y'.repeat(254)}é`]) {
      const r = { ...fc.sample(recordArb, { seed: 11, numRuns: 1 })[0]!, label: 'registered_vpn' as const, protocol: s, registrant: s };
      r.evidence = [{ source: 's', protocol: 'p', strength: 'strong', rule: s, reason: 'r' }];
      const enc = new IpfixEncoder();
      const msgs: Uint8Array[] = [];
      enc.add(r, 0, (m) => msgs.push(m));
      enc.flush(0, (m) => msgs.push(m));
      const [d] = checkStream(msgs, 1400);
      expectRecord(d!, r);
    }
  });

  it('no message exceeds a small maxMessageSize, whatever the strings: they are cut to fit, templates go alone if need be', () => {
    const long = '€'.repeat(120);
    for (const max of [512, 600, 900, 1200]) {
      const recs = fc.sample(recordArb, { seed: 12, numRuns: 6 }).map((r, i) => {
        const out = { ...r, protocol: long, registrant: long, evidence: [{ source: 's', protocol: 'p', strength: 'strong' as const, rule: long, reason: 'r' }] };
        // Both templates, IPv4 and IPv6 records.
        return i % 2 ? { ...out, src: '[2001:db8::1]:1', dst: '[2001:db8::2]:2', transport: 'udp' } : { ...out, src: '192.0.2.1:1', dst: '192.0.2.2:2', transport: 'udp' };
      });
      const enc = new IpfixEncoder({ maxMessageSize: max });
      const msgs: Uint8Array[] = [];
      for (const r of recs) enc.add(r, 0, (m) => msgs.push(m));
      enc.flush(0, (m) => msgs.push(m));
      const got = checkStream(msgs, max);
      expect(got).toHaveLength(recs.length);
      got.forEach((d, i) => {
        const reg = utf8.decode(valueOf(d.fields, d.values, TS_IE.registrant, DOCUMENTATION_PEN));
        expect(long.startsWith(reg) && reg.length > 0).toBe(true);
        expect(utf8.decode(valueOf(d.fields, d.values, TS_IE.label, DOCUMENTATION_PEN))).toBe(recs[i]!.label);
      });
    }
  });

  it('re-sends templates after templateRefreshMs and every templateRefreshMessages messages (RFC 7011 §8.4)', () => {
    const r = fc.sample(recordArb, { seed: 7, numRuns: 1 })[0]!;
    const count = (msgs: Uint8Array[]) => {
      const dec = new IpfixDecoder();
      return msgs.map((b) => dec.decode(b).templates.length > 0);
    };
    // Time: one message a second, refresh every 5 s.
    const enc = new IpfixEncoder({ templateRefreshMs: 5000, templateRefreshMessages: 1000 });
    const msgs: Uint8Array[] = [];
    for (let t = 0; t < 12; t++) {
      enc.add(r, 1e12 + t * 1000, (m) => msgs.push(m));
      enc.flush(1e12 + t * 1000, (m) => msgs.push(m));
    }
    expect(count(msgs)).toEqual([true, false, false, false, false, true, false, false, false, false, true, false]);
    // Count: refresh every 3 messages regardless of time.
    const enc2 = new IpfixEncoder({ templateRefreshMs: 2 ** 31 - 1, templateRefreshMessages: 3 });
    const msgs2: Uint8Array[] = [];
    for (let t = 0; t < 8; t++) {
      enc2.add(r, 1e12, (m) => msgs2.push(m));
      enc2.flush(1e12, (m) => msgs2.push(m));
    }
    expect(count(msgs2)).toEqual([true, false, false, false, true, false, false, false]);
    // A template-only message carries the current sequence number and no data.
    const t = new IpfixDecoder().decode(enc2.templateMessage(1e12));
    expect([t.records.length, t.sequence, t.templates.length]).toEqual([0, 8, 4]);
  });

  it('templates name the standard elements and the enterprise ones under the configured PEN', () => {
    const enc = new IpfixEncoder({ enterpriseNumber: 4242, observationDomainId: 9 });
    const m = new IpfixDecoder().decode(enc.templateMessage(0));
    expect(m.domain).toBe(9);
    const v4 = m.templates.find((t) => t.id === TEMPLATE_V4)!.fields;
    expect(v4.filter((f) => f.pen === 0).map((f) => f.id)).toEqual([8, 12, 7, 11, 4, 58, 1, 2, 152, 153, 136, 96]);
    expect(v4.filter((f) => f.pen === REVERSE_PEN).map((f) => f.id)).toEqual([1, 2]);
    expect(v4.filter((f) => f.pen === 4242).map((f) => f.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(m.templates.find((t) => t.id === TEMPLATE_V6)!.fields.slice(0, 2).map((f) => f.id)).toEqual([27, 28]);
    // The portless templates are the ported ones without sourceTransportPort (7) and destinationTransportPort (11).
    const no = (id: number) => m.templates.find((t) => t.id === id)!.fields.filter((f) => f.pen !== 0 || (f.id !== 7 && f.id !== 11));
    expect(m.templates.find((t) => t.id === TEMPLATE_V4_PORTLESS)!.fields).toEqual(no(TEMPLATE_V4));
    expect(m.templates.find((t) => t.id === TEMPLATE_V6_PORTLESS)!.fields).toEqual(no(TEMPLATE_V6));
  });

  it('an ICMP, ICMPv6, ESP or GRE flow goes out without port fields, never as port 0 (read as ICMP echo reply)', () => {
    const base = fc.sample(recordArb, { seed: 5, numRuns: 1 })[0]!;
    const recs: FlowRecord[] = [
      { ...base, transport: 'icmp', src: '192.0.2.1', dst: '198.51.100.2' },
      { ...base, transport: 'icmpv6', src: '2001:db8:0:0:0:0:0:1', dst: '2001:db8:0:0:0:0:0:2' },
      { ...base, transport: 'esp', src: '192.0.2.1', dst: '198.51.100.2' },
      { ...base, transport: 'gre', src: '2001:db8:0:0:0:0:0:1', dst: '2001:db8:0:0:0:0:0:2' },
      { ...base, transport: 'udp', src: '192.0.2.1:5000', dst: '198.51.100.2:53' },
    ];
    const enc = new IpfixEncoder();
    const msgs: Uint8Array[] = [];
    for (const r of recs) enc.add(r, 0, (m) => msgs.push(m));
    enc.flush(0, (m) => msgs.push(m));
    const got = checkStream(msgs, 1400);
    expect(got.map((d) => d.tid)).toEqual([TEMPLATE_V4_PORTLESS, TEMPLATE_V6_PORTLESS, TEMPLATE_V4_PORTLESS, TEMPLATE_V6_PORTLESS, TEMPLATE_V4]);
    got.forEach((d, i) => expectRecord(d, recs[i]!));
    // Record sizes: the portless IPv4 record is the ported one less four port bytes.
    expect(enc.encodeRecord(recs[0]!)!.bytes.length).toBe(enc.encodeRecord({ ...recs[0]!, transport: 'udp', src: '192.0.2.1:1', dst: '198.51.100.2:2' })!.bytes.length - 4);
  });

  it('the four templates fit in one message of the smallest maxMessageSize (512)', () => {
    const m = new IpfixEncoder({ maxMessageSize: 512 }).templateMessage(0);
    expect(m.length).toBeLessThanOrEqual(512);
    expect(new IpfixDecoder().decode(m).templates.map((t) => t.id)).toEqual(ALL_TEMPLATES);
  });

  it('rejects options out of range', () => {
    expect(() => new IpfixEncoder({ maxMessageSize: 100 })).toThrow(/maxMessageSize/);
    expect(() => new IpfixEncoder({ enterpriseNumber: 0 })).toThrow(/enterpriseNumber/);
    expect(() => new IpfixEncoder({ observationDomainId: -1 })).toThrow(/observationDomainId/);
    expect(() => new IpfixEncoder({ observationDomainId: '7' as unknown as number })).toThrow(/observationDomainId .*got a string/);
    expect(() => new IpfixEncoder({ templateRefreshMessages: 0.5 })).toThrow(/templateRefreshMessages must be an integer/);
    expect(() => new IpfixEncoder({ templateRefreshMs: NaN })).toThrow(/templateRefreshMs must be a number in \[0, 2147483647\], got NaN/);
    // The exporter runs the interval as a timer: past what a Node timer holds it is refused, not clamped in silence.
    expect(() => new IpfixEncoder({ templateRefreshMs: 1e300 })).toThrow(/templateRefreshMs must be a number in \[0, 2147483647\], got 1e\+300/);
    expect(() => new IpfixEncoder({ templateRefreshMs: 2 ** 31 - 1 })).not.toThrow();
    expect(() => new IpfixEncoder(null as never)).toThrow(/options must be an object, got null/);
  });
});
