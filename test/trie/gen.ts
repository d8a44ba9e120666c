/** fast-check generators for prefix sets biased to nest and overlap (shared by the trie tests). */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';

export const u32 = fc.integer({ min: 0, max: 0xffffffff });
const mask4 = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

export function v4Text(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}
export function v6Bytes(w: readonly number[]): number[] {
  const out: number[] = [];
  for (const x of w) out.push((x >>> 24) & 255, (x >>> 16) & 255, (x >>> 8) & 255, x & 255);
  return out;
}
export function v6Text(w: readonly number[]): string {
  return ipaddr.fromByteArray(v6Bytes(w)).toString();
}
function mask6(w: readonly number[], len: number): number[] {
  return w.map((x, k) => (x & mask4(Math.max(0, Math.min(32, len - 32 * k)))) >>> 0);
}
function flip6(w: readonly number[], bit: number): number[] {
  const r = w.slice();
  const k = bit >>> 5;
  r[k] = (r[k]! ^ (0x80000000 >>> (bit & 31))) >>> 0;
  return r;
}

const len4 = fc.oneof(fc.integer({ min: 0, max: 32 }), fc.constantFrom(0, 8, 16, 24, 32, 31, 17, 25));
const len6 = fc.oneof(fc.integer({ min: 0, max: 128 }), fc.constantFrom(0, 16, 32, 48, 64, 96, 104, 127, 128));

export interface World {
  b4: number[];
  b6: number[][];
}
export const world: fc.Arbitrary<World> = fc.record({
  b4: fc.array(fc.oneof(u32, fc.constantFrom(0, 0xffffffff, 0x0a000000)), { minLength: 1, maxLength: 3 }),
  b6: fc.array(
    fc.oneof(
      fc.tuple(u32, u32, u32, u32).map((t) => [...t]),
      fc.constant<number[]>([0x20010db8, 0, 0, 1]),
      fc.constant<number[]>([0, 0, 0, 0]),
      u32.map((x) => [0, 0, 0xffff, x]), // IPv4-mapped neighbourhood
    ),
    { minLength: 1, maxLength: 3 },
  ),
});

/** Prefix descriptions relative to a world: [family, base index, flipped bit or -1, length, text form]. */
export const prefixSpec = fc.record({
  v6: fc.boolean(),
  base: fc.nat(),
  flip: fc.integer({ min: -1, max: 127 }),
  l4: len4,
  l6: len6,
  form: fc.nat(3),
});
export type PrefixSpec = typeof prefixSpec extends fc.Arbitrary<infer T> ? T : never;

/** Renders a spec to CIDR text (valid, host bits clear), using mapped IPv6 forms for some IPv4 prefixes. */
export function renderPrefix(w: World, s: PrefixSpec): string {
  if (!s.v6) {
    let a = w.b4[s.base % w.b4.length]!;
    if (s.flip >= 0) a = (a ^ (0x80000000 >>> (s.flip & 31))) >>> 0;
    a = (a & mask4(s.l4)) >>> 0;
    if (s.form === 1) return `::ffff:${v4Text(a)}/${s.l4 + 96}`;
    if (s.form === 2) return `::ffff:${(a >>> 16).toString(16)}:${(a & 0xffff).toString(16)}/${s.l4 + 96}`;
    if (s.form === 3 && s.l4 === 32) return v4Text(a);
    return `${v4Text(a)}/${s.l4}`;
  }
  let b = w.b6[s.base % w.b6.length]!;
  if (s.flip >= 0) b = flip6(b, s.flip);
  b = mask6(b, s.l6);
  if (s.form === 3 && s.l6 === 128) return v6Text(b);
  return `${v6Text(b)}/${s.l6}`;
}

export const querySpec = fc.record({
  v6: fc.boolean(),
  base: fc.nat(),
  flips: fc.array(fc.integer({ min: 0, max: 127 }), { maxLength: 3 }),
  mapped: fc.boolean(),
});
export type QuerySpec = typeof querySpec extends fc.Arbitrary<infer T> ? T : never;

/** Renders a query address: near a base with a few bits flipped; IPv4 sometimes in mapped IPv6 text. */
export function renderQuery(w: World, q: QuerySpec): { text: string; bytes: Uint8Array; u32: number | null } {
  if (!q.v6) {
    let a = w.b4[q.base % w.b4.length]!;
    for (const f of q.flips) a = (a ^ (0x80000000 >>> (f & 31))) >>> 0;
    const bytes = new Uint8Array(v6Bytes([0, 0, 0xffff, a]));
    return { text: q.mapped ? `::ffff:${v4Text(a)}` : v4Text(a), bytes, u32: a };
  }
  let b = w.b6[q.base % w.b6.length]!;
  for (const f of q.flips) b = flip6(b, f);
  const mapped = b[0] === 0 && b[1] === 0 && b[2] === 0xffff;
  return { text: v6Text(b), bytes: new Uint8Array(v6Bytes(b)), u32: mapped ? b[3]! : null };
}
