/**
 * A sensor fed from a fleet list snapshot names what a local load of the same files names. Found by publishing a
 * registration file with a range line (`lists publish --registered reg.txt`) and classifying with `--lists-from`:
 * the local run said "registered range '10.34.102.5 - 10.34.102.200'", the fleet sensor "registered prefix
 * 10.34.102.16/28" — the snapshot stored the prefixes a range was split into and the sensor rebuilt the map from
 * pairs. The snapshot now stores each range line as written (and the sensor uses the list it parsed), so the
 * evidence, carry-over to later revisions and the pool's workers all name the line. Snapshots written before keep
 * decoding (a fixture from the old encoder) and their checks keep catching corruption.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TunnelscopeError } from '../../src/errors.js';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { loadListFiles as loadLocalLists } from '../../src/cli/lists.js';
import { loadListFiles } from '../../src/nats/list-files.js';
import { decodeListSnapshot, encodeListSnapshot, snapshotListsInput, type ListSnapshotContent } from '../../src/nats/snapshot.js';
import { parseCidrList } from '../../src/lists/cidr-list.js';
import { writtenEntryAt } from '../../src/lists/entry-names.js';
import type { CidrMap } from '../../src/trie/cidr-map.js';
import { fromWireCidr, sharedCidr, toWire } from '../../src/pool/protocol.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { CLIENT, espFlow, espFlowRecord, SERVER } from '../classify/flow-builders.js';
import { pcapHeader, pcapRecord } from '../helpers/pcap-feed.js';
import { natsServerBinary, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { runCli } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ts-fleet-range-'));
const write = (n: string, t: string): string => {
  const p = join(dir, n);
  writeFileSync(p, t);
  return p;
};
// CLIENT 192.0.2.10 is in 192.0.2.8/29, a piece of the range; SERVER 198.51.100.7 in 198.51.100.4/30. The
// U+2028 blank around a dash is one String#trim removes: the range is named escaped, as a local load names it.
const REG = write('reg.txt', '# ranges\n192.0.2.6/31,acme\n192.0.2.5 - 192.0.2.20,acme\n10.0.0.0/8,corp\n10.1.0.1\u2028-10.1.0.9,corp\n');
const EP = write('ep.txt', '198.51.100.3-198.51.100.9,provider-x\n');
const DOM = write('dom.txt', 'Corp-VPN.Example.,Corp\n');
const meta = { published: '2026-12-07T22:00:00.000Z', publisher: 'ops-1', basedOn: null };

const run = espFlowRecord;

const listReasons = (r: FlowRecord): string[] => r.evidence.filter((e) => e.rule === 'registered.prefix' || e.rule === 'endpoint.list').map((e) => e.reason.replace(/ v\d+$/, ' vN'));

async function published(): Promise<ListSnapshotContent> {
  const l = await loadListFiles({ registered: REG, vpnEndpoints: EP, vpnDomains: DOM });
  return { lists: { registered: l.registered!, vpnEndpoints: l.vpnEndpoints!, vpnDomains: l.vpnDomains! }, meta };
}

describe('a fleet snapshot names what a local load names', () => {
  it('evidence through a range names the range as written, on the sensor and after a carry-over', async () => {
    const local = listReasons(run(await loadLocalLists({ registered: REG, vpnEndpoints: EP, vpnDomains: DOM })));
    expect(local).toEqual([
      `dst ${SERVER} is in VPN endpoint list range '198.51.100.3-198.51.100.9' (provider-x) of ${EP} vN`,
      `src ${CLIENT} is in registered range '192.0.2.5 - 192.0.2.20' (registrant acme) of ${REG} vN`,
    ]);
    const first = decodeListSnapshot(encodeListSnapshot(await published()), 'tunnelscope-lists revision 3');
    expect(listReasons(run(snapshotListsInput(first, 3)))).toEqual(local);
    // A publication that names another list carries this one over: the next revision still has its ranges.
    const carried = decodeListSnapshot(encodeListSnapshot({ lists: { ...first.lists, vpnDomains: { name: 'd', entries: [] } }, meta }), 'r 4');
    expect(listReasons(run(snapshotListsInput(carried, 4)))).toEqual(local);
    // The escaped blank, and a prefix line the range repeats (its line came first: the map keeps it, named as the
    // prefix it is).
    const reg = createClassifier(snapshotListsInput(carried, 4)).lists.registered!;
    const written = new Map<string, string | null>();
    for (let i = 0; i < reg.size; i++) written.set(reg.prefixAt(i), writtenEntryAt(reg, i));
    expect(written.get('192.0.2.6/31')).toBeNull();
    expect(written.get('192.0.2.8/29')).toBe('192.0.2.5 - 192.0.2.20');
    expect(written.get('10.1.0.1/32')).toBe('10.1.0.1\\u2028-10.1.0.9');
    // What the snapshot reports as entries is still the prefixes, as a local load's entries are.
    expect(first.lists.registered.entries).toEqual((await published()).lists.registered.entries);
  });

  it('any mix of prefix and range lines, repeats and overlaps: the sensor has the same map and names, entry by entry', () => {
    const ip = fc.integer({ min: 0, max: 63 }).map((n) => `10.0.0.${n}`);
    const blank = fc.constantFrom('', ' ', '\t', '  ');
    const line = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 26, max: 32 })).map(([n, len]) => `10.0.0.${n & ~((1 << (32 - len)) - 1) & 255}/${len}`),
      fc.tuple(ip, ip, blank, blank).map(([x, y, b1, b2]) => {
        const [lo, hi] = Number(x.split('.')[3]) <= Number(y.split('.')[3]) ? [x, y] : [y, x];
        return `${lo}${b1}-${b2}${hi}`;
      }),
    );
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), (keys) => {
        const local = parseCidrList(keys.map((k) => `${k},a`).join('\n'));
        const empty = { name: 'x', entries: [] };
        const bytes = encodeListSnapshot({ lists: { registered: { name: 'r', entries: local.entries }, vpnEndpoints: empty, vpnDomains: empty }, meta });
        const sensor = snapshotListsInput(decodeListSnapshot(bytes, 'r 1'), 1).registered as CidrMap<string>;
        const m = local.toMap();
        const at = (x: CidrMap<string>): [string, string, string | null][] => Array.from({ length: x.size }, (_, i) => [x.prefixAt(i), x.valueAt(i), writtenEntryAt(x, i)]);
        expect(at(sensor)).toEqual(at(m));
      }),
      { numRuns: 300 },
    );
  });

  it("the pool's workers see the snapshot's ranges too", async () => {
    const input = snapshotListsInput(decodeListSnapshot(encodeListSnapshot(await published()), 'r 5'), 5);
    const c = createClassifier(input);
    const w = toWire(c.lists);
    const reg = sharedCidr(c.lists.registered)!;
    expect(fromWireCidr(w.registered, { snapshot: true })).not.toBeNull();
    const worker = run({ registered: fromWireCidr(w.registered, { snapshot: true })!, vpnEndpoints: fromWireCidr(w.vpnEndpoints, { snapshot: true })!, names: c.lists.names });
    expect(listReasons(worker)).toEqual(listReasons(run({ registered: reg, vpnEndpoints: c.lists.vpnEndpoints!, names: c.lists.names })));
    expect(listReasons(worker)[1]).toContain("registered range '192.0.2.5 - 192.0.2.20'");
  });

  it('a snapshot written before ranges were kept still decodes and classifies (it names the prefixes it holds)', () => {
    const old = readFileSync(resolve(import.meta.dirname, '../../fixtures/nats/snapshot-before-ranges.tslists'));
    const c = decodeListSnapshot(old, 'tunnelscope-lists revision 12');
    expect(c.lists.registered.entries).toHaveLength(6);
    expect(c.meta).toEqual({ published: '2026-12-07T21:00:00.000Z', publisher: 'ops-old', basedOn: 11 });
    expect(listReasons(run(snapshotListsInput(c, 12)))).toEqual([
      `dst ${SERVER} is in VPN endpoint list entry 198.51.100.4/30 (provider-x) of ep.txt vN`,
      `src ${CLIENT} is in registered prefix 192.0.2.8/29 (registrant acme) of reg.txt vN`,
    ]);
    // Re-encoded (carried over by a new publisher) it is the same list.
    expect(decodeListSnapshot(encodeListSnapshot(c), 'again')).toEqual(c);
  });

  it('corruption of a range line or of the header counts is refused', async () => {
    const good = Buffer.from(encodeListSnapshot(await published()));
    const bad = (from: string, to: string): unknown => {
      const text = good.toString('latin1');
      expect(text).toContain(from);
      try {
        decodeListSnapshot(Buffer.from(text.replace(from, to), 'latin1'), 'r 9');
        return null;
      } catch (e) {
        return e;
      }
    };
    expect(decodeListSnapshot(good, 'r 9').lists.registered.entries.length).toBe(10);
    // The range's last address: more prefixes than announced.
    expect(bad('192.0.2.20,acme', '192.0.2.22,acme')).toBeInstanceOf(TunnelscopeError);
    // A line lost: fewer bytes than announced.
    expect(bad('10.0.0.0/8,corp\n', '')).toBeInstanceOf(TunnelscopeError);
    expect(bad('"entries":10', '"entries":9')).toBeInstanceOf(TunnelscopeError);
  });
});

const nats = natsServerBinary();
if (!nats.bin) console.warn(`test/nats/range-evidence: skipped: ${nats.why}`);

describe.skipIf(!nats.bin)(`lists publish, then a sensor with --lists-from${nats.bin ? '' : ` (skipped: ${nats.why})`}`, () => {
  let server: NatsServer;
  let pcap = '';
  beforeAll(async () => {
    server = await startNatsServer();
    const parts = [pcapHeader(), ...espFlow(4500, 1).map((p) => pcapRecord(buildFrame(p), Math.round(p.t * 1e6)))];
    pcap = join(dir, 'esp.pcap');
    writeFileSync(pcap, Buffer.concat(parts));
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('names the range as the local run does, with and without workers', async () => {
    const records = (out: string): string[] => listReasons(JSON.parse(out.trim()) as FlowRecord);
    const local = await runCli(['classify', pcap, '--registered', REG, '--vpn-endpoints', EP, '--format', 'ndjson']);
    expect(local.code).toBe(0);
    const pub = await runCli(['lists', 'publish', '--nats', server.url, '--registered', REG, '--vpn-endpoints', EP]);
    expect(pub.err).toMatch(/published fleet revision/);
    expect(pub.code).toBe(0);
    for (const extra of [[], ['--workers', '2']]) {
      const fleet = await runCli(['classify', pcap, '--nats', server.url, '--lists-from', '--format', 'ndjson', ...extra]);
      expect(fleet.code).toBe(0);
      expect(records(fleet.out)).toEqual(records(local.out));
    }
    expect(records(local.out)[1]).toContain("registered range '192.0.2.5 - 192.0.2.20'");
    // A later publication of the domain list alone carries both lists over, ranges and all.
    const dom = await runCli(['lists', 'publish', '--nats', server.url, '--vpn-domains', DOM]);
    expect(dom.code).toBe(0);
    expect(JSON.parse(dom.out) as { carried: string[] }).toMatchObject({ carried: ['registered', 'vpnEndpoints'] });
    const after = await runCli(['classify', pcap, '--nats', server.url, '--lists-from', '--format', 'ndjson']);
    expect(records(after.out)).toEqual(records(local.out));
  }, 60_000);
});
