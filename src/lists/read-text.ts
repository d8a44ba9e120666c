/**
 * Reading list files and the grammar they share. Owns the limits every list obeys, so a hostile or mistaken input
 * (`--registered /dev/zero`, a multi-gigabyte file, one endless line) fails at once with a ListReadError or a
 * ListParseError naming the file, instead of growing memory until the process dies:
 * - only regular files and pipes are read (a pipe for `<(…)` process substitution); devices, sockets and
 *   directories are refused before a byte is read;
 * - at most MAX_LIST_BYTES bytes (a regular file is refused from its size; a pipe once it passes the limit);
 * - lines end with LF, CRLF or a bare CR; at most MAX_LINE_CHARS characters per line, MAX_LIST_ENTRIES entries;
 * - values (registrant, provider) are at most MAX_VALUE_CHARS characters with no control, bidi-formatting or
 *   line-separator character (they are printed in tables and evidence).
 * A 1M-prefix registration list (`2001:db8:1234:5678::/64,registrant-000001`: ~45 bytes a line) is ~45 MB and 1M
 * entries: well inside every limit.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import { ListReadError } from '../errors.js';
import { quoteText, unsafeCharAt } from '../text.js';
import { plain, utf16Units, type ListUnits } from './units.js';

/** Largest list file read, in bytes (256 MiB). */
export const MAX_LIST_BYTES = 256 * 1024 * 1024;
/** Most entries in one list (4,194,304). */
export const MAX_LIST_ENTRIES = 1 << 22;
/** Longest line of a list file, in characters (comment included). */
export const MAX_LINE_CHARS = 1024;
/** Longest value (registrant, provider, label), in characters. */
export const MAX_VALUE_CHARS = 256;

const READ_CHUNK = 1 << 20;

/** File-system error codes in the words a user reads (the code itself for the rest). */
const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
};

function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code !== undefined ? (FS_REASONS[code] ?? code) : String(e);
}

/** Why a file that is not a regular file or pipe is refused. */
function notAFile(st: { isDirectory(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return 'is a directory';
  const kind = st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'a special file';
  return `${kind}, not a regular file or pipe`;
}

/**
 * The bytes of a list file (see the limits above), not yet checked as text (see {@link checkListBytes}).
 * @throws {ListReadError} when the file cannot be opened, is not a regular file or pipe, or is larger than
 *   `maxBytes`.
 */
async function readListBytes(path: string, source: string, maxBytes: number = MAX_LIST_BYTES): Promise<Buffer> {
  const o = await openListFile(path, source, maxBytes);
  try {
    return await readOpenList(o, source, maxBytes);
  } finally {
    await o.fh.close();
  }
}

/**
 * The rest of an opened list file's bytes (see the limits above), not yet checked as text. Does not close it.
 * @throws {ListReadError} when reading fails or the input passes `maxBytes`.
 */
export async function readOpenList(o: OpenList, source: string, maxBytes: number = MAX_LIST_BYTES): Promise<Buffer> {
  try {
    // A regular file is read into one buffer of its size (plus the byte that tells it grew): no chunks to join, so
    // the text's bytes are written once (fresh memory is what a large list costs). A pipe grows the buffer.
    let buf = Buffer.allocUnsafe(o.isFile && o.size > 0 ? o.size + 1 : READ_CHUNK);
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        const grown = Buffer.allocUnsafe(Math.min(buf.length * 2, maxBytes + 1));
        buf.copy(grown, 0, 0, total);
        buf = grown;
      }
      // One byte past the limit is enough to know it was passed (a pipe, or a file that grew while read).
      const want = Math.min(buf.length - total, maxBytes + 1 - total);
      const { bytesRead } = await o.fh.read(buf, total, want, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw new ListReadError(source, `list input is over the limit of ${maxBytes} bytes`);
    }
    return buf.subarray(0, total);
  } catch (e) {
    throw readError(e, source);
  }
}

/** `e` as the ListReadError of a read that failed. */
export function readError(e: unknown, source: string): ListReadError {
  return e instanceof ListReadError ? e : new ListReadError(source, `cannot read list: ${fsReason(e)}`, { cause: e });
}

/** An opened list file: its handle, its size when it was opened, whether it is a regular file (else a pipe). */
export interface OpenList {
  fh: Awaited<ReturnType<typeof open>>;
  size: number;
  isFile: boolean;
}

/**
 * A list file opened for reading, once it is known to be a regular file or a pipe and, for a file, not over
 * `maxBytes` (the caller closes `fh`).
 * @throws {ListReadError} as {@link readListText} for these refusals.
 */
export async function openListFile(path: string, source: string, maxBytes: number = MAX_LIST_BYTES): Promise<OpenList> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new ListReadError(source, `cannot read list: ${fsReason(e)}`, { cause: e });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() && !st.isFIFO()) throw new ListReadError(source, `cannot read list: ${notAFile(st)}`);
    if (st.size > maxBytes) throw new ListReadError(source, `list file of ${st.size} bytes is over the limit of ${maxBytes} bytes`);
    return { fh, size: st.size, isFile: st.isFile() };
  } catch (e) {
    await fh.close();
    throw readError(e, source);
  }
}

/** List bytes that are text: where the text starts (after a UTF-8 byte-order mark) and whether it is all ASCII. */
interface ListBytes {
  readonly bytes: Uint8Array;
  readonly start: number;
  readonly ascii: boolean;
}

/** `line L, byte B` of a byte offset (lines counted from 1, bytes from 0), so the bad byte can be found and fixed. */
function where(bytes: Uint8Array, offset: number): string {
  let line = 1;
  for (let i = bytes.indexOf(0x0a); i >= 0 && i < offset; i = bytes.indexOf(0x0a, i + 1)) line++;
  return `line ${line}, byte ${offset}`;
}

/**
 * Offset of the first byte of the first ill-formed UTF-8 sequence (Unicode Table 3-7: no overlong forms, no
 * surrogates, nothing past U+10FFFF), a sequence cut at the end included. Only run once the bytes failed isUtf8.
 */
function firstBadUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const n = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    // The second byte's range depends on the first (E0: A0-BF, ED: 80-9F, F0: 90-BF, F4: 80-8F).
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return bytes.length;
}

/**
 * Why list bytes are not list text, naming the first bad byte's line and offset (`not UTF-8 text (line 3, byte
 * 41)`, `binary file (NUL byte; line 1, byte 7)`), or null when they are valid UTF-8 without NUL bytes. Not UTF-8
 * takes precedence. Shared by list files and fleet snapshots (nats/snapshot.ts), so both say where.
 */
export function listTextProblem(bytes: Uint8Array, ascii = isAscii(bytes)): string | null {
  if (!ascii && !isUtf8(bytes)) return `not UTF-8 text (${where(bytes, firstBadUtf8(bytes))})`;
  const nul = bytes.indexOf(0);
  return nul >= 0 ? `binary file (NUL byte; ${where(bytes, nul)})` : null;
}

/**
 * Checks that list bytes are text: valid UTF-8 (a leading byte-order mark is dropped, as a UTF-8 decoder does)
 * without NUL bytes.
 * @throws {ListReadError} not UTF-8, or binary (NUL byte); in that order of precedence.
 */
function checkListBytes(bytes: Uint8Array, source: string): ListBytes {
  // ASCII (nearly every list) is valid UTF-8 and decodes as latin1: a copy, ~10x faster than a UTF-8 decode.
  const ascii = isAscii(bytes);
  const problem = listTextProblem(bytes, ascii);
  if (problem !== null) throw new ListReadError(source, `cannot read list: ${problem}`);
  const bom = !ascii && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return { bytes, start: bom ? 3 : 0, ascii };
}

function decode(b: ListBytes): string {
  const buf = Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.length);
  return buf.toString(b.ascii ? 'latin1' : 'utf8', b.start);
}

/**
 * The text of a list file (see the limits above).
 * @throws {ListReadError} when the file cannot be opened, is not a regular file or pipe, is larger than
 *   `maxBytes`, is not valid UTF-8, or is binary (NUL byte).
 */
export async function readListText(path: string, source: string, maxBytes: number = MAX_LIST_BYTES): Promise<string> {
  return decode(checkListBytes(await readListBytes(path, source, maxBytes), source));
}

/**
 * The text of a list file as code units (see units.ts): an ASCII file's own bytes, with no decode and no copy;
 * the UTF-16 units of any other.
 * @throws {ListReadError} as {@link readListText}.
 */
export async function readListUnits(path: string, source: string, maxBytes: number = MAX_LIST_BYTES): Promise<ListUnits> {
  return unitsOfListBytes(await readListBytes(path, source, maxBytes), source);
}

/**
 * The code units of a list file's bytes (see readListUnits).
 * @throws {ListReadError} not UTF-8, or binary (NUL byte).
 */
export function unitsOfListBytes(bytes: Uint8Array, source: string): ListUnits {
  const b = checkListBytes(bytes, source);
  return b.ascii ? plain(b.bytes) : utf16Units(Buffer.from(decode(b), 'utf16le'));
}

const MAX_TEXT_IN_MESSAGE = 60;
/** Quoted for an error message, cut so a hostile line cannot flood a log. */
export const quoteForMessage = (v: string): string => quoteText(v, MAX_TEXT_IN_MESSAGE);

/**
 * Why a list value cannot be accepted (too long, or a character that acts on a terminal instead of showing), or
 * null. Shared by list files and `Classifier#update`, so both accept the same values.
 */
export function valueProblem(value: string): string | null {
  if (value.length > MAX_VALUE_CHARS) return `longer than ${MAX_VALUE_CHARS} characters`;
  const at = unsafeCharAt(value);
  if (at >= 0) return `control, bidi-formatting or invisible character U+${value.codePointAt(at)!.toString(16).padStart(4, '0').toUpperCase()} at column ${at + 1}`;
  return null;
}
