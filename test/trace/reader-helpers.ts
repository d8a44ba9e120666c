/** Shared helpers of the reader tests: collect packets as plain copies, split a buffer into chunks. */
import { CaptureReader } from '../../src/trace/reader.js';
import type { RawPacket } from '../../src/trace/types.js';

export interface Got {
  bytes: number[];
  tsUs: number;
  linkType: number;
  capLen: number;
  wireLen: number;
}

export function copy(p: RawPacket): Got {
  return {
    bytes: Array.from(p.data.subarray(p.offset, p.offset + p.capLen)),
    tsUs: p.tsUs,
    linkType: p.linkType,
    capLen: p.capLen,
    wireLen: p.wireLen,
  };
}

/** Feed `buf` in chunks cut at `cuts` (sorted offsets); returns packets and the error thrown, if any. */
export function readChunked(buf: Uint8Array, cuts: number[], source = 'test'): { got: Got[]; error: unknown; reader: CaptureReader } {
  const reader = new CaptureReader(source);
  const got: Got[] = [];
  const on = (p: RawPacket): void => {
    got.push(copy(p));
  };
  let error: unknown = null;
  try {
    let prev = 0;
    for (const c of [...cuts, buf.length]) {
      if (c < prev) continue;
      // A fresh copy per chunk: the reader must not rely on chunks staying alive after push returns.
      reader.push(buf.slice(prev, c), on);
      prev = c;
    }
    reader.end(on);
  } catch (e) {
    error = e;
  }
  return { got, error, reader };
}

export function everyN(len: number, n: number): number[] {
  const cuts: number[] = [];
  for (let i = n; i < len; i += n) cuts.push(i);
  return cuts;
}
