/**
 * The columns of tunnelscope's Zeek `conn.log`, shared by the TSV (`zeek`) and JSON (`zeek-json`) writers: Zeek's own
 * conn.log fields with Zeek's names and types (base/protocols/conn/main.zeek, plus `community_id` of
 * policy/protocols/conn/community-id-logging and `vlan` of policy/protocols/conn/vlan-logging), then tunnelscope's
 * verdict as `tunnelscope.*` fields (a record-valued field, which Zeek flattens to dotted names the same way).
 *
 * A field tunnelscope cannot fill honestly is unset (`-` in TSV, absent in JSON), never invented:
 * - `orig_bytes`/`resp_bytes` are payload bytes and `orig_ip_bytes`/`resp_ip_bytes` IP-level bytes; tunnelscope counts
 *   captured frame bytes (link-layer header included), which go to `tunnelscope.orig_wire_bytes`/`resp_wire_bytes`;
 * - `conn_state` follows Zeek's rules where the record suffices (UDP: SF, S0 or SHR by which side sent; other
 *   portless or ICMP transports: OTH) and is unset for TCP, whose states need the flag history tunnelscope does
 *   not keep; `history`, `missed_bytes`, `local_orig`/`local_resp`, `service` and `tunnel_parents` likewise;
 * - `duration` is unset for a flow whose first and last packet share a timestamp, as Zeek does;
 * - `id.orig_p`/`id.resp_p` of an ICMP flow are unset: Zeek puts the ICMP type and code there, which a record does
 *   not keep (one flow holds requests and replies), and 0/0 would claim every ICMP flow an echo reply. Other
 *   portless transports (ESP, GRE) get 0, as Zeek logs them.
 */
import type { FlowRecord } from '../classify/record.js';
import { communityId, decidingEvidence, directional, durationMicros, epochText, flowUid, ipProtocol, parseEndpoint, secondsText } from './fields.js';

/** Zeek log types used here. */
export type ZeekType = 'time' | 'string' | 'addr' | 'port' | 'enum' | 'interval' | 'count' | 'int' | 'bool' | 'double' | 'set[string]' | 'vector[string]';

/** A field value: text or a number already in Zeek's rendering, a bool, a list for set/vector types, null when unset. */
export type ZeekValue = { text: string } | { num: string } | { bool: boolean } | { list: string[] } | null;

export interface ZeekField {
  readonly name: string;
  readonly type: ZeekType;
  value(r: FlowRecord, ctx: ZeekRow): ZeekValue;
}

/** Per-record values several fields share, computed once. */
export interface ZeekRow {
  readonly orig: { ip: string; port: number | null };
  readonly resp: { ip: string; port: number | null };
  readonly proto: number;
  readonly durationUs: number;
}

export function zeekRow(r: FlowRecord): ZeekRow {
  return { orig: parseEndpoint(r.src), resp: parseEndpoint(r.dst), proto: ipProtocol(r.transport), durationUs: durationMicros(r) };
}

const text = (t: string | null | undefined): ZeekValue => (t === null || t === undefined ? null : { text: t });
const num = (n: number | null | undefined): ZeekValue => (n === null || n === undefined ? null : { num: String(n) });

/** Zeek's transport_proto enum: tcp, udp, icmp (ICMPv6 too), else unknown_transport (the IP protocol is in ip_proto). */
function transportProto(proto: number): string {
  if (proto === 6) return 'tcp';
  if (proto === 17) return 'udp';
  if (proto === 1 || proto === 58) return 'icmp';
  return 'unknown_transport';
}

/** Zeek's conn_state where the record decides it (Conn::conn_state for UDP and non-TCP), else null. */
function connState(r: FlowRecord, proto: number): string | null {
  if (proto === 6) return null;
  if (proto === 17) {
    const d = directional(r);
    if (d === null) return null;
    if (d.srcPackets > 0) return d.dstPackets > 0 ? 'SF' : 'S0';
    return d.dstPackets > 0 ? 'SHR' : 'OTH';
  }
  return 'OTH';
}

/** A conn id port: the transport's port, 0 for a portless transport, unset for ICMP (Zeek's type and code). */
function port(p: number | null, proto: number): ZeekValue {
  if (proto === 1 || proto === 58) return null;
  return num(p ?? 0);
}

export const ZEEK_FIELDS: readonly ZeekField[] = [
  { name: 'ts', type: 'time', value: (r) => ({ num: epochText(r.firstSeen) }) },
  { name: 'uid', type: 'string', value: (r) => text(flowUid(r)) },
  { name: 'id.orig_h', type: 'addr', value: (_r, c) => text(c.orig.ip) },
  { name: 'id.orig_p', type: 'port', value: (_r, c) => port(c.orig.port, c.proto) },
  { name: 'id.resp_h', type: 'addr', value: (_r, c) => text(c.resp.ip) },
  { name: 'id.resp_p', type: 'port', value: (_r, c) => port(c.resp.port, c.proto) },
  { name: 'proto', type: 'enum', value: (_r, c) => text(transportProto(c.proto)) },
  { name: 'service', type: 'string', value: () => null },
  { name: 'duration', type: 'interval', value: (_r, c) => (c.durationUs > 0 ? { num: secondsText(c.durationUs) } : null) },
  { name: 'orig_bytes', type: 'count', value: () => null },
  { name: 'resp_bytes', type: 'count', value: () => null },
  { name: 'conn_state', type: 'string', value: (r, c) => text(connState(r, c.proto)) },
  { name: 'local_orig', type: 'bool', value: () => null },
  { name: 'local_resp', type: 'bool', value: () => null },
  { name: 'missed_bytes', type: 'count', value: () => null },
  { name: 'history', type: 'string', value: () => null },
  { name: 'orig_pkts', type: 'count', value: (r) => num(r.srcPackets) },
  { name: 'orig_ip_bytes', type: 'count', value: () => null },
  { name: 'resp_pkts', type: 'count', value: (r) => num(r.dstPackets) },
  { name: 'resp_ip_bytes', type: 'count', value: () => null },
  { name: 'tunnel_parents', type: 'set[string]', value: () => null },
  { name: 'ip_proto', type: 'count', value: (_r, c) => (c.proto >= 0 ? num(c.proto) : null) },
  { name: 'community_id', type: 'string', value: (r) => text(communityId(r)) },
  { name: 'vlan', type: 'int', value: (r) => num(r.vlan) },
  { name: 'tunnelscope.label', type: 'string', value: (r) => text(r.label) },
  { name: 'tunnelscope.protocol', type: 'string', value: (r) => text(r.protocol) },
  { name: 'tunnelscope.confidence', type: 'double', value: (r) => ({ num: String(r.confidence) }) },
  { name: 'tunnelscope.registrant', type: 'string', value: (r) => text(r.registrant) },
  { name: 'tunnelscope.list_version', type: 'count', value: (r) => num(r.listVersion) },
  { name: 'tunnelscope.decided_at_packet', type: 'count', value: (r) => num(r.decidedAtPacket) },
  { name: 'tunnelscope.rule', type: 'string', value: (r) => text(decidingEvidence(r)?.rule) },
  { name: 'tunnelscope.reason', type: 'string', value: (r) => text(decidingEvidence(r)?.reason) },
  { name: 'tunnelscope.rules', type: 'vector[string]', value: (r) => ({ list: r.evidence.map((e) => `${e.rule}:${e.strength}`) }) },
  { name: 'tunnelscope.encap', type: 'string', value: (r) => text(r.encap) },
  { name: 'tunnelscope.orig_wire_bytes', type: 'count', value: (r) => num(r.srcBytes) },
  { name: 'tunnelscope.resp_wire_bytes', type: 'count', value: (r) => num(r.dstBytes) },
  { name: 'tunnelscope.end', type: 'string', value: (r) => text(r.end) },
  { name: 'tunnelscope.payload_cut', type: 'count', value: (r) => num(r.payloadCut ?? 0) },
  { name: 'tunnelscope.capture_capped', type: 'bool', value: (r) => ({ bool: r.captureCapped === true }) },
  // The capture file the flow came from, in a run over several (unset for one capture or stdin).
  { name: 'tunnelscope.capture', type: 'string', value: (r) => text(r.capture) },
];
