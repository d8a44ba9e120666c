/**
 * Strings from bytes, for every layer that makes text per flow: names read from packets (DNS, SNI, Host,
 * certificate fields), address and time text in flow records. Building such strings a character or a piece at a
 * time makes a string per step (a 30-byte host name made ~30 short-lived objects) or a chain of them that
 * JSON.stringify flattens again; here the bytes are gathered in one scratch buffer and turned into a string by one
 * native latin1 decode: one flat string, one allocation.
 *
 * The scratch is module state that never outlives a call: a caller fills `TEXT_SCRATCH[0, n)` (n ≤ TEXT_MAX) and
 * calls {@link scratchText} before anything else can write to it (single-threaded; each worker has its own module).
 */

/** Capacity of the scratch. Longer inputs take a slower path (only absurd HTTP targets or certificate fields). */
export const TEXT_MAX = 4096;

/** Gathering area for {@link scratchText}. */
export const TEXT_SCRATCH: Buffer = Buffer.allocUnsafe(TEXT_MAX);

/** The string of `TEXT_SCRATCH[0, n)`, one character per byte. */
export function scratchText(n: number): string {
  return TEXT_SCRATCH.toString('latin1', 0, n);
}

/** `b[p, p + n)` as a string, one character per byte. */
export function latin1Text(b: Uint8Array, p: number, n: number): string {
  if (n <= 0) return '';
  if (n > TEXT_MAX) return Buffer.from(b.buffer, b.byteOffset + p, n).toString('latin1');
  for (let k = 0; k < n; k++) TEXT_SCRATCH[k] = b[p + k]!;
  return scratchText(n);
}

// ---- Printing untrusted text -------------------------------------------------------------------------------------
//
// Paths, list values and names read from packets reach terminals, logs and NDJSON consumers. Some characters there
// act instead of being shown: C0 controls (newline breaks a one-line error, ESC starts ANSI sequences, BEL, CR
// overwrites), DEL, the C1 controls U+0080–U+009F (U+009B is a one-byte CSI to many terminals), the bidirectional
// formatting marks and overrides (a name can be displayed reversed: "Trojan Source"), U+2028/U+2029 (line breaks
// to JavaScript and some viewers), and the characters that show as nothing at all (zero-width space and joiners,
// word joiner and invisible operators, soft hyphen, BOM, Hangul and Khmer fillers, the tag characters U+E0000–
// U+E007F): "Acme" and "Ac\u200bme" must not print alike. Every printer escapes them with these functions; nothing
// else is changed.

/** The invisible characters (see above); the tags are astral, a surrogate pair. */
const INVISIBLE = '\\u00ad\\u034f\\u115f\\u1160\\u17b4\\u17b5\\u180e\\u200b-\\u200d\\u2060-\\u2065\\u206a-\\u206f\\u3164\\ufeff\\uffa0\\ufff9-\\ufffb';
const TAGS = '\\udb40[\\udc00-\\udc7f]';
/** Characters escaped for display (see above). */
const UNSAFE = new RegExp(`[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069${INVISIBLE}]|${TAGS}`);
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');
/** What JSON.stringify leaves raw of the above (it escapes C0 itself). */
const JSON_UNSAFE = new RegExp(`[\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069${INVISIBLE}]|${TAGS}`);
const JSON_UNSAFE_ALL = new RegExp(JSON_UNSAFE.source, 'g');

const hex = (c: number, n: number): string => c.toString(16).padStart(n, '0');
/** `\xHH` or `\uHHHH` per UTF-16 unit (a tag character is two). */
const escapeChar = (ch: string): string => {
  let out = '';
  for (let i = 0; i < ch.length; i++) {
    const c = ch.charCodeAt(i);
    out += c <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`;
  }
  return out;
};
const jsonEscapeChar = (ch: string): string => {
  let out = '';
  for (let i = 0; i < ch.length; i++) out += `\\u${hex(ch.charCodeAt(i), 4)}`;
  return out;
};

/** Index of the first character {@link escapeText} would escape, or -1. */
export function unsafeCharAt(s: string): number {
  return s.search(UNSAFE);
}

/**
 * `s` with every control, bidi-formatting and line-separator character written as `\xHH` / `\uHHHH` (a
 * backslash already in `s` is left as it is). Returns `s` itself when there is nothing to escape.
 */
export function escapeText(s: string): string {
  return UNSAFE.test(s) ? s.replace(UNSAFE_ALL, escapeChar) : s;
}

/**
 * The first `n` UTF-16 units of `s`, one fewer when the cut would fall inside a surrogate pair: half a pair is not
 * a character, and a UTF-8 writer prints it as U+FFFD.
 */
export function headText(s: string, n: number): string {
  const c = s.charCodeAt(n - 1);
  return s.slice(0, n > 0 && n < s.length && c >= 0xd800 && c <= 0xdbff ? n - 1 : n);
}

/** The last `n` UTF-16 units of `s`, one fewer when the cut would fall inside a surrogate pair. */
function tailText(s: string, n: number): string {
  const start = s.length - n;
  const c = s.charCodeAt(start);
  return s.slice(start > 0 && c >= 0xdc00 && c <= 0xdfff ? start + 1 : start);
}

/**
 * `s` cut to at most `max` characters (≥ 16), keeping its start and end around an ellipsis that says how much went:
 * a path keeps its file name, a line its beginning.
 */
export function clipText(s: string, max: number): string {
  if (s.length <= max) return s;
  const note = `…(${s.length - max} more)…`;
  const room = Math.max(8, max - note.length);
  const head = Math.ceil(room * 0.6);
  return headText(s, head) + note + tailText(s, room - head);
}

/** Untrusted text for one line of output: clipped to `max` characters, then escaped (see {@link escapeText}). */
export function safeText(s: string, max = 512): string {
  return escapeText(clipText(s, max));
}

/** Untrusted text quoted for a message (`"…"`, JSON-style escapes, clipped to `max` characters). */
export function quoteText(s: string, max = 60): string {
  return escapeJson(JSON.stringify(s.length > max ? headText(s, max) + '…' : s));
}

/**
 * A JSON text with the characters JSON.stringify leaves raw (DEL, C1, bidi formatting, U+2028/U+2029) written as
 * `\u00HH` / `\uHHHH` escapes: the same JSON value, safe to print. Those characters can only occur inside strings.
 */
export function escapeJson(json: string): string {
  return JSON_UNSAFE.test(json) ? json.replace(JSON_UNSAFE_ALL, jsonEscapeChar) : json;
}
