/**
 * Naive, obviously-correct twin of CidrMap: a list of [family, bigint address, length, value] scanned linearly
 * on every lookup (most specific wins). Parses with ipaddr.js only, so it shares no code with src/ip.
 * Semantics mirrored on purpose: IPv4-mapped IPv6 (::ffff:0:0/96 and longer) is IPv4.
 */
import ipaddr from 'ipaddr.js';

export interface OraclePrefix<V> {
  family: 4 | 6;
  addr: bigint;
  len: number;
  value: V;
}

function toBig(bytes: number[]): bigint {
  let x = 0n;
  for (const b of bytes) x = (x << 8n) | BigInt(b);
  return x;
}

/** Parses an address (not a prefix) the ipaddr.js way, folding IPv4-mapped to IPv4. */
export function oracleAddr(text: string): { family: 4 | 6; addr: bigint } {
  const a = ipaddr.parse(text);
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) {
    return { family: 4, addr: toBig((a as ipaddr.IPv6).toIPv4Address().toByteArray()) };
  }
  return { family: a.kind() === 'ipv4' ? 4 : 6, addr: toBig(a.toByteArray()) };
}

/** Parses a prefix (bare address = full length), folding IPv4-mapped (len ≥ 96) to IPv4. Throws on host bits. */
export function oraclePrefix(text: string, normalize = false): { family: 4 | 6; addr: bigint; len: number } {
  const slash = text.indexOf('/');
  const a = ipaddr.parse(slash < 0 ? text : text.slice(0, slash));
  let family: 4 | 6 = a.kind() === 'ipv4' ? 4 : 6;
  let len = slash < 0 ? (family === 4 ? 32 : 128) : Number(text.slice(slash + 1));
  let addr = toBig(a.toByteArray());
  if (family === 6 && len >= 96 && (a as ipaddr.IPv6).isIPv4MappedAddress()) {
    family = 4;
    len -= 96;
    addr &= 0xffffffffn;
  }
  const bits = family === 4 ? 32 : 128;
  const host = (1n << BigInt(bits - len)) - 1n;
  if ((addr & host) !== 0n) {
    if (!normalize) throw new Error('host bits');
    addr &= ~host;
  }
  return { family, addr, len };
}

export class OracleMap<V> {
  readonly list: OraclePrefix<V>[] = [];

  /** `merge` mirrors CidrMapOptions.merge; default: same value ok, different value throws. */
  constructor(
    entries: Iterable<[string, V]>,
    merge?: 'first' | 'last' | ((a: V, b: V, p: string) => V),
    normalize = false,
  ) {
    for (const [text, value] of entries) {
      const p = oraclePrefix(text, normalize);
      const old = this.list.find((x) => x.family === p.family && x.addr === p.addr && x.len === p.len);
      if (!old) {
        this.list.push({ ...p, value });
        continue;
      }
      if (merge === 'first') continue;
      if (merge === 'last') old.value = value;
      else if (typeof merge === 'function') old.value = merge(old.value, value, 'unused');
      else if (!Object.is(old.value, value)) throw new Error('duplicate');
    }
  }

  best(ip: string): OraclePrefix<V> | undefined {
    const { family, addr } = oracleAddr(ip);
    const bits = family === 4 ? 32 : 128;
    let best: OraclePrefix<V> | undefined;
    for (const p of this.list) {
      if (p.family !== family) continue;
      const sh = BigInt(bits - p.len);
      if (addr >> sh === p.addr >> sh && (!best || p.len > best.len)) best = p;
    }
    return best;
  }
  lookup(ip: string): V | undefined {
    return this.best(ip)?.value;
  }
  get(prefix: string): V | undefined {
    const p = oraclePrefix(prefix);
    return this.list.find((x) => x.family === p.family && x.addr === p.addr && x.len === p.len)?.value;
  }
  /** Canonical order: IPv4 first, then address, then length. */
  sorted(): OraclePrefix<V>[] {
    return this.list
      .slice()
      .sort((a, b) => a.family - b.family || (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0) || a.len - b.len);
  }
  static format(p: { family: 4 | 6; addr: bigint; len: number }): string {
    if (p.family === 4) {
      const bytes = [24n, 16n, 8n, 0n].map((s) => Number((p.addr >> s) & 255n));
      return `${bytes.join('.')}/${p.len}`;
    }
    const bytes: number[] = [];
    for (let i = 15; i >= 0; i--) bytes.push(Number((p.addr >> BigInt(8 * i)) & 255n));
    const a = ipaddr.fromByteArray(bytes) as ipaddr.IPv6;
    const text = a.isIPv4MappedAddress() ? `::ffff:${a.toIPv4Address().toString()}` : a.toRFC5952String();
    return `${text}/${p.len}`;
  }
}
