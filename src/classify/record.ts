/** The per-flow output record shared by the CLI (ndjson/table/json), sessions and workers. */
import type { Evidence } from '../detect/types.js';
import type { EndReason, FlowHandle } from '../trace/types.js';
import { ENCAP_NAMES } from '../trace/types.js';
import { isoMicros, transportName } from '../trace/flow-format.js';
import type { Label, Verdict } from './types.js';

export interface FlowRecord {
  transport: string;
  src: string;
  dst: string;
  vlan?: number;
  encap?: string;
  label: Label;
  protocol: string | null;
  confidence: number;
  registrant: string | null;
  evidence: Evidence[];
  packets: number;
  bytes: number;
  /** ISO-8601 UTC with microseconds, capture time. */
  firstSeen: string;
  lastSeen: string;
  listVersion: number;
  /** Payload packets seen when the label became final. */
  decidedAtPacket: number;
  /** Inspected payload packets the capture cut short ({@link Verdict.payloadCut}); present only when above 0. */
  payloadCut?: number;
  /** True when a flow-table cap stopped recording the flow early ({@link Verdict.captureCapped}); present only then. */
  captureCapped?: boolean;
  /** The capture file the flow came from, on runs over several captures (`classifyCaptures`, the CLI). */
  capture?: string;
  /**
   * The same counters per direction: sent by `src` (the initiator) and by `dst`. Zeek's orig/resp and
   * Suricata's toserver/toclient counters and IPFIX biflow records need them. Sessions and pools always set
   * these and `end`; they are optional for records from elsewhere (NDJSON written by an earlier version).
   */
  srcPackets?: number;
  srcBytes?: number;
  dstPackets?: number;
  dstBytes?: number;
  /** Why the flow ended: idle | evicted | fin | rst | eof | stop (a stopped run); absent in a verdict's record so far. */
  end?: EndReason | undefined;
}

export { transportName };

/** The record of flow `f` with verdict `v`: at its end (`end` given), or so far (a verdict event's record). */
export function flowRecord(f: FlowHandle, v: Verdict, end?: EndReason): FlowRecord {
  const r: FlowRecord = {
    transport: transportName(f.transport),
    src: f.srcText(),
    dst: f.dstText(),
    label: v.label,
    protocol: v.protocol,
    confidence: v.confidence,
    registrant: v.registrant,
    evidence: v.evidence,
    packets: f.packetsFwd + f.packetsRev,
    bytes: f.bytesFwd + f.bytesRev,
    firstSeen: isoMicros(f.firstSeenUs),
    lastSeen: isoMicros(f.lastSeenUs),
    listVersion: v.listVersion,
    decidedAtPacket: v.decidedAtPacket,
    srcPackets: f.packetsFwd,
    srcBytes: f.bytesFwd,
    dstPackets: f.packetsRev,
    dstBytes: f.bytesRev,
    // Undefined in a record so far: JSON.stringify leaves the key out.
    end,
  };
  if (f.vlan >= 0) r.vlan = f.vlan;
  if (v.payloadCut) r.payloadCut = v.payloadCut;
  if (v.captureCapped) r.captureCapped = true;
  const enc = ENCAP_NAMES[f.encap];
  if (enc) r.encap = enc;
  return r;
}
