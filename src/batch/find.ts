/**
 * Which files of a command line are captures: files named are taken as given (a bad one fails with its own
 * error later); directories are walked recursively in name order, keeping the files whose first four bytes are
 * a pcap or pcapng magic — by content, never by extension. Symbolic links are followed; a directory reached
 * twice (a link loop, or named twice) is walked once.
 */
import { closeSync, openSync, readdirSync, readSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isPcapMagic } from '../trace/pcap.js';
import { PCAPNG_SHB_TYPE } from '../trace/pcapng.js';

export interface FoundCaptures {
  /** Capture files in run order: each named file in place, each directory's captures in name order. */
  files: string[];
  /** Files inside directories that are not captures (skipped, counted for the user). */
  skipped: string[];
  /**
   * Captures (and directories) inside directories whose names are not valid UTF-8, as text with U+FFFD for the
   * bytes that are not: a string path cannot name them, so they cannot be read; the caller reports each.
   */
  unnamed: string[];
}

/** What a CLI says of an entry of {@link FoundCaptures.unnamed}. */
export const UNNAMED = 'its file name is not valid UTF-8, so it cannot be opened by name: not read (rename it)';

/** True when the file starts with a pcap or pcapng magic number (big- or little-endian). */
export function looksLikeCapture(path: string | Buffer): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const b = new Uint8Array(4);
    if (readSync(fd, b, 0, 4, 0) < 4) return false;
    const m = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    return isPcapMagic(m) || m === PCAPNG_SHB_TYPE;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/**
 * Expand `inputs` (files and directories) into capture files.
 * @throws the file-system error of an input that does not exist or cannot be listed (the caller names it)
 */
export function findCaptures(inputs: readonly string[]): FoundCaptures {
  const files: string[] = [];
  const skipped: string[] = [];
  const unnamed: string[] = [];
  const seenDirs = new Set<string>();
  const walk = (dir: string): void => {
    const real = realpathSync(dir);
    if (seenDirs.has(real)) return;
    seenDirs.add(real);
    // Names as bytes: read as strings, a name that is not UTF-8 comes back with U+FFFD in it, names no file, and
    // its capture was skipped as if it were a dangling link.
    const names = readdirSync(dir, { encoding: 'buffer' }).map((raw) => ({ raw, name: raw.toString('utf8') })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const { raw, name } of names) {
      const p = join(dir, name);
      const text = Buffer.from(name, 'utf8').equals(raw);
      const at = text ? p : Buffer.concat([Buffer.from(join(dir, 'x'), 'utf8').subarray(0, -1), raw]); // join's prefix, the raw name
      let st;
      try {
        st = statSync(at);
      } catch {
        continue; // a dangling link: nothing to read
      }
      if (!text) {
        if (st.isDirectory() || (st.isFile() && looksLikeCapture(at))) unnamed.push(p);
        else if (st.isFile()) skipped.push(p);
      } else if (st.isDirectory()) walk(p);
      else if (st.isFile()) (looksLikeCapture(p) ? files : skipped).push(p);
    }
  };
  for (const input of inputs) {
    if (input !== '-' && statSync(input).isDirectory()) walk(input);
    else files.push(input);
  }
  return { files, skipped, unnamed };
}
