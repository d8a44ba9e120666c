/**
 * The lists a classify run uses, from the command line's files: the registration list, the operator's VPN
 * endpoints, and VPN-provider domains (the bundled list unless --no-default-domains, plus the operator's, which
 * wins for the same name). Every failure is a typed error naming the file (and line): the CLI prints it and
 * exits 2.
 */
import type { ClassifierOptions } from '../classify/classifier.js';
import { loadCidrList } from '../lists/cidr-list.js';
import { defaultVpnDomainsPath } from '../lists/default-domains.js';
import { loadDomainList } from '../lists/domains.js';

export interface ListFiles {
  registered?: string | undefined;
  vpnEndpoints?: string | undefined;
  vpnDomains?: string | undefined;
  /** Load the bundled data/vpn-domains.txt (default true). */
  defaultDomains?: boolean | undefined;
}

const BUNDLED = 'data/vpn-domains.txt';

/** The list part of ClassifierOptions, loaded from `files`. */
export async function loadListFiles(files: ListFiles): Promise<ClassifierOptions> {
  const { registered: reg, vpnEndpoints: ep, vpnDomains: dom } = files;
  const useDefault = files.defaultDomains !== false;
  // Operator entries win over bundled ones for the same name; a Map keeps first-insertion order.
  const domains = new Map<string, string>();
  if (useDefault) for (const [k, v] of (await loadDomainList({ path: defaultVpnDomainsPath() }, { source: BUNDLED })).entries) domains.set(k, v);
  if (dom !== undefined) for (const [k, v] of (await loadDomainList({ path: dom }, { source: dom })).entries) domains.set(k, v);
  const domainsName = dom === undefined ? (useDefault ? BUNDLED : 'vpn-domains') : useDefault ? `${dom}+${BUNDLED}` : dom;
  return {
    registered: reg !== undefined ? (await loadCidrList({ path: reg }, { source: reg })).toMap() : null,
    vpnEndpoints: ep !== undefined ? (await loadCidrList({ path: ep }, { source: ep })).toMap() : null,
    vpnDomains: domains.size > 0 ? [...domains] : null,
    names: { registered: reg ?? 'registered', vpnEndpoints: ep ?? 'vpn-endpoints', vpnDomains: domainsName },
  };
}
