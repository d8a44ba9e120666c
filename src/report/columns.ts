/**
 * Column storage for the report builder: growable typed columns (one number per flow, no object per flow) and a
 * string table that interns every text once, made visible (escape.ts) on the way in. The page receives the
 * columns as JSON arrays and the table as one string array, so a name repeated by 10,000 flows is written once.
 */
import { visible } from './escape.js';

/**
 * A growable typed column: Int32Array for counts, indices and small integers, Float64Array for bytes and
 * microsecond times (values beyond 2^31). Amortised O(1) push.
 */
export class Column<A extends Int32Array | Float64Array> {
  length = 0;
  constructor(public data: A) {}
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new (this.data.constructor as new (n: number) => A)(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  /** The used part, as JSON array text. */
  json(): string {
    return `[${this.data.subarray(0, this.length).join(',')}]`;
  }
}
export type IntColumn = Column<Int32Array>;
export type FloatColumn = Column<Float64Array>;
export const intColumn = (capacity = 1024): IntColumn => new Column(new Int32Array(capacity));
export const floatColumn = (capacity = 1024): FloatColumn => new Column(new Float64Array(capacity));

/** Interned, display-safe strings: `id(s)` gives each distinct text one index; `-1` stands for null. */
export class StringTable {
  private readonly ids = new Map<string, number>();
  readonly strings: string[] = [];
  id(s: string | null | undefined): number {
    if (s === null || s === undefined) return -1;
    let i = this.ids.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(visible(s));
      this.ids.set(s, i);
    }
    return i;
  }
  get(i: number): string | null {
    return i < 0 ? null : this.strings[i]!;
  }
}

/**
 * Split a record endpoint (`192.0.2.1:443`, `[2001:db8::1]:443`, or a bare address for portless transports) into
 * host text and port, so the page stores the host once however many ports it was seen on. Any text that would
 * not be rebuilt exactly by {@link joinEndpoint} is kept whole as the host with port -1.
 */
export function splitEndpoint(s: string): [host: string, port: number] {
  const colon = s.lastIndexOf(':');
  if (colon <= 0 || colon === s.length - 1 || s.length - colon > 6) return [s, -1];
  let port = 0;
  for (let i = colon + 1; i < s.length; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9 || (d === 0 && i === colon + 1 && i < s.length - 1)) return [s, -1]; // digits, no leading 0
    port = port * 10 + d;
  }
  if (port > 65535) return [s, -1];
  const bracketed = s.charCodeAt(0) === 0x5b /* [ */;
  const host = bracketed ? s.slice(1, colon - 1) : s.slice(0, colon);
  if (bracketed ? s.charCodeAt(colon - 1) !== 0x5d /* ] */ || !host.includes(':') || /[[\]]/.test(host) : host.includes(':') || host.includes('[') || host.includes(']')) return [s, -1];
  return [host, port];
}

/** Inverse of {@link splitEndpoint}. The page script has the same rule. */
export function joinEndpoint(host: string, port: number): string {
  if (port < 0) return host;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
