/** Random registration lists and addresses inside/outside them, plus a naive LPM oracle (linear scan). */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';

export interface Hit {
  prefix: string;
  len: number;
  value: string;
}

/** Most specific entry containing ip (linear scan). IPv4-mapped IPv6 counts as IPv4. */
export function naiveLpm(entries: ReadonlyArray<readonly [string, string]>, ip: string): Hit | null {
  let a = ipaddr.parse(ip);
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  let best: Hit | null = null;
  for (const [cidr, value] of entries) {
    const [net, len] = ipaddr.parseCIDR(cidr);
    if (net.kind() !== a.kind()) continue;
    if ((a as ipaddr.IPv4).match(net as ipaddr.IPv4, len) && (!best || len > best.len)) best = { prefix: cidr, len, value };
  }
  return best;
}

const v4 = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.nat(255));
const len4 = fc.constantFrom(8, 12, 16, 20, 24, 28, 32);

function canon4(o: number[], len: number): string {
  const u = ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
  const m = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const n = (u & m) >>> 0;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${len}`;
}

/** Random nested IPv4 + a few IPv6 prefixes, unique, values 'org-N'. */
export function arbPrefixSet(): fc.Arbitrary<Array<[string, string]>> {
  return fc
    .tuple(fc.array(fc.tuple(v4, len4), { minLength: 0, maxLength: 12 }), fc.array(fc.tuple(fc.nat(0xffff), fc.constantFrom(32, 48, 64, 128)), { maxLength: 3 }))
    .map(([a4, a6]) => {
      const out = new Map<string, string>();
      let i = 0;
      for (const [o, len] of a4) {
        out.set(canon4(o, len), `org-${i++ % 5}`);
        // a nested more-specific inside the same block, so LPM matters
        if (len <= 24) out.set(canon4(o, len + 8), `org-${i++ % 5}`);
      }
      for (const [w, len] of a6) {
        const net = ipaddr.parseCIDR(`2001:db8:${w.toString(16)}::/${len}`);
        out.set(`${ipaddr.IPv6.networkAddressFromCIDR(`${net[0].toString()}/${len}`).toString()}/${len}`, `org-v6-${i++ % 3}`);
      }
      return [...out];
    });
}

/** An address: usually inside one of the entries (picked by n), sometimes outside all. */
export function arbAddressIn(entries: ReadonlyArray<readonly [string, string]>, n: number, family: 4 | 6): string {
  const cands = entries.filter(([c]) => (family === 4 ? !c.includes(':') : c.includes(':')));
  if (cands.length === 0 || n % 4 === 3) {
    return family === 4 ? `198.18.${(n >>> 8) & 255}.${n & 255}` : `2001:db9::${(n & 0xffff).toString(16)}`;
  }
  const [cidr] = cands[n % cands.length]!;
  const [net, len] = ipaddr.parseCIDR(cidr);
  const bytes = net.toByteArray();
  // set some host bits from n inside the prefix
  for (let bit = len; bit < bytes.length * 8 && bit < len + 16; bit++) {
    if ((n >>> (bit - len)) & 1) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  }
  return ipaddr.fromByteArray(bytes).toString();
}
