/**
 * The check of a recording whose capture holds several flows of one tunnel (IKE on 500 and NAT-T on 4500, PPTP's
 * TCP control connection and its GRE): test/helpers/real-recording.ts's expectOneTunnel checks captures of one flow.
 */
import { expect } from 'vitest';
import { classifyRecording, describeRecords, type FlowRecord } from './real-recording.js';

export interface TunnelFlow {
  transport: string;
  /** A port of the flow (either end); none for GRE or ESP. */
  port?: number;
  /** Both ports of the flow, in either order (when `port` alone would match two flows). */
  ports?: [number, number];
  protocol: string;
  /** Evidence rules the flow's verdict must carry (each of them). */
  rules: string[];
}

function portOf(endpoint: string): number | null {
  const m = /:(\d+)$/.exec(endpoint);
  return m ? Number(m[1]) : null;
}

function matches(f: FlowRecord, w: TunnelFlow): boolean {
  const a = portOf(f.src), b = portOf(f.dst);
  if (f.transport !== w.transport) return false;
  if (w.ports && !((a === w.ports[0] && b === w.ports[1]) || (a === w.ports[1] && b === w.ports[0]))) return false;
  return w.port === undefined || a === w.port || b === w.port;
}

/**
 * Exactly the flows of `want` (one record each, nothing else), each `unregistered_vpn` with its protocol and rules;
 * then, with `server` registered, every one `registered_vpn` with the registrant.
 */
export async function expectTunnelFlows(pcap: string, want: readonly TunnelFlow[], server: string): Promise<void> {
  const flows = await classifyRecording(pcap);
  const seen = describeRecords(flows);
  expect(flows, seen).toHaveLength(want.length);
  for (const w of want) {
    const f = flows.filter((r) => matches(r, w));
    expect(f, `one ${w.transport} flow${w.port ? ` on port ${w.port}` : ''}:\n${seen}`).toHaveLength(1);
    expect([f[0]!.label, f[0]!.protocol], seen).toEqual(['unregistered_vpn', w.protocol]);
    const rules = f[0]!.evidence.map((e) => e.rule);
    for (const rule of w.rules) expect(rules, `${rule} in ${seen}`).toContain(rule);
  }
  const reg = await classifyRecording(pcap, [`${server},Recording Org`]);
  expect(reg.map((r) => [r.label, r.registrant]), describeRecords(reg)).toEqual(want.map(() => ['registered_vpn', 'Recording Org']));
}
