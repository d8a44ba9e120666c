/**
 * Naive twin of the reassembler's policy (src/trace/reassembly.ts), for one flow's fragments arriving in order:
 * a Map of stored fragments per datagram id, arrays concatenated at the end. No timeouts, no caps (the property
 * test stays within both). Policy, stated independently:
 *  - a fragment with a zero length, or data past 64 KiB, or a datagram already holding 128 fragments: the datagram
 *    is abandoned and the fragment is not kept;
 *  - a non-final fragment whose length is not a multiple of 8, a second final fragment with another end, data past
 *    the final end, or a final fragment ending before data already held: the datagram is abandoned (the fragment
 *    is still kept when it overlaps nothing);
 *  - same offset and length as a kept fragment: equal bytes → dropped duplicate; other bytes → abandoned;
 *  - any other overlap with a kept fragment → abandoned, fragment not kept;
 *  - a datagram not abandoned whose kept fragments cover [0, end of the final fragment) is delivered once and
 *    forgotten (a later fragment with its id starts a new datagram);
 *  - at the end every datagram left counts its fragments to the flow when it kept the offset-0 fragment, else
 *    they are unattributed.
 */
export interface OracleFragment {
  id: number;
  off: number;
  data: Uint8Array;
  more: boolean;
}

export interface OracleResult {
  /** Datagrams delivered whole, in delivery order (the fragmentable part: transport header + payload). */
  delivered: Uint8Array[];
  /** Fragments counted to the flow. */
  attributed: number;
  unattributed: number;
  duplicates: number;
  overlapping: number;
  invalid: number;
}

interface Datagram {
  kept: { off: number; data: Uint8Array; more: boolean }[];
  count: number;
  abandoned: boolean;
  end: number | null;
}

export function reassemblyOracle(frags: readonly OracleFragment[], limit: number): OracleResult {
  const res: OracleResult = { delivered: [], attributed: 0, unattributed: 0, duplicates: 0, overlapping: 0, invalid: 0 };
  const open = new Map<number, Datagram>();
  const abandon = (d: Datagram, overlap: boolean): void => {
    if (d.abandoned) return;
    d.abandoned = true;
    if (overlap) res.overlapping++;
    else res.invalid++;
  };
  for (const f of frags) {
    let d = open.get(f.id);
    if (!d) open.set(f.id, (d = { kept: [], count: 0, abandoned: false, end: null }));
    d.count++;
    const len = f.data.length;
    const end = f.off + len;
    if (len === 0 || end > limit || d.kept.length >= 128) {
      abandon(d, false);
      continue;
    }
    const maxEnd = Math.max(0, ...d.kept.map((k) => k.off + k.data.length));
    if ((f.more && len % 8 !== 0) || (!f.more && d.end !== null && d.end !== end) || (d.end !== null && end > d.end) || (!f.more && maxEnd > end)) {
      abandon(d, false);
    }
    const same = d.kept.find((k) => k.off === f.off && k.data.length === len);
    if (same) {
      if (same.data.every((b, i) => b === f.data[i])) res.duplicates++;
      else abandon(d, true);
      continue;
    }
    if (d.kept.some((k) => k.off < end && f.off < k.off + k.data.length)) {
      abandon(d, true);
      continue;
    }
    d.kept.push({ off: f.off, data: f.data, more: f.more });
    if (!f.more && d.end === null) d.end = end;
    const covered = d.kept.reduce((s, k) => s + k.data.length, 0);
    if (!d.abandoned && d.end !== null && covered === d.end) {
      const whole = new Uint8Array(d.end);
      for (const k of d.kept) whole.set(k.data, k.off);
      res.delivered.push(whole);
      res.attributed += d.count;
      open.delete(f.id);
    }
  }
  for (const d of open.values()) {
    if (d.kept.some((k) => k.off === 0)) res.attributed += d.count;
    else res.unattributed += d.count;
  }
  return res;
}
