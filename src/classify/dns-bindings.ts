/**
 * DNS answer binding (reference part 3, "VPN-provider names"): an A/AAAA answer binds each address to the queried
 * name and its CNAME chain, for the answer's TTL capped at one hour, for the client that asked. A later flow from
 * that client to that address inherits the name: medium within the binding, weak after it, citing the DNS answer.
 *
 * Answers are read from every DNS server frame a session sees (by port, from the outermost headers; see
 * trace/peek.ts), not from the flow table's view of DNS flows: a pool worker that tracks only its shard still sees
 * every answer (file jobs: every frame; live pushes: answers are copied to every worker), so bindings, and the
 * verdicts that use them, are the same for any number of workers.
 *
 * Only answers whose chain holds a name on the domain list in force when they are seen are kept (memory stays
 * small and bounded: oldest bindings are dropped first), and a later verdict matches the chain again against its
 * own list version, so a verdict never mixes list versions. Bindings are per address family: an AAAA answer
 * fetched over IPv4 cannot be tied to the client's IPv6 address, so only same-family answers bind.
 */
import type { DnsAnswers } from '../detect/names/dns.js';
import { formatIPv4, formatIPv6 } from '../ip/format.js';
import type { FlowAddresses } from './engine.js';

/** A binding is medium evidence for this long at most after the answer (reference: TTL capped at 1 hour). */
export const MAX_BINDING_US = 3600 * 1e6;
/** Bindings remembered (client, address pairs); the oldest is dropped first. */
export const MAX_BINDINGS = 65536;

export interface DnsBinding {
  /** The question name and its CNAME chain (lower case). */
  readonly chain: readonly string[];
  /** Capture time of the answer, and the end of the binding (answer time + min(TTL, 1 h)). */
  readonly atUs: number;
  readonly untilUs: number;
  /** TTL of the answer's address records, seconds. */
  readonly ttl: number;
  /** The response that carried the answer ("from resolver to client at time"). */
  readonly answer: string;
}

/** A binding found for a flow, and whether the flow started within it. */
export interface BoundName {
  readonly binding: DnsBinding;
  readonly within: boolean;
  /** The flow's responder address as text (the address the answer returned). */
  readonly address: string;
}

/** Map key of a (client, address) pair: uint32 addresses for IPv4, RFC 5952 text for IPv6. */
function pairKey(client: number | string, addr: number | string): string {
  return `${client}>${addr}`;
}

/** 16-bit hash of an IPv4 address, or of an IPv6 address's four words (bytes at off). */
function hash4(a: number): number {
  return Math.imul(a | 0, 0x9e3779b1) >>> 16;
}
function hash6(b: Uint8Array, off: number): number {
  let x = 0;
  for (let i = 0; i < 16; i += 4) x ^= (b[off + i]! << 24) | (b[off + i + 1]! << 16) | (b[off + i + 2]! << 8) | b[off + i + 3]!;
  return hash4(x);
}

export class DnsBindings {
  private readonly m = new Map<string, DnsBinding>();
  /**
   * One bit per hash of an answered address. Every flow is looked up at its verdict; a clear bit says "no binding"
   * without building the text key. Never cleared: a bit left by an evicted binding only costs a map lookup.
   */
  private readonly answered = new Uint8Array(8192);

  constructor(private readonly max = MAX_BINDINGS) {}

  get size(): number {
    return this.m.size;
  }

  /**
   * Record the answers of one DNS response whose chain holds a name on the domain list in force (the caller checks:
   * other answers are not kept). The client is the response's destination: `clientV4`, or for IPv6 the 16 bytes at
   * `clientBytes[clientOff]`. `desc` names the response for evidence text.
   */
  note(ipVersion: 4 | 6, clientV4: number, clientBytes: Uint8Array, clientOff: number, ans: DnsAnswers, tsUs: number, desc: string): void {
    const span = Math.min(ans.ttl * 1e6, MAX_BINDING_US);
    const b: DnsBinding = { chain: ans.chain, atUs: tsUs, untilUs: tsUs + span, ttl: ans.ttl, answer: desc };
    if (ipVersion === 4) {
      for (const a of ans.a4) {
        this.mark(hash4(a));
        this.put(pairKey(clientV4, a), b);
      }
    } else {
      const client = formatIPv6(clientBytes, clientOff);
      for (const a of ans.a6) {
        this.mark(hash6(a, 0));
        this.put(pairKey(client, formatIPv6(a, 0)), b);
      }
    }
  }

  /** The binding for a flow from its initiator to its responder's address, if any; `startUs` is the flow's start. */
  lookup(f: FlowAddresses, startUs: number): BoundName | null {
    if (this.m.size === 0) return null;
    const h = f.ipVersion === 4 ? hash4(f.dst4) : hash6(f.addrBytes(), f.dst6Off());
    if ((this.answered[h >>> 3]! & (1 << (h & 7))) === 0) return null;
    let b: DnsBinding | undefined;
    let address: string;
    if (f.ipVersion === 4) {
      b = this.m.get(pairKey(f.src4, f.dst4));
      if (!b) return null;
      address = formatIPv4(f.dst4);
    } else {
      address = formatIPv6(f.addrBytes(), f.dst6Off());
      b = this.m.get(pairKey(formatIPv6(f.addrBytes(), f.src6Off()), address));
      if (!b) return null;
    }
    // A flow that started before the answer was not caused by it.
    if (startUs < b.atUs) return null;
    return { binding: b, within: startUs <= b.untilUs, address };
  }

  private mark(h: number): void {
    this.answered[h >>> 3] = this.answered[h >>> 3]! | (1 << (h & 7));
  }

  private put(k: string, b: DnsBinding): void {
    // Re-inserting moves the key to the newest end, so the bound drops the least recently answered pair.
    if (this.m.has(k)) this.m.delete(k);
    else if (this.m.size >= this.max) this.m.delete(this.m.keys().next().value!);
    this.m.set(k, b);
  }
}
