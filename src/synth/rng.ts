/**
 * Seeded PRNG for `tunnelscope synth`: sfc32 (Chris Doty-Humphrey's Small Fast Counter, 128-bit state).
 * Owns all randomness of the generator so a seed fully determines the output; never use Math.random here.
 */

/** Deterministic pseudo-random source. Not cryptographic. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seed from a 32-bit integer and an optional stream id (separate streams for separate concerns). */
  constructor(seed: number, stream = 0) {
    this.a = 0x9e3779b9 ^ (stream * 0x85ebca6b);
    this.b = seed >>> 0;
    this.c = (seed / 4294967296) >>> 0; // keep high bits of seeds above 2^32 too
    this.d = (stream + 1) >>> 0;
    // sfc32 needs a few rounds to decorrelate nearby seeds.
    for (let i = 0; i < 16; i++) this.u32();
  }

  /** Uniform uint32. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Exponential with the given mean. */
  exp(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }

  /** Pareto (type I) with minimum xm and shape alpha (heavy tail for alpha <= 2). */
  pareto(xm: number, alpha: number): number {
    return xm / Math.pow(1 - this.float(), 1 / alpha);
  }

  /** One element of a non-empty array. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** Fill bytes with random values. */
  fill(buf: Uint8Array, off = 0, len = buf.length - off): void {
    let i = off;
    const end = off + len;
    while (i + 4 <= end) {
      const x = this.u32();
      buf[i] = x; buf[i + 1] = x >>> 8; buf[i + 2] = x >>> 16; buf[i + 3] = x >>> 24;
      i += 4;
    }
    while (i < end) buf[i++] = this.u32();
  }

  /** New random bytes. */
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    this.fill(b);
    return b;
  }
}

/** The largest seed `--seed` takes as a number (a 32-bit seed; other text is hashed to one). */
export const SEED_MAX = 0xffffffff;

/** 32-bit seed from text (FNV-1a), so `--seed abc` works as well as `--seed 42`. */
export function seedFromText(text: string): number {
  if (/^\d+$/.test(text) && Number(text) <= SEED_MAX) return Number(text) >>> 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
