/**
 * The metrics port is a socket the network reaches: a peer that holds connections open, dribbles a request, scrapes
 * in a loop or sends garbage must not grow the run's memory, take its CPU from the packets, or lock other scrapers
 * out. Real sockets on 127.0.0.1 (the other scraper comes from 127.0.0.2) and fetch / node:net as the peers.
 */
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { createRunMetrics, peerKey, type MetricsServer } from '../../src/metrics/index.js';

let server: MetricsServer | null = null;
const peers: Socket[] = [];
afterEach(async () => {
  for (const s of peers.splice(0)) s.destroy();
  await server?.close();
  server = null;
});

/** Open a connection that sends half a request line and waits; resolves once it is connected. */
function halfRequest(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    peers.push(s);
    s.on('error', () => {});
    s.once('connect', () => {
      s.write('GET /metr');
      resolve(s);
    });
  });
}

const isOpen = (s: Socket): boolean => !s.destroyed && s.readyState === 'open';
const until = async (ok: () => boolean, ms: number): Promise<boolean> => {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (ok()) return true;
  return ok();
};

/**
 * `n` half-sent requests at once from 127.0.0.1; once the server has closed what is over `cap` (it does as soon as
 * it accepts them, 2 s at most here), how many it left open.
 */
async function leftOpen(port: number, n: number, cap: number): Promise<number> {
  const held = await Promise.all(Array.from({ length: n }, () => halfRequest(port)));
  await until(() => held.filter(isOpen).length <= cap, 2000);
  return held.filter(isOpen).length;
}

/** GET /metrics from a given local address (a second peer), with node:http. */
function scrapeFrom(localAddress: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the metrics server under hostile peers', () => {
  it('one peer gets at most maxConnectionsPerPeer connections; another peer still scrapes', async () => {
    const m = createRunMetrics({ processMetrics: false });
    server = await m.serve('127.0.0.1', 0, { maxConnectionsPerPeer: 4, maxConnections: 16 });
    expect(await leftOpen(server.port, 40, 4)).toBe(4);
    expect(await scrapeFrom('127.0.0.2', server.port)).toBe(200);
  });

  it('a peer is an IPv4 address (also IPv4-mapped) or an IPv6 /64', () => {
    expect(peerKey('192.0.2.7')).toBe('192.0.2.7');
    expect(peerKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(peerKey('2001:db8:1:2::7')).toBe(peerKey('2001:db8:1:2:ffff:1:2:3'));
    expect(peerKey('2001:db8:1:2::7')).not.toBe(peerKey('2001:db8:1:3::7'));
    expect(peerKey('::1')).toBe('::/64');
    expect(peerKey('2001:db8:1:2::7')).toBe('2001:db8:1:2::/64');
    expect(peerKey('')).toBe('');
  });

  it('connections over maxConnections in all are closed at once', async () => {
    const m = createRunMetrics({ processMetrics: false });
    server = await m.serve('127.0.0.1', 0, { maxConnectionsPerPeer: 100, maxConnections: 8 });
    expect(await leftOpen(server.port, 30, 8)).toBe(8);
  });

  it('a request that does not finish its headers is closed after headersTimeoutMs', async () => {
    const m = createRunMetrics({ processMetrics: false });
    server = await m.serve('127.0.0.1', 0, { headersTimeoutMs: 300 });
    const s = await halfRequest(server.port);
    // Dribbling a byte now and then does not keep it open.
    const drip = setInterval(() => isOpen(s) && s.write('i'), 50);
    try {
      expect(await until(() => !isOpen(s), 3000)).toBe(true);
    } finally {
      clearInterval(drip);
    }
  });

  it('a connection that never sends a byte is closed after headersTimeoutMs (it held a per-peer slot for good)', async () => {
    const m = createRunMetrics({ processMetrics: false });
    server = await m.serve('127.0.0.1', 0, { headersTimeoutMs: 300, maxConnectionsPerPeer: 2 });
    const silent = await Promise.all([0, 1].map(() => new Promise<Socket>((resolve) => {
      const s = connect(server!.port, '127.0.0.1');
      peers.push(s);
      s.on('error', () => {});
      s.once('connect', () => resolve(s));
    })));
    expect(await until(() => silent.every((s) => !isOpen(s)), 3000)).toBe(true);
  });

  it('a peer that pipelines requests and never reads the answers is closed once nothing moves for headersTimeoutMs', async () => {
    const m = createRunMetrics({ processMetrics: false });
    server = await m.serve('127.0.0.1', 0, { headersTimeoutMs: 300 });
    const s = await new Promise<Socket>((resolve) => {
      const c = connect(server!.port, '127.0.0.1');
      peers.push(c);
      c.on('error', () => {});
      c.once('connect', () => resolve(c));
    });
    s.pause();
    // Enough answers to fill both socket buffers: the server stops reading and waits for a reader that never comes.
    const burst = 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(200);
    const pump = setInterval(() => isOpen(s) && s.write(burst), 20);
    try {
      expect(await until(() => !isOpen(s), 5000)).toBe(true);
    } finally {
      clearInterval(pump);
    }
  });

  it('scrapes in a loop: the exposition is built scrapeBuildsPerSecond times a second, and stays fresh for a usual scraper', async () => {
    const m = createRunMetrics({ processMetrics: false });
    let packets = 0;
    m.watch(() => ({ packets }));
    server = await m.serve('127.0.0.1', 0, { scrapeBuildsPerSecond: 5 });
    const built = vi.spyOn(m.registry, 'metrics');
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 600) {
      packets++;
      const r = await fetch(server.url);
      expect(r.status).toBe(200);
      await r.text();
      n++;
    }
    const elapsed = performance.now() - t0;
    expect(n).toBeGreaterThan(20);
    // The burst of 5, then 5 a second.
    expect(built.mock.calls.length).toBeLessThanOrEqual(5 + Math.ceil((elapsed / 1000) * 5));
    // A scraper that waits its turn sees the latest count every time.
    for (let k = 0; k < 3; k++) {
      await new Promise((r) => setTimeout(r, 210));
      packets += 7;
      const text = await (await fetch(server.url)).text();
      expect(text).toContain(`tunnelscope_packets_total ${packets}\n`);
    }
    built.mockRestore();
  });

  it('bad bounds are typed errors naming the option', () => {
    const m = createRunMetrics({ processMetrics: false });
    expect(() => m.serve('127.0.0.1', 0, { maxConnections: 0 })).toThrow(/maxConnections must be an integer in \[1, /);
    expect(() => m.serve('127.0.0.1', 0, { maxConnectionsPerPeer: 1.5 })).toThrow(/maxConnectionsPerPeer/);
    expect(() => m.serve('127.0.0.1', 0, { headersTimeoutMs: Number.NaN })).toThrow(/headersTimeoutMs must be a number in \[1, 3600000\], got NaN/);
    expect(() => m.serve('127.0.0.1', 0, { scrapeBuildsPerSecond: '5' as unknown as number })).toThrow(/scrapeBuildsPerSecond .* got a string/);
    expect(() => m.serve('127.0.0.1', 0, null as unknown as object)).toThrow(/options must be an object, got null/);
  });

  it('fuzz: garbage and mutated requests get an answer or a close, never a crash; scrapes go on', async () => {
    const m = createRunMetrics({ processMetrics: false });
    server = await m.serve('127.0.0.1', 0, { headersTimeoutMs: 500 });
    const port = server.port;
    const good = Buffer.from('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const mutated = fc.tuple(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 })).map(([edits]) => {
      const b = Buffer.from(good);
      for (const [i, v] of edits) b[i] = v;
      return b;
    });
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)), mutated);
    await fc.assert(
      fc.asyncProperty(bytes, async (b) => {
        await new Promise<void>((resolve) => {
          const s = connect(port, '127.0.0.1');
          s.on('error', () => resolve());
          s.on('close', () => resolve());
          s.resume();
          s.once('connect', () => s.end(b));
          // A request the server waits on (incomplete, keep-alive) is the peer's to close.
          setTimeout(() => s.destroy(), 1000);
        });
      }),
      { numRuns: 60 },
    );
    expect((await fetch(server.url)).status).toBe(200);
  }, 120_000);
});
