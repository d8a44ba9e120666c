/**
 * Cross-flow relations ("companion flows"): evidence a flow earns from another flow of the same hosts whose
 * protocol is already established. Documented cases (reference part 1, tinc): a UDP flow between the same two
 * hosts and on the same port number as a tinc meta connection that was identified with strong evidence is
 * tinc's data channel — legacy tinc UDP is encrypted from the first byte, so this relation is the only
 * observable. The index is bounded (oldest entries are dropped first) and keyed by numbers and short strings
 * built only when a flow is finalised, never per packet.
 */
import type { Evidence } from '../detect/types.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../detect/types.js';
import { formatIPv6 } from '../ip/format.js';
import type { FlowAddresses } from './engine.js';

/** Source id of companion evidence (decides alone: it ties a flow to a strongly identified one). */
export const COMPANION_SOURCE = 'companion';

interface Meta {
  protocol: string;
  rule: string;
  desc: string;
}

/** Protocols whose strongly identified TCP control flow vouches for UDP flows of the same hosts and port. */
const META_PROTOCOLS: ReadonlySet<string> = new Set(['tinc']);

export interface CompanionFlow extends FlowAddresses {
  readonly transport: number;
  readonly srcPort: number;
  readonly dstPort: number;
  srcText(): string;
  dstText(): string;
}

function hostKey(f: FlowAddresses): string {
  if (f.ipVersion === 4) {
    const a = f.src4, b = f.dst4;
    return a < b ? `${a}-${b}` : `${b}-${a}`;
  }
  const x = formatIPv6(f.addrBytes(), f.src6Off()), y = formatIPv6(f.addrBytes(), f.dst6Off());
  return x < y ? `${x}-${y}` : `${y}-${x}`;
}

export class CompanionIndex {
  private readonly metas = new Map<string, Meta>();
  constructor(private readonly max = 65536) {}

  get size(): number {
    return this.metas.size;
  }

  /** Record a finalised flow that may vouch for companions (only strong TCP meta connections qualify). */
  noteVerdict(f: CompanionFlow, protocol: string | null, evidence: readonly Evidence[]): void {
    if (f.transport !== IPPROTO_TCP || protocol === null || !META_PROTOCOLS.has(protocol)) return;
    const strong = evidence.find((e) => e.strength === 'strong' && e.protocol === protocol);
    if (!strong) return;
    const key = `${hostKey(f)}|${f.dstPort}`;
    if (this.metas.has(key)) this.metas.delete(key);
    else if (this.metas.size >= this.max) this.metas.delete(this.metas.keys().next().value!);
    this.metas.set(key, { protocol, rule: strong.rule, desc: `${f.srcText()} → ${f.dstText()}` });
  }

  /** Companion evidence for a UDP flow, or null. */
  evidenceFor(f: CompanionFlow): Evidence | null {
    if (f.transport !== IPPROTO_UDP || this.metas.size === 0) return null;
    const hk = hostKey(f);
    for (const port of f.srcPort === f.dstPort ? [f.srcPort] : [f.srcPort, f.dstPort]) {
      const m = this.metas.get(`${hk}|${port}`);
      if (m) {
        return {
          source: COMPANION_SOURCE,
          kind: 'relation',
          protocol: m.protocol,
          strength: 'medium',
          rule: `${m.protocol}.companion`,
          reason: `UDP flow between the same two hosts on port ${port}, the port of the ${m.protocol} meta connection ${m.desc} (identified by ${m.rule})`,
        };
      }
    }
    return null;
  }
}

