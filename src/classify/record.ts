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
  /** Why the flow ended (idle | evicted | fin | rst | eof | stop); absent in a verdict's record so far. */
  end?: EndReason | undefined;
  listVersion: number;
  /** Payload packets seen when the label became final. */
  decidedAtPacket: number;
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
    // Undefined in a record so far: JSON.stringify leaves the key out.
    end,
    listVersion: v.listVersion,
    decidedAtPacket: v.decidedAtPacket,
  };
  if (f.vlan >= 0) r.vlan = f.vlan;
  const enc = ENCAP_NAMES[f.encap];
  if (enc) r.encap = enc;
  return r;
}
