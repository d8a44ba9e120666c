/**
 * Lists as fleet state, against a real nats-server: publish (carry-over, conflicts), load, and the watcher that
 * swaps a classifier's lists on every new revision — the revision is `listVersion`, the same on every machine; a
 * bad snapshot is refused and the lists in force stay; losing the server keeps the lists and says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { Objm } from '@nats-io/obj';
import { createClassifier } from '../../src/classify/classifier.js';
import { parseCidrList } from '../../src/lists/cidr-list.js';
import { loadFleetLists, publishLists, watchFleetLists, type FleetListWatcher, type SwapEvent } from '../../src/nats/lists.js';
import { natsServerBinary, type NatsServer } from '../helpers/nats-server.js';
import { useNatsServer } from '../helpers/nats-fixture.js';

const nats = natsServerBinary();
if (!nats.bin) console.warn(`test/nats/lists: skipped: ${nats.why}`);

const reg = (text: string, name = 'reg.txt') => ({ name, entries: parseCidrList(text).entries });

function waitFor<T>(em: { once(ev: string, f: (x: T) => void): unknown }, ev: string, ms = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${ev} event in ${ms} ms`)), ms);
    em.once(ev, (x: T) => {
      clearTimeout(t);
      resolve(x);
    });
  });
}

describe.skipIf(!nats.bin)(`fleet lists on nats-server${nats.bin ? '' : ` (skipped: ${nats.why})`}`, () => {
  const fx = useNatsServer();
  let nc: NatsConnection;
  let server: NatsServer;
  const watchers: FleetListWatcher[] = [];
  beforeAll(() => {
    nc = fx.nc();
    server = fx.server();
  });
  afterAll(() => {
    for (const w of watchers) w.stop();
  });

  it('publish, load, carry-over of lists not given, and a concurrent publication refused', async () => {
    const bucket = 'b-publish';
    expect(await loadFleetLists(nc, { bucket })).toBeNull();
    const first = await publishLists(nc, { registered: reg('10.0.0.0/8,acme') }, { bucket, initial: { vpnDomains: { name: 'd', entries: [['nordvpn.com', 'NordVPN']] } } });
    expect(first.basedOn).toBeNull();
    expect(first.entries).toEqual({ registered: 1, vpnEndpoints: 0, vpnDomains: 1 });
    const second = await publishLists(nc, { vpnEndpoints: reg('198.51.100.0/24,vpn', 'ep.txt') }, { bucket });
    expect(second.basedOn).toBe(first.revision);
    expect(second.revision).toBeGreaterThan(first.revision);
    expect(second.carried).toEqual(['registered', 'vpnDomains']);
    const snap = (await loadFleetLists(nc, { bucket }))!;
    expect(snap.revision).toBe(second.revision);
    expect(snap.content.lists.registered.entries).toEqual([['10.0.0.0/8', 'acme']]);
    expect(snap.content.lists.vpnEndpoints).toEqual({ name: 'ep.txt', entries: [['198.51.100.0/24', 'vpn']] });
    expect(snap.content.meta.basedOn).toBe(first.revision);
    expect(createClassifier(snap.input).listVersion).toBe(second.revision);

    // Another publisher got in between this one's read and its write: refused, nothing written.
    const os = await new Objm(nc).open(bucket);
    const realPut = os.putBlob.bind(os);
    let raced = false;
    os.putBlob = async (...args: Parameters<typeof os.putBlob>) => {
      if (!raced) {
        raced = true;
        await publishLists(nc, { registered: reg('10.0.0.0/8,other') }, { bucket });
      }
      return realPut(...args);
    };
    const realCreate = Objm.prototype.create;
    Objm.prototype.create = async function () {
      return os;
    };
    try {
      await expect(publishLists(nc, { registered: reg('10.0.0.0/8,mine') }, { bucket })).rejects.toThrow(/another snapshot was published/);
    } finally {
      Objm.prototype.create = realCreate;
    }
    const now = (await loadFleetLists(nc, { bucket }))!;
    expect(now.content.lists.registered.entries).toEqual([['10.0.0.0/8', 'other']]);
  });

  it('a watcher swaps the lists on every new revision; two machines name the same version', async () => {
    const bucket = 'b-watch';
    const p1 = await publishLists(nc, { registered: reg('10.0.0.0/8,a') }, { bucket });
    const nc2 = await fx.connect();
    const machines = await Promise.all(
      [nc, nc2].map(async (c) => {
        const first = (await loadFleetLists(c, { bucket }))!;
        const classifier = createClassifier(first.input);
        const w = await watchFleetLists(c, classifier, { bucket, revision: first.revision });
        watchers.push(w);
        return { classifier, w };
      }),
    );
    for (const m of machines) expect(m.classifier.listVersion).toBe(p1.revision);
    const swaps = machines.map((m) => waitFor<SwapEvent>(m.w, 'swap'));
    const p2 = await publishLists(nc, { registered: reg('10.0.0.0/8,b') }, { bucket });
    for (const s of await Promise.all(swaps)) expect(s).toMatchObject({ revision: p2.revision, previous: p1.revision });
    for (const m of machines) {
      expect(m.classifier.listVersion).toBe(p2.revision);
      expect(m.classifier.lists.registered?.lookup('10.9.9.9')).toBe('b');
      expect(m.w.stats).toMatchObject({ revision: p2.revision, applied: 1, rejected: 0, unreachable: false });
    }
  });

  it('a watcher started before any publication picks up the first one', async () => {
    const bucket = 'b-empty';
    const classifier = createClassifier();
    const w = await watchFleetLists(nc, classifier, { bucket });
    watchers.push(w);
    const swap = waitFor<SwapEvent>(w, 'swap');
    const p = await publishLists(nc, { registered: reg('192.0.2.0/24,x') }, { bucket });
    expect((await swap).revision).toBe(p.revision);
    expect(classifier.lists.registered?.lookup('192.0.2.1')).toBe('x');
  });

  it('an invalid snapshot is refused and the lists in force stay', async () => {
    const bucket = 'b-bad';
    const p1 = await publishLists(nc, { registered: reg('10.0.0.0/8,a') }, { bucket });
    const classifier = createClassifier((await loadFleetLists(nc, { bucket }))!.input);
    const w = await watchFleetLists(nc, classifier, { bucket, revision: p1.revision });
    watchers.push(w);
    const rejected = waitFor<{ revision: number; error: Error }>(w, 'rejected');
    const os = await new Objm(nc).open(bucket);
    const text = 'tunnelscope-lists 1\n{"lists":{"registered":{"name":"r","entries":1,"bytes":14},"vpnEndpoints":{"name":"e","entries":0,"bytes":0},"vpnDomains":{"name":"d","entries":0,"bytes":0}}}\n10.0.0.0/33,b\n';
    const bad = await os.putBlob({ name: 'lists' }, new TextEncoder().encode(text));
    const r = await rejected;
    expect(r.revision).toBe(bad.revision);
    expect(r.error.message).toMatch(/^r \(b-bad revision \d+\):1: /);
    expect(classifier.listVersion).toBe(p1.revision);
    expect(classifier.lists.registered?.lookup('10.1.1.1')).toBe('a');
    expect(w.stats).toMatchObject({ revision: p1.revision, rejected: 1 });
    // A publication cannot carry lists over from it, so all three must be given; then it goes in.
    await expect(publishLists(nc, { registered: reg('10.0.0.0/8,c') }, { bucket })).rejects.toThrow(/publish all three lists/);
    const swap = waitFor<SwapEvent>(w, 'swap');
    const p3 = await publishLists(nc, { registered: reg('10.0.0.0/8,c'), vpnEndpoints: reg(''), vpnDomains: { name: 'd', entries: [] } }, { bucket });
    expect(p3.basedOn).toBe(bad.revision);
    expect((await swap).revision).toBe(p3.revision);
  });

  it('a bucket created anew (its revision below the one in force) is said once, and the lists in force stay', async () => {
    const bucket = 'b-anew';
    await publishLists(nc, { registered: reg('10.0.0.0/8,a') }, { bucket });
    await publishLists(nc, { registered: reg('10.0.0.0/8,b') }, { bucket });
    const p3 = await publishLists(nc, { registered: reg('10.0.0.0/8,c') }, { bucket });
    const classifier = createClassifier((await loadFleetLists(nc, { bucket }))!.input);
    const w = await watchFleetLists(nc, classifier, { bucket, revision: p3.revision, checkIntervalMs: 200 });
    watchers.push(w);
    await new Objm(nc).open(bucket).then((os) => os.destroy());
    const rejected = waitFor<{ revision: number; error: Error }>(w, 'rejected');
    const again = await publishLists(nc, { registered: reg('10.0.0.0/8,z'), vpnEndpoints: reg(''), vpnDomains: { name: 'd', entries: [] } }, { bucket });
    expect(again.revision).toBeLessThan(p3.revision);
    const r = await rejected;
    expect(r.error.message).toMatch(new RegExp(`revision ${again.revision} is below revision ${p3.revision}: a bucket created anew`));
    await new Promise((res) => setTimeout(res, 700)); // several more checks: said once
    expect(w.stats.rejected).toBe(1);
    expect(classifier.listVersion).toBe(p3.revision);
    expect(classifier.lists.registered?.lookup('10.1.1.1')).toBe('c');
    w.stop();
  });

  it('a watcher whose listener throws, or with no error listener, keeps checking (nothing escapes its timers)', async () => {
    const bucket = 'b-throw';
    const p1 = await publishLists(nc, { registered: reg('10.0.0.0/8,a') }, { bucket });
    const classifier = createClassifier((await loadFleetLists(nc, { bucket }))!.input);
    const w = await watchFleetLists(nc, classifier, { bucket, revision: p1.revision, checkIntervalMs: 100 });
    watchers.push(w);
    w.on('swap', () => {
      throw new Error('embedder bug');
    });
    await publishLists(nc, { registered: reg('10.0.0.0/8,b') }, { bucket });
    await w.settled();
    const p3 = await publishLists(nc, { registered: reg('10.0.0.0/8,c') }, { bucket });
    for (let t = 0; t < 100 && classifier.listVersion !== p3.revision; t++) await new Promise((r) => setTimeout(r, 50));
    expect(classifier.listVersion).toBe(p3.revision); // the throw did not stop later checks
    w.stop();
  });

  it('a lost server keeps the lists in force and says so; after it returns, the next revision goes in', async () => {
    const bucket = 'b-outage';
    const p1 = await publishLists(nc, { registered: reg('10.0.0.0/8,a') }, { bucket });
    const sensor = await fx.connect();
    const classifier = createClassifier((await loadFleetLists(sensor, { bucket }))!.input);
    const w = await watchFleetLists(sensor, classifier, { bucket, revision: p1.revision });
    watchers.push(w);
    const lost = waitFor<{ revision: number }>(w, 'unreachable');
    await server.stop();
    expect((await lost).revision).toBe(p1.revision);
    expect(w.stats.unreachable).toBe(true);
    expect(w.stats.unreachableSince).not.toBeNull();
    expect(classifier.listVersion).toBe(p1.revision);
    const back = waitFor(w, 'reachable', 30_000);
    await server.start();
    await back;
    expect(w.stats).toMatchObject({ unreachable: false, disconnects: 1 });
    await nc.flush().catch(() => undefined);
    const swap = waitFor<SwapEvent>(w, 'swap', 30_000);
    const p2 = await publishLists(nc, { registered: reg('10.0.0.0/8,b') }, { bucket });
    expect((await swap).revision).toBe(p2.revision);
    expect(classifier.lists.registered?.lookup('10.0.0.1')).toBe('b');
  }, 90_000);

  it('a list of 1M prefixes fits and loads', async () => {
    const bucket = 'b-big';
    const lines: string[] = [];
    for (let i = 0; i < 1_000_000; i++) lines.push(`${(i >>> 12) & 255}.${(i >>> 4) & 255}.${(i & 15) << 4}.0/28,org-${i % 5000}`);
    const big = reg(lines.join('\n'), 'big.txt');
    const p = await publishLists(nc, { registered: big }, { bucket });
    expect(p.entries.registered).toBe(1_000_000);
    const snap = (await loadFleetLists(nc, { bucket }))!;
    expect(snap.revision).toBe(p.revision);
    const got = snap.content.lists.registered.entries;
    expect(got.length).toBe(1_000_000);
    expect(got[258]).toEqual(['0.16.32.0/28', 'org-258']);
    expect(snap.input.version).toBe(p.revision);
  }, 300_000);
});
