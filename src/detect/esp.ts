/**
 * ESP, IP protocol 50 (spec: ../shared/reference/parts/2-ipsec-l2tp-pptp.md §ESP and AH; RFC 4303 §2).
 *
 * Owns: the 8 clear bytes of an ESP packet (SPI, sequence number) and the per-SPI sequence relation. Everything
 * after offset 8 is ciphertext and is never read. Must never: allocate when nothing matches, read past offset 8
 * of any packet.
 *
 * Strength decision (documented in the report and `rules`): the IP protocol number 50 is itself the statement
 * "this is IPsec ESP" (IANA assignment; no other protocol uses it), so a lone ESP packet carries two distinct
 * observations — the IP header's protocol number (`esp.ipproto`, medium) and a well-formed ESP header with a
 * non-reserved SPI and a sequence number ≥ 1 (`esp.header`, medium) — which the combiner's "two medium items of
 * different rules" row turns into a VPN verdict (0.85). Three packets of one SPI whose sequence numbers rise by
 * 1, the gaps of a few lost packets and reordering allowed (SEQ_MAX_LOST), are strong (`esp.sequence`): SPI
 * equality twice and two sequence numbers within ±6 of the newest pass random bytes with probability ≤ 2^-64 ×
 * (13 / 2^32)^2 ≈ 2^-120, whatever the SPI's value — so on IP protocol 50 the rule also accepts the IANA-reserved SPIs
 * 1–255, which manually keyed SAs (static and lab set-ups) use: the sequence relation of RFC 4303 §2.2, not the
 * SPI's range, is what proves ESP. A lone packet with such an SPI is not a "well-formed" header (`esp.header`
 * keeps the ≥ 256 floor) and leaves only `esp.ipproto`. ESP-in-UDP (ike.ts, the companion rules) keeps the floor:
 * there a small constant word and a counter are not ESP's alone.
 *
 * Offsets read from earlier packets (first ~48 bytes kept): SPI 0–3 and sequence number 4–7 only.
 * The flow table keys ESP flows by SPI as well, so a flow is usually one direction of one SA; the sequence rule
 * still works per direction when both directions share a flow.
 */
import { DIR_FWD, IPPROTO_ESP, u16be, u32be, type Detector, type Evidence, type FlowView } from './types.js';
import { hex32 } from './wireguard.js';

/** SPI values 1–255 are reserved by IANA for future use; 0 is reserved for local use and never sent (RFC 4303 §2.1). */
export const ESP_MIN_SPI = 256;
/** SPI (4) + sequence number (4). */
export const ESP_HEADER_LEN = 8;
/**
 * Smallest ESP packet: header (8) + pad length (1) + next header (1), padded so the ciphertext ends on a 4-byte
 * boundary (RFC 4303 §2.4) → 12 bytes with NULL encryption and no ICV.
 */
export const ESP_MIN_LEN = 12;
/** Packets of one SPI, one direction, sequence numbers +1 each, that make the sequence rule strong. */
export const ESP_STRONG_RUN = 3;
/** Smallest SPI the sequence rule accepts on IP protocol 50 (0 is never sent; 1–255 are manually keyed SAs). */
export const ESP_MIN_SPI_IPPROTO = 1;

/**
 * Sequence numbers a run may skip in all (packets the capture lost): reference part 2 §ESP, "gaps/small reorder
 * allowed". A run's numbers are distinct and span at most (packets − 1) + SEQ_MAX_LOST, in any order, so a
 * neighbour swapped by the network keeps the run while a counter stepping by 5 (or a timestamp) does not.
 */
export const SEQ_MAX_LOST = 4;
/** Lowest and highest sequence number of the run {@link seqRun} walked (for reasons). */
export interface SeqSpan {
  lo: number;
  hi: number;
}
/** The span of the run esp.sequence walked last (read for its reason; no object per packet). */
const SPAN: SeqSpan = { lo: 0, hi: 0 };
/** The run's sequence numbers so far; a run is counted up to this many packets (callers need 3). */
const SEQ_RUN_CAP = 16;
const runSeqs = new Float64Array(SEQ_RUN_CAP);

/**
 * Length of the run of one SA's packets in direction `dir` that ends at packet `upTo` (which must be one of them):
 * the same SPI (at `spiAt`, ≥ `minSpi`) and the sequence number after it, walking back, each ≥ 1, distinct, spanning
 * at most (packets − 1) + SEQ_MAX_LOST; a repeated number (a duplicate in the capture) is skipped, and 0 is
 * returned when packet `upTo` repeats one (so a rule firing at a run length fires once). Counted up to SEQ_RUN_CAP. `reservedAt` ≥ 0
 * names a 16-bit field that must be zero in every packet (AH's reserved field). When `skipNonEsp` is set, packets
 * of the direction that cannot be ESP-in-UDP (NAT-keepalive `FF`, non-ESP marker `00000000` + IKE, shorter than
 * 8 bytes) are skipped rather than ending the run (RFC 3948 §2: those share the 5-tuple). Returns 0 when packet
 * `upTo` is not shaped so. `span`, when given, receives the run's lowest and highest numbers. O(packets).
 */
export function seqRun(f: FlowView, upTo: number, dir: number, spiAt: number, reservedAt: number, skipNonEsp: boolean, minSpi: number, span?: SeqSpan): number {
  const spi = u32be(f, upTo, spiAt);
  const s0 = u32be(f, upTo, spiAt + 4);
  if (spi < minSpi || s0 < 1) return 0;
  let n = 1, lo = s0, hi = s0;
  runSeqs[0] = s0;
  walk: for (let j = upTo - 1; j >= 0; j--) {
    if (f.dir(j) !== dir) continue;
    const s = u32be(f, j, spiAt);
    if (skipNonEsp && (s === 0 || f.len(j) < spiAt + ESP_HEADER_LEN)) continue;
    if (s !== spi || (reservedAt >= 0 && u16be(f, j, reservedAt) !== 0)) break;
    const q = u32be(f, j, spiAt + 4);
    if (q < 1 || Math.max(hi, q) - Math.min(lo, q) > n + SEQ_MAX_LOST) break;
    // A repeated number is a duplicate in the capture: skipped, and a newest packet that repeats one adds nothing.
    if (q === s0) return 0;
    for (let k = 1; k < n; k++) if (runSeqs[k] === q) continue walk;
    if (n === SEQ_RUN_CAP) break;
    runSeqs[n++] = q;
    if (q < lo) lo = q;
    if (q > hi) hi = q;
  }
  if (span) {
    span.lo = lo;
    span.hi = hi;
  }
  return n;
}

/**
 * {@link seqRun} for ESP: SPI at `hdr` (0 for IP protocol 50 and for ESP-in-UDP), SPI ≥ `minSpi` (default 256),
 * and packet `upTo` at least the minimal ESP length. Reads offsets hdr..hdr+7 only.
 */
export function espSeqRun(f: FlowView, upTo: number, dir: number, hdr: number, skipNonEsp: boolean, minSpi = ESP_MIN_SPI, span?: SeqSpan): number {
  if (f.len(upTo) < hdr + ESP_MIN_LEN) return 0;
  return seqRun(f, upTo, dir, hdr, -1, skipNonEsp, minSpi, span);
}

/** "sequence numbers 7…9 rising by 1", or with the gaps and reordering the run had. */
export function seqRunText(n: number, span: SeqSpan): string {
  return span.hi - span.lo === n - 1 ? `sequence numbers ${span.lo}…${span.hi} rising by 1` : `${n} distinct sequence numbers within ${span.lo}…${span.hi} (lost packets or reordering)`;
}

/** Direction phrase for reasons. */
export function dirText(d: number): string {
  return d === DIR_FWD ? 'initiator→responder' : 'responder→initiator';
}

/** True when packet j carries a non-zero SPI (the first such packet gets the protocol-number item). */
function hasSpi(f: FlowView, j: number): boolean {
  const s = u32be(f, j, 0);
  return s > 0;
}
/** True when packet j is a well-formed ESP header: SPI ≥ 256, sequence ≥ 1, at least the minimal ESP length. */
function wellFormed(f: FlowView, j: number): boolean {
  return u32be(f, j, 0) >= ESP_MIN_SPI && u32be(f, j, 4) >= 1 && f.len(j) >= ESP_MIN_LEN;
}

export const esp: Detector = {
  id: 'esp',
  transports: [IPPROTO_ESP],
  carriers: [],
  maxPackets: 8,
  rules: {
    'esp.ipproto':
      'IP protocol 50 is ESP by IANA assignment: the first packet with a non-zero SPI states IPsec ESP (medium; independent of the ESP header checks)',
    'esp.header': 'well-formed ESP header: SPI ≥ 256 (1–255 reserved, 0 never sent), sequence number ≥ 1, length ≥ 12 (medium; first such packet)',
    'esp.sequence':
      '≥3 ESP packets in one direction with one non-zero SPI (the reserved 1–255 of manually keyed SAs included) and distinct sequence numbers rising by 1 per packet, up to 4 lost packets and reordering allowed (RFC 4303 §2.2, §3.4.3; strong: ≤ 2^-120 for random bytes)',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0 || f.avail(i) < ESP_HEADER_LEN) return null;
    const d = f.dir(i);
    let out: Evidence[] | null = null;
    const n = espSeqRun(f, i, d, 0, false, ESP_MIN_SPI_IPPROTO, SPAN);
    if (n === ESP_STRONG_RUN) {
      out = [
        {
          source: 'esp', protocol: 'ipsec', strength: 'strong', rule: 'esp.sequence', packet: i, offset: 0,
          reason: `${n} ESP packets ${dirText(d)} up to packet ${i}: constant SPI 0x${hex32(u32be(f, i, 0))}${u32be(f, i, 0) < ESP_MIN_SPI ? ' (reserved range 1–255: a manually keyed SA)' : ''}, ${seqRunText(n, SPAN)}`,
        },
      ];
    }
    // Single-packet items fire once per flow: on the first packet that satisfies them.
    if (hasSpi(f, i)) {
      let first = true;
      for (let j = 0; j < i; j++) if (hasSpi(f, j)) { first = false; break; }
      if (first) {
        (out ??= []).push({
          source: 'esp', protocol: 'ipsec', strength: 'medium', rule: 'esp.ipproto', packet: i, offset: 0,
          reason: `packet ${i}: IP protocol 50 (ESP by IANA assignment), SPI 0x${hex32(u32be(f, i, 0))} non-zero, ${f.len(i)} bytes`,
        });
      }
    }
    if (wellFormed(f, i)) {
      let first = true;
      for (let j = 0; j < i; j++) if (wellFormed(f, j)) { first = false; break; }
      if (first) {
        (out ??= []).push({
          source: 'esp', protocol: 'ipsec', strength: 'medium', rule: 'esp.header', packet: i, offset: 0,
          reason: `packet ${i}: ESP header, SPI 0x${hex32(u32be(f, i, 0))} ≥ 256 (not reserved), sequence number ${u32be(f, i, 4)} ≥ 1, length ${f.len(i)} ≥ 12`,
        });
      }
    }
    return out;
  },
};
