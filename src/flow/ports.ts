/** Well-known ports that more than one layer must agree on. */

/** DNS, mDNS and LLMNR: a DNS message is expected on these ports (trace peeks, name parsers, sessions). */
export function isDnsPort(p: number): boolean {
  return p === 53 || p === 5353 || p === 5355;
}
