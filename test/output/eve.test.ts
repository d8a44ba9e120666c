/**
 * Suricata EVE JSON flow events: every field name and type as Suricata's EVE schema (etc/schema.json) documents
 * them — the schema is in neither npm nor Debian, so the documented types of the fields used are encoded here —
 * with tunnelscope's one addition, the `tunnelscope` object; a jq recipe over the golden file; and the
 * `community_id` of every flow equal to what tshark's Community ID dissector computes from the packets.
 */
import { execFileSync } from 'node:child_process';
import { isIP } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/classify/record.js';
import { communityId, eveFlowEvent, eveLine } from '../../src/output/index.js';
import { ensureTools } from '../helpers/tools.js';
import { render, SAMPLE_PCAP, sampleRecords } from './sample-records.js';

type Check = 'string' | 'integer' | 'boolean' | 'number[]' | 'object';
/** Top-level EVE fields a flow event may carry and their documented types (Suricata etc/schema.json). */
const EVE_TOP: Record<string, Check> = {
  timestamp: 'string', flow_id: 'integer', event_type: 'string', vlan: 'number[]', src_ip: 'string', src_port: 'integer',
  dest_ip: 'string', dest_port: 'integer', proto: 'string', app_proto: 'string', community_id: 'string', flow: 'object',
};
/** The `flow` object's fields (schema: additionalProperties false). */
const EVE_FLOW: Record<string, Check> = {
  pkts_toserver: 'integer', pkts_toclient: 'integer', bytes_toserver: 'integer', bytes_toclient: 'integer',
  start: 'string', end: 'string', age: 'integer', state: 'string', reason: 'string', alerted: 'boolean',
};
/** Suricata's timestamp pattern (schema). */
const EVE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+[+-]\d+$/;

function typeOk(v: unknown, t: Check): boolean {
  if (t === 'integer') return Number.isSafeInteger(v) && (v as number) >= 0;
  if (t === 'number[]') return Array.isArray(v) && v.every((x) => typeof x === 'number');
  if (t === 'object') return typeof v === 'object' && v !== null && !Array.isArray(v);
  return typeof v === t;
}

/** Problems of one event against the documented schema, [] when it conforms. */
function schemaProblems(ev: Record<string, unknown>): string[] {
  const bad: string[] = [];
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'tunnelscope') continue;
    const t = EVE_TOP[k];
    if (!t) bad.push(`unknown field ${k}`);
    else if (!typeOk(v, t)) bad.push(`${k} is not ${t}`);
  }
  for (const k of ['timestamp', 'event_type', 'src_ip', 'dest_ip', 'proto', 'flow', 'flow_id']) if (!(k in ev)) bad.push(`missing ${k}`);
  if (ev.event_type !== 'flow') bad.push('event_type is not flow');
  if (!EVE_TIME.test(String(ev.timestamp))) bad.push('timestamp pattern');
  if (!isIP(String(ev.src_ip)) || !isIP(String(ev.dest_ip))) bad.push('address');
  const flow = ev.flow as Record<string, unknown>;
  for (const [k, v] of Object.entries(flow ?? {})) {
    const t = EVE_FLOW[k];
    if (!t) bad.push(`unknown flow.${k}`);
    else if (!typeOk(v, t)) bad.push(`flow.${k} is not ${t}`);
  }
  if (!EVE_TIME.test(String(flow?.start)) || !EVE_TIME.test(String(flow?.end))) bad.push('flow time pattern');
  if (!['new', 'established', 'closed', 'bypassed'].includes(String(flow?.state))) bad.push('flow.state value');
  if (!['timeout', 'forced', 'shutdown'].includes(String(flow?.reason))) bad.push('flow.reason value');
  return bad;
}

describe('Suricata EVE flow events', () => {
  let records: FlowRecord[] = [];
  let events: Record<string, unknown>[] = [];
  beforeAll(async () => {
    records = await sampleRecords();
    events = render('eve', records).trimEnd().split('\n').map((l) => JSON.parse(l));
  });

  it('every event of the sample has only documented EVE fields of the documented types (plus tunnelscope)', () => {
    expect(events.length).toBe(records.length);
    for (const ev of events) expect(schemaProblems(ev)).toEqual([]);
    // The checker itself rejects what the schema rejects.
    expect(schemaProblems({ ...events[0]!, flow_id: '1' })).toContain('flow_id is not integer');
    expect(schemaProblems({ ...events[0]!, flow: { ...(events[0]!.flow as object), bytes: 1 } })).toContain('unknown flow.bytes');
    expect(schemaProblems({ ...events[0]!, timestamp: '2026-01-01T00:00:00.000000Z' })).toContain('timestamp pattern');
  });

  it('carries the record: 5-tuple, per-direction counters, times, verdict and evidence', () => {
    events.forEach((ev, i) => {
      const r = records[i]!;
      const flow = ev.flow as Record<string, number | string>;
      expect(flow.pkts_toserver! as number + (flow.pkts_toclient as number)).toBe(r.packets);
      expect(flow.bytes_toserver! as number + (flow.bytes_toclient as number)).toBe(r.bytes);
      expect(String(flow.start).slice(0, 26)).toBe(r.firstSeen.slice(0, 26));
      expect(ev.timestamp).toBe(flow.start);
      const ts = ev.tunnelscope as Record<string, unknown>;
      expect(ts.label).toBe(r.label);
      expect(ts.evidence).toEqual(r.evidence);
      expect(ev.app_proto).toBe(r.label === 'ordinary' ? undefined : r.protocol);
      expect('src_port' in ev).toBe(r.transport === 'tcp' || r.transport === 'udp');
    });
    expect(new Set(events.map((e) => e.flow_id)).size).toBe(events.length);
  });

  it('maps end reasons and states as documented', () => {
    const base = records.find((r) => r.transport === 'udp')!;
    const flow = (r: FlowRecord) => eveFlowEvent(r).flow as Record<string, unknown>;
    expect(flow({ ...base, end: 'eof' }).reason).toBe('shutdown');
    expect(flow({ ...base, end: 'evicted' }).reason).toBe('forced');
    expect(flow({ ...base, end: 'idle' }).reason).toBe('timeout');
    expect(flow({ ...base, dstPackets: 0 }).state).toBe('new');
    expect(flow({ ...base, transport: 'tcp', end: 'rst' }).state).toBe('closed');
  });

  it('a record without per-direction counters or end reason (older NDJSON) leaves them out, never guesses', () => {
    const { srcPackets, srcBytes, dstPackets, dstBytes, end, ...old } = records.find((r) => r.transport === 'udp')!;
    void [srcPackets, srcBytes, dstPackets, dstBytes, end];
    const ev = eveFlowEvent(old as FlowRecord);
    expect(Object.keys(ev.flow as object).sort()).toEqual(['age', 'alerted', 'end', 'start']);
    expect(schemaProblems(ev).filter((p) => !p.startsWith('flow.state') && !p.startsWith('flow.reason'))).toEqual([]);
  });

  it('a transport or end named like an Object.prototype member is unknown, not a function turned into a number', () => {
    for (const w of ['constructor', '__proto__', 'toString']) {
      const r = { ...records[0]!, transport: w, end: w } as unknown as FlowRecord;
      const ev = eveFlowEvent(r);
      expect(typeof ev.proto).toBe('string');
      expect(ev.proto).toBe(w);
      expect(JSON.parse(eveLine(r)).community_id).toBeUndefined();
    }
  });

  it('hostile strings cannot break the line', () => {
    const r = { ...records[0]!, registrant: 'a\n{"event_type":"alert"}\u2028\u0000' };
    const line = eveLine(r);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect((JSON.parse(line).tunnelscope as { registrant: string }).registrant).toBe(r.registrant);
  });

  const noJq = ensureTools('jq');
  it.skipIf(noJq !== null)(`a jq recipe selects the VPN flows${noJq ? ` — skipped: ${noJq}` : ''}`, () => {
    const out = execFileSync('jq', ['-c', 'select(.event_type == "flow" and .tunnelscope.label != "ordinary") | [.src_ip, .app_proto, .tunnelscope.registrant]'], {
      input: render('eve', records),
      encoding: 'utf8',
    });
    const want = records.filter((r) => r.label !== 'ordinary').map((r) => JSON.stringify([r.src.startsWith('[') ? r.src.slice(1, r.src.indexOf(']')) : r.src.replace(/:\d+$/, ''), r.protocol, r.registrant]));
    expect(out.trimEnd().split('\n')).toEqual(want);
  });

  const noTshark = ensureTools('tshark');
  it.skipIf(noTshark !== null)(`community_id equals tshark's Community ID of the flow's packets${noTshark ? ` — skipped: ${noTshark}` : ''}`, () => {
    const out = execFileSync('tshark', ['-r', SAMPLE_PCAP, '--enable-protocol', 'communityid', '-T', 'fields', '-e', 'communityid'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const fromPackets = new Set(out.split('\n').filter(Boolean));
    const ours = records.map((r) => communityId(r)).filter((c): c is string => c !== null);
    expect(ours.length).toBe(records.length); // the sample has no ICMP
    for (const c of ours) expect(fromPackets.has(c), c).toBe(true);
    // One id per flow (bidirectional), none left over.
    expect(new Set(ours).size).toBe(fromPackets.size);
  });
});
