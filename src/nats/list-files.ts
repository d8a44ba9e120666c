/**
 * Reading the list files an operator publishes to the fleet: every file is read and validated completely (each
 * line, and the compiled table) before anything is published, and every bad file is reported — the first bad line
 * of each as `file:line: reason` — not only the first one met. Never talks to NATS.
 */
import { TunnelscopeError } from '../errors.js';
import { loadCidrList } from '../lists/cidr-list.js';
import { DomainSet, loadDomainList } from '../lists/domains.js';
import { defaultVpnDomainsPath } from '../lists/default-domains.js';
import type { FleetListName, NamedList } from './snapshot.js';

export interface ListFiles {
  /** Registration list file: `CIDR,registrant` lines. */
  registered?: string | undefined;
  /** Operator VPN endpoint list file: `CIDR[,label]` lines. */
  vpnEndpoints?: string | undefined;
  /** VPN-provider domain list file: `domain[,provider]` lines, added to the bundled list (see `bundledDomains`). */
  vpnDomains?: string | undefined;
  /**
   * Include the bundled data/vpn-domains.txt in the domain list (operator entries win for the same entry), as
   * `tunnelscope classify` does. Only applies when the domain list is being set (`vpnDomains` given, or
   * `setDomains`). Default true.
   */
  bundledDomains?: boolean | undefined;
  /** Set the domain list even without a `vpnDomains` file (to the bundled list, or empty without it). */
  setDomains?: boolean | undefined;
}

/** Some list files did not validate; `errors` has one error per bad file (ListParseError, ListReadError, …). */
export class ListFilesError extends TunnelscopeError {
  readonly errors: readonly TunnelscopeError[];
  constructor(errors: TunnelscopeError[]) {
    super(errors[0]!.code, errors.map((e) => e.message).join('\n'));
    this.errors = errors;
  }
}

/**
 * Read and validate the named list files. Lists not named are absent from the result (a publication carries them
 * over from the fleet's current snapshot).
 * @throws {ListFilesError} one or more files are unreadable or have a bad line; nothing is returned then
 */
export async function loadListFiles(files: ListFiles): Promise<Partial<Record<FleetListName, NamedList>>> {
  const out: Partial<Record<FleetListName, NamedList>> = {};
  const errors: TunnelscopeError[] = [];
  const attempt = async (fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      if (e instanceof TunnelscopeError) errors.push(e);
      else throw e;
    }
  };
  for (const l of ['registered', 'vpnEndpoints'] as const) {
    const path = files[l];
    if (path === undefined) continue;
    await attempt(async () => {
      const list = await loadCidrList({ path }, { source: path });
      list.toMap(); // the compiled table must build too (it is what every sensor will build)
      out[l] = { name: path, entries: list.entries };
    });
  }
  if (files.vpnDomains !== undefined || files.setDomains === true) {
    await attempt(async () => {
      const merged = new Map<string, string>();
      const bundled = files.bundledDomains !== false;
      if (bundled) {
        const d = await loadDomainList({ path: defaultVpnDomainsPath() }, { source: 'data/vpn-domains.txt' });
        for (const [k, v] of d.entries) merged.set(k, v);
      }
      const path = files.vpnDomains;
      if (path !== undefined) {
        const d = await loadDomainList({ path }, { source: path });
        for (const [k, v] of d.entries) merged.set(k, v); // operator entries win over bundled ones
      }
      const entries = [...merged];
      DomainSet.from(entries);
      const name = path === undefined ? (bundled ? 'data/vpn-domains.txt' : 'vpn-domains') : bundled ? `${path}+data/vpn-domains.txt` : path;
      out.vpnDomains = { name, entries };
    });
  }
  if (errors.length > 0) throw new ListFilesError(errors);
  return out;
}
