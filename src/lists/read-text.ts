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
import { isAscii } from 'node:buffer';
import { open } from 'node:fs/promises';
import { ListParseError, ListReadError } from '../errors.js';
import { quoteText, unsafeCharAt } from '../text.js';

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
 * The text of a list file (see the limits above).
 * @throws {ListReadError} when the file cannot be opened, is not a regular file or pipe, is larger than
 *   `maxBytes`, is not valid UTF-8, or is binary (NUL byte).
 */
export async function readListText(path: string, source: string, maxBytes: number = MAX_LIST_BYTES): Promise<string> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new ListReadError(source, `cannot read list: ${fsReason(e)}`, { cause: e });
  }
  let bytes: Buffer;
  try {
    const st = await fh.stat();
    if (!st.isFile() && !st.isFIFO()) throw new ListReadError(source, `cannot read list: ${notAFile(st)}`);
    if (st.size > maxBytes) throw new ListReadError(source, `list file of ${st.size} bytes is over the limit of ${maxBytes} bytes`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      // One byte past the limit is enough to know it was passed (a pipe, or a file that grew while read).
      const want = Math.min(READ_CHUNK, maxBytes + 1 - total);
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(chunk, 0, want, null);
      if (bytesRead === 0) break;
      chunks.push(bytesRead === want ? chunk : chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw new ListReadError(source, `list input is over the limit of ${maxBytes} bytes`);
    }
    bytes = Buffer.concat(chunks, total);
  } catch (e) {
    if (e instanceof ListReadError) throw e;
    throw new ListReadError(source, `cannot read list: ${fsReason(e)}`, { cause: e });
  } finally {
    await fh.close();
  }
  let text: string;
  try {
    // ASCII (nearly every list) is valid UTF-8 and decodes as latin1: a copy, ~10x faster than a UTF-8 decode.
    text = isAscii(bytes) ? bytes.toString('latin1') : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new ListReadError(source, 'cannot read list: not UTF-8 text', { cause: e });
  }
  if (text.includes('\0')) throw new ListReadError(source, 'cannot read list: binary file (NUL byte)');
  return text;
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
  if (at >= 0) return `control or bidi-formatting character U+${value.charCodeAt(at).toString(16).padStart(4, '0').toUpperCase()} at column ${at + 1}`;
  return null;
}
