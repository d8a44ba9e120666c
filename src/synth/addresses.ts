/**
 * Address plan of a synthetic trace: client pools (registered / unregistered, per family) in private and
 * documentation ranges, server pools in public-looking ranges, and the registration prefixes that cover exactly
 * the registered clients. Registered and unregistered clients come from disjoint ranges so no listed prefix can
 * cover an unregistered client:
 *   registered   v4: /24 blocks in 10.0.0.0/10, /32 hosts in 172.16.0.0/12
 *                v6: /48 blocks in 2001:db8:1::–2001:db8:3fff::, /128 hosts in 2001:db8:4000::/34
 *   unregistered v4: 10.64.0.0–10.255.255.255, 192.168.0.0/16;  v6: 2001:db8:8000::/33, fd00::/8
 */
import { formatIPv4, formatIPv6 } from '../ip/format.js';
import type { Rng } from './rng.js';

export interface Client {
  bytes: Uint8Array;
  registrant: string | null;
}

export interface Registration {
  cidr: string;
  registrant: string;
}

export function addrText(b: Uint8Array): string {
  return b.length === 4 ? formatIPv4(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) : formatIPv6(b, 0);
}

function v4(a: number, b: number, c: number, d: number): Uint8Array {
  return Uint8Array.of(a, b, c, d);
}
function v6(groups: number[]): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) { out[2 * i] = (groups[i] ?? 0) >> 8; out[2 * i + 1] = (groups[i] ?? 0) & 255; }
  return out;
}
const key = (b: Uint8Array): string => b.join('.');

/** Builds pools; `used` keeps every client address unique across pools. */
export class AddressPlan {
  readonly registrations: Registration[] = [];
  private readonly used = new Set<string>();
  private readonly blocks = new Set<string>();
  private orgs = 0;

  constructor(private readonly rng: Rng) {}

  private fresh(make: () => Uint8Array): Uint8Array {
    for (;;) {
      const b = make();
      const k = key(b);
      if (!this.used.has(k)) { this.used.add(k); return b; }
    }
  }

  private nextOrg(): string {
    // Several prefixes per organisation: a new org id about every third group.
    if (this.orgs === 0 || this.rng.chance(0.35)) this.orgs++;
    return `org-${this.orgs}`;
  }

  /** `n` registered clients of one family, grouped in host prefixes and wider blocks. */
  registered(n: number, family: 4 | 6): Client[] {
    const r = this.rng;
    const out: Client[] = [];
    while (out.length < n) {
      const org = this.nextOrg();
      if (r.chance(0.4) && n - out.length >= 2) {
        // A wider prefix with several clients.
        const hosts = Math.min(n - out.length, r.range(2, 8));
        let blk: string;
        let make: () => Uint8Array;
        if (family === 4) {
          let b1 = 0, b2 = 0;
          do { b1 = r.int(64); b2 = r.int(256); blk = `4:${b1}.${b2}`; } while (this.blocks.has(blk));
          make = () => v4(10, b1, b2, r.range(2, 254));
          this.registrations.push({ cidr: `10.${b1}.${b2}.0/24`, registrant: org });
        } else {
          let g = 0;
          do { g = r.range(1, 0x3fff); blk = `6:${g}`; } while (this.blocks.has(blk));
          make = () => v6([0x2001, 0xdb8, g, r.int(0x10000), 0, 0, r.int(0x10000), r.range(1, 0xffff)]);
          this.registrations.push({ cidr: `2001:db8:${g.toString(16)}::/48`, registrant: org });
        }
        this.blocks.add(blk);
        for (let i = 0; i < hosts; i++) out.push({ bytes: this.fresh(make), registrant: org });
      } else {
        const b = family === 4
          ? this.fresh(() => v4(172, r.range(16, 31), r.int(256), r.range(1, 254)))
          : this.fresh(() => v6([0x2001, 0xdb8, r.range(0x4000, 0x7fff), r.int(0x10000), 0, 0, 0, r.range(1, 0xffff)]));
        this.registrations.push({ cidr: `${addrText(b)}/${family === 4 ? 32 : 128}`, registrant: org });
        out.push({ bytes: b, registrant: org });
      }
    }
    return out;
  }

  /** `n` clients outside every registered range. */
  unregistered(n: number, family: 4 | 6): Client[] {
    const r = this.rng;
    const out: Client[] = [];
    for (let i = 0; i < n; i++) {
      const b = family === 4
        ? this.fresh(() => (r.chance(0.7) ? v4(10, r.range(64, 255), r.int(256), r.range(2, 254)) : v4(192, 168, r.int(256), r.range(2, 254))))
        : this.fresh(() => (r.chance(0.6)
          ? v6([0x2001, 0xdb8, r.range(0x8000, 0xffff), r.int(0x10000), 0, 0, r.int(0x10000), r.range(1, 0xffff)])
          : v6([0xfd00 | r.int(256), r.int(0x10000), r.int(0x10000), r.int(0x10000), r.int(0x10000), r.int(0x10000), r.int(0x10000), r.range(1, 0xffff)])));
      out.push({ bytes: b, registrant: null });
    }
    return out;
  }

  /** `n` public-looking server addresses (outside private, documentation, Teredo and multicast space). */
  servers(n: number, family: 4 | 6): Uint8Array[] {
    const r = this.rng;
    const FIRST = [5, 23, 31, 37, 45, 46, 51, 52, 62, 77, 80, 85, 89, 91, 94, 104, 138, 141, 146, 151, 159, 162, 176, 178, 185, 188, 193, 194, 195, 212, 213, 217];
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      out.push(family === 4
        ? this.fresh(() => v4(r.pick(FIRST), r.int(256), r.int(256), r.range(1, 254)))
        : this.fresh(() => v6([r.chance(0.5) ? 0x2a00 + r.int(16) : 0x2600 + r.int(16), r.int(0x10000), r.int(0x10000), r.int(0x10000), 0, 0, r.int(0x10000), r.range(1, 0xffff)])));
    }
    return out;
  }
}
