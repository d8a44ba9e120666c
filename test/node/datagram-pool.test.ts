/**
 * DatagramClassifier on a ClassifierPool: classification off the receiving thread (issue 17's flood, where the
 * receiving core is the limit). The pooled adapter must give the verdicts the in-process one gives, route them to
 * the attached sockets' handlers, keep what waits for the workers bounded (and count what it drops), and survive
 * its pool failing — all without throwing into a socket's 'message' handler.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import type { AddressInfo } from 'node:net';
import { createClassifier } from '../../src/classify/classifier.js';
import { InvalidArgumentError, PoolError } from '../../src/errors.js';
import { createClassifierPool, type ClassifierPool } from '../../src/pool/pool.js';
import { DatagramClassifier, type DatagramFlow } from '../../src/node.js';
import type { Verdict } from '../../src/classify/types.js';
import { datagramPayload, sleep, udpSocket, wgInit, wgResp } from './helpers.js';

const workerUrl = new URL('../../dist/worker.js', import.meta.url);
const LISTS = { registered: [['10.0.0.0/30', 'lab'], ['fd00::/120', 'lab6'], ['127.0.0.0/8', 'lo4'], ['::1/128', 'lo6']] as [string, string][] };

const pools: ClassifierPool[] = [];
function pool(workers: number, extra: { batchBytes?: number } = {}): ClassifierPool {
  const p = createClassifierPool({ workers, workerUrl, ...LISTS, ...extra });
  pools.push(p);
  return p;
}
let one: ClassifierPool;
let two: ClassifierPool;
beforeAll(() => {
  one = pool(1);
  two = pool(2);
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

const closers: Array<() => unknown> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await sleep(10);
  }
}

function show(v: Verdict, f: DatagramFlow): string {
  return `${f.src}|${f.srcPort}|${f.dst}|${f.dstPort} ${JSON.stringify(v)}`;
}

const payload = datagramPayload;

describe('DatagramClassifier on a ClassifierPool against the in-process adapter', () => {
  it('property: every verdict (all its fields) and its tuple equal the in-process adapter\'s, with 1 and 2 workers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ tuple: fc.integer({ min: 0, max: 5 }), fwd: fc.boolean(), bytes: payload }), { minLength: 1, maxLength: 60 }),
        fc.boolean(),
        fc.integer({ min: 2, max: 7 }),
        fc.boolean(),
        async (datagrams, v6, smallCap, useTwo) => {
          // One worker: a cap below the tuple count, so tuples are evicted while another one's datagram is pushed.
          // Two: the pool splits the cap between its workers (a worker's share evicts where one table would not),
          // so a cap that holds every tuple.
          const maxFlows = useTwo ? 64 : smallCap;
          const run = async (target: ReturnType<typeof createClassifier> | ClassifierPool, pooled: boolean): Promise<{ got: string[]; dc: DatagramClassifier }> => {
            const dc = new DatagramClassifier(target, { maxPackets: 8, maxFlows });
            const got: string[] = [];
            dc.on('verdict', (v: Verdict, f: DatagramFlow) => got.push(show(v, f)));
            // One clock for both adapters (a repeat within 10 ms is a copy to either).
            let ms = 1000;
            const clock = vi.spyOn(performance, 'now').mockImplementation(() => ms);
            try {
              for (const d of datagrams) {
                ms += 1;
                const cli = { address: v6 ? `fd00::${d.tuple + 1}` : `10.0.0.${d.tuple % 4}`, port: 40000 + (d.tuple % 3) };
                const srv = { address: v6 ? 'fd00::ff' : '10.0.0.200', port: 51820 };
                const r = d.fwd ? dc.inspect(d.bytes, cli, srv) : dc.inspect(d.bytes, srv, cli);
                // A pooled adapter's verdicts are events only.
                if (pooled) expect(r).toBeUndefined();
              }
            } finally {
              clock.mockRestore();
            }
            await dc.close();
            return { got, dc };
          };
          const want = await run(createClassifier(LISTS), false);
          const got = await run(useTwo ? two : one, true);
          expect(got.got.sort()).toEqual(want.got.sort());
          const s = got.dc.stats;
          expect(s.lost).toBe(0);
          expect(s.datagrams).toBe(datagrams.length);
          expect(s.liveTuples).toBe(0);
          expect({ tuples: s.tuples, verdicts: s.verdicts, evicted: s.evicted }).toEqual({ tuples: want.dc.stats.tuples, verdicts: want.dc.stats.verdicts, evicted: want.dc.stats.evicted });
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('DatagramClassifier on a ClassifierPool over real sockets', () => {
  it('dual-stack :: socket: IPv4 (mapped) and IPv6 peers get their verdicts through the socket\'s handler, and can be answered', async () => {
    const dc = new DatagramClassifier(one, { flushMs: 2 });
    closers.push(() => dc.close());
    const server = await udpSocket('udp6', '::', { ipv6Only: false });
    const c4 = await udpSocket('udp4', '127.0.0.1');
    const c6 = await udpSocket('udp6', '::1');
    closers.push(() => server.close(), () => c4.close(), () => c6.close());
    const peers: string[] = [];
    const replies: Array<Promise<Error | null>> = [];
    dc.attach(server, (v, peer) => {
      peers.push(`${peer.family} ${peer.address} ${v.label}`);
      replies.push(new Promise((r) => server.send('refused', peer.port, peer.address, (e) => r(e))));
    }, { localAddress: ['0.0.0.0', '::'] });
    const port = (server.address() as AddressInfo).port;
    const answered = [c4, c6].map((c) => new Promise((r) => c.once('message', r)));
    c4.send(wgInit(0x1111), port, '127.0.0.1');
    c6.send(wgInit(0x2222), port, '::1');
    await until(() => dc.stats.datagrams === 2);
    // The server answers each; the gateway accounts its replies (a pooled adapter's verdicts are events only).
    expect(dc.outbound(server, wgResp(0x3333, 0x1111), c4.address())).toBeUndefined();
    expect(dc.outbound(server, wgResp(0x4444, 0x2222), c6.address())).toBeUndefined();
    await until(() => peers.length === 2);
    expect(peers.sort()).toEqual(['IPv6 ::1 registered_vpn', 'IPv6 ::ffff:127.0.0.1 registered_vpn']);
    expect(await Promise.all(replies)).toEqual([null, null]);
    await Promise.all(answered);
  });

  it('close() reports every undecided tuple to its socket before detaching; the pool\'s live input is free again', async () => {
    const dc = new DatagramClassifier(two);
    const server = await udpSocket('udp4', '127.0.0.1');
    const client = await udpSocket('udp4', '127.0.0.1');
    closers.push(() => server.close(), () => client.close());
    const got: string[] = [];
    dc.attach(server, (v, peer) => got.push(`${peer.address}:${peer.port} ${v.label}`));
    const port = (server.address() as AddressInfo).port;
    client.send(Buffer.from('an ordinary datagram'), port, '127.0.0.1');
    await until(() => dc.stats.datagrams === 1);
    expect(server.listenerCount('message')).toBe(1);
    await dc.close();
    expect(got).toEqual([`127.0.0.1:${(client.address() as AddressInfo).port} ordinary`]);
    expect(server.listenerCount('message')).toBe(0);
    expect(dc.stats).toMatchObject({ datagrams: 1, tuples: 1, verdicts: 1, liveTuples: 0, lost: 0 });
    // Free again: another adapter may own the pool's live input.
    const again = new DatagramClassifier(two);
    await again.close();
  });

  it('idle tuples end after idleMs without traffic, through the workers, and report their verdict then', async () => {
    const dc = new DatagramClassifier(one, { idleMs: 100 });
    closers.push(() => dc.close());
    const seen: string[] = [];
    dc.on('verdict', (v: Verdict, f: DatagramFlow) => seen.push(`${f.src} ${v.label}`));
    dc.inspect(Buffer.from('hello'), { address: '192.0.2.1', port: 1000 }, { address: '192.0.2.2', port: 2000 });
    await until(() => seen.length === 1, 3000);
    expect(seen).toEqual(['192.0.2.1 ordinary']);
    await until(() => dc.stats.idle === 1 && dc.stats.liveTuples === 0, 3000);
  });
});

describe('DatagramClassifier on a ClassifierPool: ownership, bounds and failure', () => {
  it('owns the pool\'s live input: a second adapter and pool.push are refused until close(); pool-only options are refused without a pool', async () => {
    const dc = new DatagramClassifier(one);
    expect(() => new DatagramClassifier(one)).toThrow(InvalidArgumentError);
    expect(() => one.push(new Uint8Array(60), 0)).toThrow(/belongs to a DatagramClassifier/);
    await dc.close();
    const c = createClassifier();
    expect(() => new DatagramClassifier(c, { flushMs: 5 })).toThrow(/flushMs applies only with a ClassifierPool/);
    expect(() => new DatagramClassifier(c, { queueBytes: 1 << 20 })).toThrow(/queueBytes applies only/);
    for (const flushMs of [0, 1001, Number.NaN]) expect(() => new DatagramClassifier(one, { flushMs })).toThrow(InvalidArgumentError);
    // A refused construction did not take the live input.
    const ok = new DatagramClassifier(one);
    await ok.close();
  });

  it('what waits for the workers is bounded by queueBytes: datagrams beyond it are counted lost, and taken again once the workers catch up', async () => {
    const p = pool(1, { batchBytes: 4096 });
    const dc = new DatagramClassifier(p, { queueBytes: 8192 });
    closers.push(() => dc.close());
    const body = new Uint8Array(500).fill(7);
    // Synchronously: no batch can come back in between, so at most two batches (~16 datagrams) plus the open one
    // are taken.
    for (let i = 0; i < 2000; i++) dc.inspect(body, { address: '192.0.2.1', port: 1000 + (i % 50) }, { address: '192.0.2.2', port: 53 });
    const s = dc.stats;
    expect(s.datagrams).toBe(2000);
    expect(s.lost).toBeGreaterThan(1900);
    expect(s.lost).toBeLessThan(2000);
    // Once the workers have caught up, a datagram is taken again.
    await until(() => {
      const before = dc.stats.lost;
      dc.inspect(body, { address: '192.0.2.9', port: 9 }, { address: '192.0.2.2', port: 53 });
      return dc.stats.lost === before;
    });
    expect(dc.stats.datagrams - dc.stats.lost).toBeLessThan(100);
  });

  it('a pool that fails (its workers gone): datagrams are counted lost, one error event, nothing thrown into the socket handler; close() resolves', async () => {
    const p = pool(1);
    const dc = new DatagramClassifier(p);
    const errors: unknown[] = [];
    dc.on('error', (e) => errors.push(e));
    const server = await udpSocket('udp4', '127.0.0.1');
    const client = await udpSocket('udp4', '127.0.0.1');
    closers.push(() => server.close(), () => client.close());
    dc.attach(server, () => {});
    const port = (server.address() as AddressInfo).port;
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown): void => void uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      await p.close();
      for (let i = 0; i < 5; i++) client.send(Buffer.from(`after ${i}`), port, '127.0.0.1');
      await until(() => dc.stats.datagrams === 5);
      await sleep(50);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
    expect(dc.stats.lost).toBe(5);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(PoolError);
    await dc.close();
    expect(server.listenerCount('message')).toBe(0);
  });
});
