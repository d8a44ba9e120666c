/** Reading list files: UTF-8 text only; every failure is a ListReadError naming the source. */
import { readFile } from 'node:fs/promises';
import { ListParseError, ListReadError } from '../errors.js';

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

/**
 * The text of a list file.
 * @throws {ListReadError} when the file cannot be read, is not valid UTF-8, or is binary (NUL byte).
 */
export async function readListText(path: string, source: string): Promise<string> {
  let text: string;
  try {
    const bytes = await readFile(path);
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = e instanceof TypeError ? 'not UTF-8 text' : (code !== undefined ? (FS_REASONS[code] ?? code) : String(e));
    throw new ListReadError(source, `cannot read list: ${why}`, { cause: e });
  }
  if (text.includes('\0')) throw new ListReadError(source, 'cannot read list: binary file (NUL byte)');
  return text;
}

const MAX_TEXT_IN_MESSAGE = 60;
/** Quoted for an error message, cut so a hostile line cannot flood a log. */
export const quoteForMessage = (v: string): string =>
  JSON.stringify(v.length > MAX_TEXT_IN_MESSAGE ? v.slice(0, MAX_TEXT_IN_MESSAGE) + '…' : v);

/** What a list file's entries are called in its error messages. */
export interface ListNouns {
  /** e.g. "CIDR", "domain" (missing key) */
  key: string;
  /** e.g. "prefix", "entry" (duplicate) */
  entry: string;
  /** e.g. "value", "provider" */
  value: string;
}

/**
 * The shared grammar of list files: one `KEY[,VALUE]` per line, `#` starts a comment, blank lines and
 * surrounding blanks (CRLF's `\r` included) are ignored. `canonical(key, lineNo)` validates and canonicalises a
 * key (and throws the list's own error for a bad one); a repeated key with the same value is dropped, with a
 * different value it is an error naming both lines — nothing is lost or merged silently.
 * @throws {ListParseError} at the first bad line.
 */
export function parseListLines(
  text: string,
  source: string,
  nouns: ListNouns,
  defaultValue: string,
  canonical: (key: string, lineNo: number) => string,
): { entries: (readonly [string, string])[]; lines: number[] } {
  const entries: (readonly [string, string])[] = [];
  const lines: number[] = [];
  const seen = new Map<string, number>(); // canonical key -> index in entries
  let lineNo = 0;
  let pos = 0;
  while (pos <= text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    lineNo++;
    let line = text.slice(pos, nl);
    pos = nl + 1;
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    line = line.trim();
    if (line === '') continue;
    const comma = line.indexOf(',');
    const raw = (comma < 0 ? line : line.slice(0, comma)).trim();
    const value = comma < 0 ? defaultValue : line.slice(comma + 1).trim() || defaultValue;
    if (raw === '') throw new ListParseError(source, lineNo, `missing ${nouns.key} before "," in ${quoteForMessage(line)}`);
    const key = canonical(raw, lineNo);
    const prev = seen.get(key);
    if (prev !== undefined) {
      const oldValue = entries[prev]![1];
      if (oldValue === value) continue;
      throw new ListParseError(
        source,
        lineNo,
        `duplicate ${nouns.entry} ${key} with ${nouns.value} ${quoteForMessage(value)}; line ${lines[prev]} has ${quoteForMessage(oldValue)}`,
      );
    }
    seen.set(key, entries.length);
    entries.push(Object.freeze([key, value] as const));
    lines.push(lineNo);
  }
  return { entries, lines };
}
