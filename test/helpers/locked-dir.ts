/**
 * A directory even root cannot list, for tests of unreadable entries: root reads every mode bit, so chmod cannot
 * make one; the kernel refuses `/proc/1/map_files` to a process without CAP_SYS_ADMIN over PID 1's namespace. Tests
 * link to it and skip (`it.skipIf(!LOCKED_DIR_REFUSED)`) where it can be listed after all.
 */
import { readdirSync } from 'node:fs';

export const LOCKED_DIR = '/proc/1/map_files';

export const LOCKED_DIR_REFUSED = ((): boolean => {
  try {
    readdirSync(LOCKED_DIR);
    return false;
  } catch {
    return true;
  }
})();
