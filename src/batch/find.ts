/**
 * Which files of a command line are captures: files named are taken as given (a bad one fails with its own
 * error later; a missing one is listed as unreadable, as a corrupt one would fail, and the others still run);
 * directories are walked recursively in name order, keeping the files whose first four bytes are
 * a pcap or pcapng magic — by content, never by extension. Symbolic links are followed; a directory reached
 * twice (a link loop, or named twice) is walked once. What cannot be examined below a named directory is listed with
 * its error and the walk goes on: one locked subdirectory does not hide the captures beside it.
 */
import { closeSync, lstatSync, openSync, readdirSync, readSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isPcapMagic } from '../trace/pcap.js';
import { PCAPNG_SHB_TYPE } from '../trace/pcapng.js';

export interface FoundCaptures {
  /** Capture files in run order: each named file in place, each directory's captures in name order. */
  files: string[];
  /**
   * Entries inside directories that are not captures (skipped, counted for the user): files without a capture magic,
   * FIFOs, sockets, devices (never opened: a FIFO would block), links to nothing and link loops.
   */
  skipped: string[];
  /**
   * Entries inside directories that could not be examined, with the file-system error: a subdirectory that cannot be
   * listed, a file that cannot be opened. The walk goes on past them; the caller reports them as it reports an
   * unreadable capture.
   */
  unreadable: { path: string; error: Error }[];
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
  try {
    return hasCaptureMagic(path);
  } catch {
    return false;
  }
}

/** The magic test; throws when the file cannot be opened or read (the walk names it rather than calling it text). */
function hasCaptureMagic(path: string | Buffer): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = new Uint8Array(4);
    if (readSync(fd, b, 0, 4, 0) < 4) return false;
    const m = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    return isPcapMagic(m) || m === PCAPNG_SHB_TYPE;
  } finally {
    closeSync(fd);
  }
}

/**
 * Expand `inputs` (files and directories) into capture files. An input that does not exist, or a named directory
 * that cannot be listed, is in `unreadable` with its error, as what cannot be examined below a directory is.
 */
export function findCaptures(inputs: readonly string[]): FoundCaptures {
  const files: string[] = [];
  const skipped: string[] = [];
  const unnamed: string[] = [];
  const unreadable: { path: string; error: Error }[] = [];
  const seenDirs = new Set<string>();
  const walk = (dir: string): void => {
    let real: string, raw: Buffer[];
    try {
      real = realpathSync(dir);
      if (seenDirs.has(real)) return;
      raw = readdirSync(dir, { encoding: 'buffer' });
    } catch (e) {
      unreadable.push({ path: dir, error: e as Error });
      return;
    }
    seenDirs.add(real);
    // Names as bytes: read as strings, a name that is not UTF-8 comes back with U+FFFD in it, names no file, and
    // its capture was skipped as if it were a dangling link.
    const names = raw.map((raw) => ({ raw, name: raw.toString('utf8') })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const { raw, name } of names) {
      const p = join(dir, name);
      const text = Buffer.from(name, 'utf8').equals(raw);
      const at = text ? p : Buffer.concat([Buffer.from(join(dir, 'x'), 'utf8').subarray(0, -1), raw]); // join's prefix, the raw name
      let st;
      try {
        st = statSync(at);
      } catch (e) {
        // A link to nothing or a link loop is no capture; an entry gone since the listing is not there at all.
        if (lstatSync(at, { throwIfNoEntry: false })?.isSymbolicLink()) skipped.push(p);
        else if ((e as NodeJS.ErrnoException).code !== 'ENOENT') unreadable.push({ path: p, error: e as Error });
        continue;
      }
      if (!text) {
        if (st.isDirectory() || (st.isFile() && looksLikeCapture(at))) unnamed.push(p);
        else skipped.push(p);
      } else if (st.isDirectory()) walk(p);
      else if (!st.isFile()) skipped.push(p);
      else {
        let capture;
        try {
          capture = hasCaptureMagic(p);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') unreadable.push({ path: p, error: e as Error });
          continue;
        }
        (capture ? files : skipped).push(p);
      }
    }
  };
  for (const input of inputs) {
    if (input === '-') {
      files.push(input);
      continue;
    }
    let st;
    try {
      st = statSync(input);
    } catch (e) {
      unreadable.push({ path: input, error: e as Error });
      continue;
    }
    if (st.isDirectory()) walk(input);
    else files.push(input);
  }
  return { files, skipped, unnamed, unreadable };
}
