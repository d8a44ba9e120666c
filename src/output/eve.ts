/**
 * Suricata EVE JSON `flow` events (`--format eve`): one object per line with EVE's field names and types
 * (timestamp, flow_id, event_type, vlan, src_ip, src_port, dest_ip, dest_port, proto, app_proto, flow.{pkts_toserver,
 * pkts_toclient, bytes_toserver, bytes_toclient, start, end, age, state, reason, alerted}, community_id), plus a
 * `tunnelscope` object with the verdict and its evidence, so jq, EveBox and Elastic's Suricata recipes work
 * unchanged and can filter on `.tunnelscope.label`.
 *
 * Mapping choices: `app_proto` is the VPN protocol for VPN flows and absent for ordinary ones (tunnelscope does
 * not name ordinary applications); byte counts are captured frame bytes, link-layer header included, as
 * Suricata's are; `state` is `closed` after a TCP FIN/RST, `established` when both sides sent, else `new`;
 * `reason` is `timeout` (idle, FIN/RST), `forced` (evicted at the flow cap) or `shutdown` (end of input).
 * Timestamps use Suricata's form `2023-11-14T22:13:20.123456+0000` (UTC). Strings are JSON-escaped by
 * JSON.stringify, and what it leaves raw (C1, DEL, bidi marks, U+2028/9: a capture or list path can hold them) is
 * written as `\u` escapes (escapeJson), as in classify's NDJSON.
 */
import type { FlowRecord } from '../classify/record.js';
import { escapeJson } from '../text.js';
import { lineFormat, type RecordFormat } from './types.js';
import { communityId, directional, durationMicros, flowId, ipProtocol, parseEndpoint } from './fields.js';

const EVE_PROTO: Readonly<Record<number, string>> = { 1: 'ICMP', 2: 'IGMP', 6: 'TCP', 17: 'UDP', 47: 'GRE', 50: 'ESP', 51: 'AH', 58: 'IPv6-ICMP', 132: 'SCTP' };

/** Suricata's timestamp form of a record time. */
export function eveTime(iso: string): string {
  return `${iso.slice(0, iso.length - 1)}+0000`;
}

function flowState(r: FlowRecord): string | undefined {
  if (r.transport === 'tcp' && (r.end === 'fin' || r.end === 'rst')) return 'closed';
  const d = directional(r);
  if (d === null) return undefined;
  return d.srcPackets > 0 && d.dstPackets > 0 ? 'established' : 'new';
}

function flowReason(r: FlowRecord): string | undefined {
  if (r.end === undefined) return undefined;
  if (r.end === 'evicted') return 'forced';
  // Suricata's reason when the engine stops (end of input, or a stopped run).
  if (r.end === 'eof' || r.end === 'stop') return 'shutdown';
  return 'timeout';
}

/** The EVE flow event of a record, as an object (key order as Suricata writes it). */
export function eveFlowEvent(r: FlowRecord): Record<string, unknown> {
  const s = parseEndpoint(r.src), d = parseEndpoint(r.dst);
  const proto = ipProtocol(r.transport);
  const ev: Record<string, unknown> = { timestamp: eveTime(r.firstSeen), flow_id: flowId(r), event_type: 'flow' };
  if (r.vlan !== undefined) ev.vlan = [r.vlan];
  ev.src_ip = s.ip;
  if (s.port !== null) ev.src_port = s.port;
  ev.dest_ip = d.ip;
  if (d.port !== null) ev.dest_port = d.port;
  ev.proto = EVE_PROTO[proto] ?? (proto >= 0 ? String(proto) : r.transport);
  if (r.label !== 'ordinary' && r.protocol !== null) ev.app_proto = r.protocol;
  // Counters, state and reason are left out for a record that lacks what they derive from (never guessed).
  const dir = directional(r);
  const state = flowState(r), reason = flowReason(r);
  ev.flow = {
    ...(dir ? { pkts_toserver: dir.srcPackets, pkts_toclient: dir.dstPackets, bytes_toserver: dir.srcBytes, bytes_toclient: dir.dstBytes } : {}),
    start: eveTime(r.firstSeen),
    end: eveTime(r.lastSeen),
    age: Math.floor(durationMicros(r) / 1_000_000),
    ...(state ? { state } : {}),
    ...(reason ? { reason } : {}),
    alerted: false,
  };
  const cid = communityId(r);
  if (cid !== null) ev.community_id = cid;
  ev.tunnelscope = {
    label: r.label,
    protocol: r.protocol,
    confidence: r.confidence,
    registrant: r.registrant,
    list_version: r.listVersion,
    decided_at_packet: r.decidedAtPacket,
    ...(r.encap !== undefined ? { encap: r.encap } : {}),
    ...(r.payloadCut ? { payload_cut: r.payloadCut } : {}),
    ...(r.captureCapped ? { capture_capped: true } : {}),
    ...(r.capture !== undefined ? { capture: r.capture } : {}),
    evidence: r.evidence,
  };
  return ev;
}

/** One EVE line (with its newline). */
export function eveLine(r: FlowRecord): string {
  return `${escapeJson(JSON.stringify(eveFlowEvent(r)))}\n`;
}

export const eveFormat: RecordFormat = lineFormat('eve', 'Suricata EVE JSON flow events plus a tunnelscope object', eveLine);
