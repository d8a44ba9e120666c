/**
 * The bundled domain list compiled into the package equals data/vpn-domains.txt, and the library's default is the
 * CLI's: `createClassifier()` labels the sample capture exactly as `tunnelscope classify` does.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderBundledDomains } from '../../scripts/vpn-domains-module.js';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { loadCidrList } from '../../src/lists/cidr-list.js';
import { BUNDLED_VPN_DOMAINS, BUNDLED_VPN_DOMAINS_NAME } from '../../src/lists/bundled-domains.js';
import { loadDomainList } from '../../src/lists/domains.js';
import { readCaptureFileSync } from '../../src/trace/reader.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

describe('bundled VPN-provider domain list', () => {
  it('src/lists/bundled-domains.ts is data/vpn-domains.txt compiled (run `npx tsx scripts/gen-vpn-domains.ts` after editing the list)', async () => {
    const text = readFileSync(join(ROOT, 'data', 'vpn-domains.txt'), 'utf8');
    expect(readFileSync(join(ROOT, 'src', 'lists', 'bundled-domains.ts'), 'utf8')).toBe(renderBundledDomains(text));
    const file = await loadDomainList({ path: join(ROOT, 'data', 'vpn-domains.txt') });
    expect(BUNDLED_VPN_DOMAINS).toEqual(file.entries);
    expect(Object.isFrozen(BUNDLED_VPN_DOMAINS)).toBe(true);
  });

  it('createClassifier() uses it by default, names it as the CLI does; null turns it off; a list replaces it', () => {
    const sorted = (e: Iterable<readonly [string, string]>) => [...e].map(([d, p]) => `${d},${p}`).sort();
    expect(sorted(createClassifier().lists.vpnDomains!.entries())).toEqual(sorted(BUNDLED_VPN_DOMAINS));
    expect(createClassifier().lists.names.vpnDomains).toBe(BUNDLED_VPN_DOMAINS_NAME);
    expect(createClassifier({ vpnDomains: null }).lists.vpnDomains).toBeNull();
    expect([...createClassifier({ vpnDomains: [['vpn.example', 'X']] }).lists.vpnDomains!.entries()]).toEqual([['vpn.example', 'X']]);
    expect(createClassifier({ names: { vpnDomains: 'mine' } }).lists.names.vpnDomains).toBe('mine');
  });

  it('the library session and `tunnelscope classify` give the same records for the sample capture', async () => {
    const reg = join(ROOT, 'fixtures', 'sample-registered.txt');
    const pcap = join(ROOT, 'fixtures', 'sample.pcap');
    const cli = execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'classify', pcap, '--registered', 'fixtures/sample-registered.txt', '--format', 'ndjson', '--quiet'], { cwd: ROOT, encoding: 'utf8' })
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as FlowRecord);
    const registered = (await loadCidrList({ path: reg })).toMap();
    const session = createClassifier({ registered, names: { registered: 'fixtures/sample-registered.txt' } }).session();
    const lib: FlowRecord[] = [];
    session.on('flow', (r: FlowRecord) => lib.push(r));
    readCaptureFileSync(pcap, (raw) => session.pushRaw(raw));
    session.end();
    const key = (r: FlowRecord) => JSON.stringify([r.transport, r.src, r.dst, r.label, r.protocol, r.registrant, r.confidence, r.evidence]);
    expect(lib.map(key)).toEqual(cli.map(key));
    expect(lib.filter((r) => r.evidence.some((e) => e.source === 'vpn-domains')).length).toBeGreaterThan(0);
  });
});
