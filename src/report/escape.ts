/**
 * Text safety for the HTML report. Every string on the page that came from a packet, a list, a record file or a
 * path is untrusted: an SNI can hold `<script>`, a registrant `</script><!--`, a provider name U+202E (which
 * reverses the text after it on screen). Three separate jobs, applied in this order:
 *
 * 1. {@link visible}: make invisible or reordering characters visible as `\u{…}` escapes, once, when a string enters
 *    the report, so what an analyst reads is what the packet held.
 * 2. {@link escapeHtml}: for text written into markup (text nodes and quoted attribute values, SVG included).
 * 3. {@link jsonForScript}: for data embedded in a `<script type="application/json">` element, where HTML entity
 *    escaping does not apply and `</script>`, `<!--` and `<script` would change how the parser reads the element.
 *
 * Pure functions; no DOM, no Node APIs, so they run in the builder and are mirrored in the page script.
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for an HTML text node or a quoted attribute value (`"` and `'` both escaped). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

// C0 and C1 controls, DEL, bidi embeddings/overrides/isolates and marks, zero-width and other format characters
// that change what text appears to say without being seen, the line/paragraph separators, lone surrogates, and
// the BOM. Tab is the one control kept as is.
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Replace characters that would be invisible or reorder text on screen by a visible `\u{hex}` escape. */
export function visible(s: string): string {
  // Fast path: most strings are printable ASCII; only look closer when a code unit could be one of the above.
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f) break;
  }
  if (i === s.length) return s;
  return s.replace(INVISIBLE, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}

/**
 * JSON text safe to place between `<script type="application/json">` and `</script>`: `<`, `>` and `&` become
 * `\u003c`, `\u003e`, `\u0026` (so no `</script>`, `<!--` or `<script` can appear), and U+2028/U+2029 are
 * escaped too (they end a line in older JavaScript parsers). JSON.parse reads the result back unchanged.
 */
export function jsonForScript(value: unknown): string {
  return escapeJsonText(JSON.stringify(value));
}

/** The escaping of {@link jsonForScript} applied to JSON text already serialised. */
export function escapeJsonText(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `s` cut to at most `max` UTF-16 units with an ellipsis, never inside a surrogate pair (half a pair is not a
 * character; written out as UTF-8 it becomes U+FFFD).
 */
export function cutText(s: string, max: number): string {
  if (s.length <= max) return s;
  let n = max - 1;
  const c = s.charCodeAt(n - 1);
  if (n > 0 && c >= 0xd800 && c <= 0xdbff) n--;
  return `${s.slice(0, n)}…`;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 of bytes (no line breaks); pure, so the builder needs no Buffer. O(n). */
export function base64(bytes: Uint8Array): string {
  const parts: string[] = [];
  const CHUNK = 3 * 16_384;
  for (let start = 0; start < bytes.length; start += CHUNK) {
    const end = Math.min(bytes.length, start + CHUNK);
    let out = '';
    let i = start;
    for (; i + 2 < end; i += 3) {
      const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
      out += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + B64[(n >>> 6) & 63]! + B64[n & 63]!;
    }
    if (i < end) {
      const b1 = i + 1 < end ? bytes[i + 1]! : 0;
      const n = (bytes[i]! << 16) | (b1 << 8);
      out += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + (i + 1 < end ? B64[(n >>> 6) & 63]! : '=') + '=';
    }
    parts.push(out);
  }
  return parts.join('');
}
