/**
 * The lists a classify run uses, from the command line's files: the registration list, the operator's VPN
 * endpoints, and VPN-provider domains (the bundled list unless --no-default-domains, plus the operator's, which
 * wins for the same name). Every failure is a typed error naming the file (and line): the CLI prints it and
 * exits 2.
 */
import type { ClassifierOptions } from '../classify/classifier.js';
import { loadCidrList } from '../lists/cidr-list.js';
import { defaultVpnDomainsPath } from '../lists/default-domains.js';
import { DomainSet, loadDomainList } from '../lists/domains.js';

export interface ListFiles {
  registered?: string | undefined;
  vpnEndpoints?: string | undefined;
  vpnDomains?: string | undefined;
  /** Load the bundled data/vpn-domains.txt (default true). */
  defaultDomains?: boolean | undefined;
}

const BUNDLED = 'data/vpn-domains.txt';

/** The list part of ClassifierOptions, loaded from `files`; `signal` abandons the load (rejects with its reason). */
export async function loadListFiles(files: ListFiles, signal?: AbortSignal): Promise<ClassifierOptions> {
  const { registered: reg, vpnEndpoints: ep, vpnDomains: dom } = files;
  const useDefault = files.defaultDomains !== false;
  // Operator entries win over bundled ones for the same name (DomainSet.from: a later pair replaces an earlier
  // one). A single list goes in as its set: no entry tuples, no second validation (large operator lists).
  const bundled = useDefault ? await loadDomainList({ path: defaultVpnDomainsPath() }, { source: BUNDLED }) : null;
  const operator = dom !== undefined ? await loadDomainList({ path: dom }, { source: dom }) : null;
  signal?.throwIfAborted();
  const domains =
    bundled && operator
      ? DomainSet.from((function* () {
          yield* bundled.entries;
          yield* operator.entries;
        })())
      : (bundled ?? operator)?.toSet() ?? null;
  const domainsName = dom === undefined ? (useDefault ? BUNDLED : 'vpn-domains') : useDefault ? `${dom}+${BUNDLED}` : dom;
  return {
    registered: reg !== undefined ? (await loadCidrList({ path: reg }, { source: reg, ...(signal ? { signal } : {}) })).toMap() : null,
    vpnEndpoints: ep !== undefined ? (await loadCidrList({ path: ep }, { source: ep, ...(signal ? { signal } : {}) })).toMap() : null,
    vpnDomains: domains !== null && domains.size > 0 ? domains : null,
    names: { registered: reg ?? 'registered', vpnEndpoints: ep ?? 'vpn-endpoints', vpnDomains: domainsName },
  };
}
