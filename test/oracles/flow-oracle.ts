/**
 * Naive flow-table oracle for non-TCP traffic: a Map keyed by the unordered tuple text, Map insertion order as
 * recency (delete + set on touch), expiry checked before every packet, eviction of the least recent flow.
 * Obviously correct and slow; the real table must produce the same set of ended flows.
 */
import { formatEndpoint, hasPorts } from '../../src/trace/flow-format.js';
import type { PacketView } from '../../src/trace/types.js';

interface OFlow { transport: number; vlan: number; src: string; dst: string; fwd: number; rev: number; last: number }

export class NaiveFlowOracle {
  readonly ended: string[] = [];
  private readonly flows = new Map<string, OFlow>();
  private now = 0;
  constructor(private readonly maxFlows: number, private readonly timeoutUs: number) {}

  private end(key: string, f: OFlow, why: string): void {
    this.flows.delete(key);
    this.ended.push(`${f.transport} ${f.vlan} ${f.src} ${f.dst} ${f.fwd}/${f.rev} ${why}`);
  }

  add(p: PacketView): void {
    if (p.tsUs > this.now) this.now = p.tsUs;
    for (const [k, f] of [...this.flows]) if (f.last < this.now - this.timeoutUs) this.end(k, f, 'idle');
    const ports = hasPorts(p.proto);
    const s = formatEndpoint(p.ipVersion, p.src4, p.data, p.srcOff, p.srcPort, ports);
    const d = formatEndpoint(p.ipVersion, p.dst4, p.data, p.dstOff, p.dstPort, ports);
    const pre = `${p.proto}|${p.vlan}|${p.encap}|${p.ipVersion}|`;
    let key = pre + s + '|' + d;
    let f = this.flows.get(key);
    let rev = false;
    if (!f) {
      const k2 = pre + d + '|' + s;
      f = this.flows.get(k2);
      if (f) {
        key = k2;
        rev = true;
      }
    }
    if (!f) {
      if (this.flows.size >= this.maxFlows) {
        const [k0, f0] = this.flows.entries().next().value as [string, OFlow];
        this.end(k0, f0, 'evicted');
      }
      f = { transport: p.proto, vlan: p.vlan, src: s, dst: d, fwd: 0, rev: 0, last: p.tsUs };
    }
    this.flows.delete(key);
    this.flows.set(key, f);
    if (rev) f.rev++;
    else f.fwd++;
    if (p.tsUs > f.last) f.last = p.tsUs;
  }

  flush(): void {
    for (const [k, f] of [...this.flows]) this.end(k, f, 'eof');
  }
}
