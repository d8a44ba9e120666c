/**
 * Number, size, time and duration text for the report, written out by hand rather than through `Intl` so the
 * page reads the same whatever locale built it (and a test can compare it), plus the "nice" time-bin choice the
 * time charts use. Pure.
 */

/** `1234567` → `1,234,567`. Non-integers keep up to `digits` decimals. */
export function formatCount(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '–';
  const neg = n < 0;
  const [int, frac] = Math.abs(n).toFixed(digits).split('.') as [string, string | undefined];
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${neg ? '-' : ''}${grouped}${frac ? `.${frac}` : ''}`;
}

/** Decimal (SI) byte sizes: `1536` → `1.5 kB`, three significant digits above 1 kB. */
export function formatBytes(n: number): string {
  // Self-contained (no module-level names): the page script receives this function's source.
  const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  if (!Number.isFinite(n)) return '–';
  let u = 0;
  let x = n;
  while (Math.abs(x) >= 1000 && u < BYTE_UNITS.length - 1) {
    x /= 1000;
    u++;
  }
  if (u === 0) return `${Math.round(x)} B`;
  return `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)} ${BYTE_UNITS[u]}`;
}

/** Share as a percentage with one decimal (`0.1234` → `12.3%`); `–` when the whole is zero. */
export function formatShare(part: number, whole: number): string {
  if (!(whole > 0)) return '–';
  const p = (100 * part) / whole;
  return `${p > 0 && p < 0.1 ? '<0.1' : p.toFixed(1)}%`;
}

/** Duration in microseconds as text: `850 ms`, `12.4 s`, `3 min 05 s`, `2 h 03 min`, `1 d 04 h`. */
export function formatDuration(us: number): string {
  if (!Number.isFinite(us) || us < 0) return '–';
  const s = us / 1e6;
  if (s < 1) return `${(us / 1000).toFixed(us < 10_000 ? 1 : 0)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${String(h % 24).padStart(2, '0')} h`;
}

/**
 * Microseconds since the epoch from the records' ISO-8601 UTC text (`2026-01-01T00:00:25.951994Z`, any number
 * of fraction digits, or none); NaN when the text is not such a time.
 */
export function isoToMicros(s: string): number {
  if (typeof s !== 'string' || s.length < 20 || s.charCodeAt(s.length - 1) !== 0x5a /* Z */) return NaN;
  const secs = s.slice(0, 19);
  let ms = SECONDS.get(secs);
  if (ms === undefined) {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(secs)) return NaN;
    ms = Date.parse(`${secs}Z`);
    // Date.parse rolls impossible dates over (February 30 → March 2, 24:00 → the next day): such text is refused,
    // or the page would show a time the record does not hold.
    if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 19) !== secs) return NaN;
    if (SECONDS.size >= 4096) SECONDS.clear();
    SECONDS.set(secs, ms);
  }
  if (s.length === 20) return ms * 1000;
  if (s.charCodeAt(19) !== 0x2e /* . */ || s.length < 22 || s.length > 30) return NaN;
  let frac = 0, scale = 100_000;
  for (let i = 20; i < s.length - 1; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return NaN;
    frac += d * scale;
    scale /= 10;
  }
  return ms * 1000 + Math.floor(frac + 1e-6);
}
// Records of one capture share a few thousand distinct seconds; a small bounded cache skips most Date.parse calls.
const SECONDS = new Map<string, number>();

/** `2026-01-01 00:00:25.951 UTC`-style text of epoch microseconds (millisecond precision). */
export function formatTime(us: number): string {
  if (!Number.isFinite(us)) return '–';
  const iso = new Date(Math.floor(us / 1000)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)} UTC`;
}

// Bin widths a reader can name: 1/2/5 steps of seconds, then minutes, hours, days.
const NICE_BINS_US = [
  1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 10e6, 15e6, 30e6, 60e6, 120e6, 300e6, 600e6, 900e6,
  1800e6, 3600e6, 7200e6, 3 * 3600e6, 6 * 3600e6, 12 * 3600e6, 86_400e6, 2 * 86_400e6, 7 * 86_400e6,
];

/** The smallest nice bin width that covers `spanUs` in at most `maxBins` bins. */
export function niceBinUs(spanUs: number, maxBins: number): number {
  for (const w of NICE_BINS_US) if (spanUs / w <= maxBins) return w;
  const week = NICE_BINS_US[NICE_BINS_US.length - 1]!;
  return Math.ceil(spanUs / maxBins / week) * week;
}

/** Bin width as a short phrase for captions: `5 s`, `1 min`, `6 h`. */
export function formatBinWidth(us: number): string {
  if (us < 1e6) return `${us / 1000} ms`;
  if (us < 60e6) return `${us / 1e6} s`;
  if (us < 3600e6) return `${us / 60e6} min`;
  if (us < 86_400e6) return `${us / 3600e6} h`;
  return `${us / 86_400e6} d`;
}

/** Up to ~`count` round tick values from 0 to at least `max` (1/2/5 steps). */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag;
  // Ticks as k·step (not a running sum, whose rounding can stop a tick short of max); the last covers max.
  const n = Math.max(1, Math.ceil((max / step) * (1 - 1e-10)));
  const ticks: number[] = [];
  for (let k = 0; k <= n; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** Compact axis number: `1.2k`, `35M`. */
export function formatAxis(n: number, bytes = false): string {
  if (bytes) return formatBytes(n).replace(/\.0+ /, ' ');
  const units = ['', 'k', 'M', 'G', 'T'];
  let u = 0;
  let x = n;
  while (Math.abs(x) >= 1000 && u < units.length - 1) {
    x /= 1000;
    u++;
  }
  return `${Number(x.toPrecision(3))}${units[u]}`;
}
