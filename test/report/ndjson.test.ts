import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordParseError } from '../../src/errors.js';
import { ndjsonRecords, parseRecordLine } from '../../src/report/ndjson.js';
import type { ReportRecord } from '../../src/report/types.js';

const rec = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  transport: 'udp', src: '10.0.0.5:40001', dst: '203.0.113.9:51820', label: 'registered_vpn', protocol: 'wireguard',
  confidence: 0.95, registrant: 'acme',
  evidence: [{ source: 'wireguard', protocol: 'wireguard', strength: 'strong', rule: 'wg.handshake', reason: 'packet 0: …', packet: 1, offset: 8 }],
  packets: 2, bytes: 240, firstSeen: '2023-11-14T22:13:20.000001Z', lastSeen: '2023-11-14T22:13:20.000002Z', listVersion: 1,
  decidedAtPacket: 2, ...over,
});

async function all(chunks: Array<string | Uint8Array>, source = 'r.ndjson'): Promise<ReportRecord[]> {
  const out: ReportRecord[] = [];
  for await (const r of ndjsonRecords(chunks, source)) out.push(r);
  return out;
}

async function failure(chunks: Array<string | Uint8Array>): Promise<RecordParseError> {
  try {
    await all(chunks);
  } catch (e) {
    expect(e).toBeInstanceOf(RecordParseError);
    return e as RecordParseError;
  }
  throw new Error('no error');
}

describe('NDJSON flow records', () => {
  it('reads classify records; optional fields default; sensor, vlan, encap and payloadCut are kept', async () => {
    const minimal = { transport: 'tcp', src: 'a', dst: 'b', label: 'ordinary', packets: 1, bytes: 60, firstSeen: '2023-11-14T22:13:20Z', lastSeen: '2023-11-14T22:13:20Z' };
    const text = `${JSON.stringify(rec({ sensor: 'gw-1', vlan: 7, encap: 'vxlan', payloadCut: 2, captureCapped: true }))}\n\n${JSON.stringify(minimal)}\r\n`;
    const rs = await all([text]);
    expect(rs).toHaveLength(2);
    expect(rs[0]).toMatchObject({ sensor: 'gw-1', vlan: 7, encap: 'vxlan', payloadCut: 2, captureCapped: true, registrant: 'acme' });
    expect(rs[1]).toEqual({ ...minimal, protocol: null, confidence: 0, registrant: null, evidence: [], listVersion: 0, decidedAtPacket: 0 });
  });

  it('the same records whatever the chunking (strings or UTF-8 bytes split anywhere, a BOM first)', async () => {
    const text = `\ufeff${[rec(), rec({ registrant: 'ÄÖ名', src: '[2001:db8::1]:1' }), rec({ label: 'ordinary' })].map((r) => JSON.stringify(r)).join('\n')}`;
    const whole = await all([text]);
    expect(whole).toHaveLength(3);
    const bytes = new TextEncoder().encode(text);
    await fc.assert(fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 6 }), async (cuts) => {
      const at = [0, ...cuts.sort((a, b) => a - b), bytes.length];
      const chunks = at.slice(1).map((end, i) => bytes.subarray(at[i]!, end));
      expect(await all(chunks)).toEqual(whole);
    }), { numRuns: 60 });
  });

  it('a bad line fails with source:line and what is wrong', async () => {
    const good = JSON.stringify(rec());
    const cases: Array<[string, RegExp]> = [
      ['{"transport":', /r\.ndjson:2: not JSON/],
      ['[1,2]', /r\.ndjson:2: not a flow record/],
      [JSON.stringify(rec({ label: 'maybe' })), /r\.ndjson:2: field "label" must be/],
      [JSON.stringify(rec({ bytes: -1 })), /r\.ndjson:2: field "bytes" must be an integer in/],
      [JSON.stringify(rec({ payloadCut: '3' })), /r\.ndjson:2: field "payloadCut" must be an integer in/],
      [JSON.stringify(rec({ captureCapped: 'yes' })), /r\.ndjson:2: field "captureCapped" must be true or false/],
      [JSON.stringify(rec({ firstSeen: 'yesterday' })), /r\.ndjson:2: field "firstSeen" must be an ISO-8601/],
      [JSON.stringify(rec({ lastSeen: '2026-02-30T00:00:00Z' })), /r\.ndjson:2: field "lastSeen" must be an ISO-8601/],
      [JSON.stringify(rec({ evidence: [{ source: 'x' }] })), /r\.ndjson:2: evidence\[0\]\.strength must be a string/],
      [JSON.stringify(rec({ evidence: [{ ...(rec().evidence as object[])[0], strength: 'huge' }] })), /evidence\[0\]\.strength/],
      [JSON.stringify(rec({ src: 5 })), /field "src" must be a string/],
      [JSON.stringify(rec({ bytes: 1.7e308 })), /r\.ndjson:2: field "bytes" must be an integer in \[0, 9007199254740991\]/],
      [JSON.stringify(rec({ packets: 2.5 })), /field "packets" must be an integer in \[0, 9007199254740991\]/],
      [JSON.stringify(rec({ confidence: 5e6 })), /r\.ndjson:2: field "confidence" must be a number in \[0, 1\]/],
      [JSON.stringify(rec({ listVersion: 2 ** 32 })), /r\.ndjson:2: field "listVersion" must be an integer in \[0, 4294967295\]/],
      [JSON.stringify(rec({ listVersion: 1.5 })), /field "listVersion" must be an integer/],
      [JSON.stringify(rec({ decidedAtPacket: 2 ** 31 })), /r\.ndjson:2: field "decidedAtPacket" must be an integer in \[0, 2147483647\]/],
      [JSON.stringify(rec({ payloadCut: 1e300 })), /field "payloadCut" must be an integer in \[0, 2147483647\]/],
      [JSON.stringify(rec({ vlan: 2 ** 32 + 5 })), /r\.ndjson:2: field "vlan" must be an integer in \[0, 4095\]/],
      [JSON.stringify(rec({ vlan: -1 })), /field "vlan" must be an integer in \[0, 4095\]/],
      [JSON.stringify(rec({ evidence: [{ ...(rec().evidence as object[])[0], packet: 2 ** 31 }] })), /evidence\[0\]\.packet must be an integer in \[0, 2147483647\]/],
    ];
    for (const [line, want] of cases) {
      const e = await failure([`${good}\n${line}\n${good}\n`]);
      expect(e.message).toMatch(want);
      expect([e.code, e.line, e.source]).toEqual(['TS_RECORD_PARSE', 2, 'r.ndjson']);
    }
  });

  it('a line over the cap fails without buffering the rest', async () => {
    async function* endless(): AsyncGenerator<string> {
      yield `${JSON.stringify(rec())}\n`;
      for (;;) yield 'x'.repeat(1 << 16);
    }
    const it = ndjsonRecords(endless(), 'big', { maxLineBytes: 1 << 18 });
    await expect((async () => {
      for await (const _ of it) void _;
    })()).rejects.toThrow(/big:2: line longer than 262144 bytes/);
  });

  it('fuzz: random and mutated lines give records or a RecordParseError, nothing else', () => {
    const good = JSON.stringify(rec());
    const mutated = fc.tuple(fc.integer({ min: 0, max: good.length }), fc.integer({ min: 0, max: good.length }), fc.string({ maxLength: 8 }))
      .map(([a, b, ins]) => good.slice(0, Math.min(a, b)) + ins + good.slice(Math.max(a, b)));
    // Three runs rather than one fc.oneof: oneof's depth handling made the same 600 lines take ~20x longer.
    for (const lines of [fc.string({ unit: 'binary', maxLength: 300 }), mutated, fc.json({ maxDepth: 2 })]) fc.assert(fc.property(lines, (line) => {
      let r: ReportRecord | null = null;
      try {
        r = parseRecordLine(line, 'f', 1);
      } catch (e) {
        if (!(e instanceof RecordParseError)) throw e;
      }
      if (r && !['registered_vpn', 'unregistered_vpn', 'ordinary'].includes(r.label)) throw new Error(`bad label ${r.label}`);
    }), { numRuns: 300 });
  });
});
