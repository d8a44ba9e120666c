/** Shared by the batch tests: 20 corpus captures (the VPN ones and ordinary ones) and per-file reference records. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createClassifier, type Classifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { loadDomainList } from '../../src/lists/domains.js';
import { defaultVpnDomainsPath } from '../../src/lists/default-domains.js';
import { readCaptureFileSync } from '../../src/trace/reader.js';
import { PCAP_DIR } from '../helpers/corpus.js';

export const BATCH = [
  'anyconnect-vpn.pcap', 'cloudflare-warp.pcap', 'forticlient.pcap', 'ipsec_isakmp_esp.pcap', 'openvpn.pcap',
  'pia.pcap', 'pptp.pcap', 'softether.pcap', 'tinc.pcap', 'wireguard.pcap',
  'http.pcapng', 'ah.pcapng', 'mqtt.pcap', 'encrypted_sni.pcap', 'teredo.pcap',
  'tls_port_80.pcapng', 'rdp.pcap', 'selfsigned.pcap', 'tls_ech.pcapng', 'dtls2.pcap',
].map((f) => join(PCAP_DIR, f));

export const batchAvailable = (): boolean => BATCH.every((f) => existsSync(f));

/** The classifier `tunnelscope classify FILE` uses with no list options: the bundled domain list only. */
export async function bundledClassifier(): Promise<Classifier> {
  const d = await loadDomainList({ path: defaultVpnDomainsPath() }, { source: 'data/vpn-domains.txt' });
  return createClassifier({ vpnDomains: d.entries, names: { vpnDomains: 'data/vpn-domains.txt' } });
}

/** Records of one capture through one session (what classify prints for that file alone). */
export function classifyFile(classifier: Classifier, path: string): FlowRecord[] {
  const out: FlowRecord[] = [];
  const s = classifier.session();
  s.on('flow', (r: FlowRecord) => out.push(r));
  try {
    readCaptureFileSync(path, (p) => s.pushRaw(p));
  } finally {
    s.end();
  }
  return out;
}

/** Canonical text of a record without the fleet's fields, for multiset comparison. */
export function plain(r: Record<string, unknown>): string {
  const { sensor: _s, job: _j, batch: _b, capture: _c, ...rest } = r;
  return JSON.stringify(rest);
}
