/** The UDP edge of the IPFIX exporter: URL parsing, IPv6 collectors, the flush timer, idle template refresh. */
import { createSocket, type Socket } from 'node:dgram';
import dns from 'node:dns';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createIpfixExporter, parseIpfixUrl } from '../../src/ipfix/index.js';
import { IpfixDecoder } from '../oracles/ipfix-decoder.js';
import { sampleRecords } from '../output/sample-records.js';

const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
  vi.restoreAllMocks();
});

/**
 * dns.lookup answering for `name` as `answer` says (an address, an error, or never), counting the calls; other
 * names go to the real resolver.
 */
function fakeResolver(name: string, answer: () => string | Error | null): { calls: () => number } {
  const real = dns.lookup.bind(dns);
  let calls = 0;
  vi.spyOn(dns, 'lookup').mockImplementation(((host: string, opts: unknown, cb: (e: Error | null, a?: string, f?: number) => void) => {
    if (host !== name) return (real as (...a: unknown[]) => void)(host, opts, cb);
    calls++;
    const a = answer();
    if (a === null) return; // a resolver that never answers
    setImmediate(() => (a instanceof Error ? cb(a) : cb(null, a, 4)));
  }) as typeof dns.lookup);
  return { calls: () => calls };
}

async function receiver(type: 'udp4' | 'udp6', host: string): Promise<{ port: number; got: Buffer[] }> {
  const s = createSocket(type);
  sockets.push(s);
  const got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  await new Promise<void>((r) => s.bind(0, host, r));
  return { port: s.address().port, got };
}

const until = async (f: () => boolean, ms = 5000) => {
  for (let t = 0; t < ms && !f(); t += 10) await new Promise((r) => setTimeout(r, 10));
};

describe('IPFIX over UDP', () => {
  it('parses udp://HOST:PORT and rejects anything else with a clear message', () => {
    expect(parseIpfixUrl('udp://127.0.0.1:2055')).toEqual({ host: '127.0.0.1', port: 2055 });
    expect(parseIpfixUrl('udp://[::1]:4739')).toEqual({ host: '::1', port: 4739 });
    expect(parseIpfixUrl('udp://collector.example')).toEqual({ host: 'collector.example', port: 4739 });
    expect(() => parseIpfixUrl('tcp://127.0.0.1:4739')).toThrow(/only udp:\/\//);
    expect(() => parseIpfixUrl('127.0.0.1:4739')).toThrow(/udp/);
    expect(() => parseIpfixUrl('udp://127.0.0.1:70000')).toThrow(/not a URL|bad port/);
    expect(() => parseIpfixUrl('udp://127.0.0.1:4739/path')).toThrow(/expected udp:\/\/HOST:PORT/);
    expect(() => parseIpfixUrl('udp://u:p@127.0.0.1:4739')).toThrow(/expected udp:\/\/HOST:PORT/);
  });

  it('takes a scoped IPv6 collector (a link-local address on a management interface), as typed or RFC 6874-encoded', async () => {
    expect(parseIpfixUrl('udp://[fe80::1%eth0]:4739')).toEqual({ host: 'fe80::1%eth0', port: 4739 });
    expect(parseIpfixUrl('udp://[fe80::1%25eth0.7]')).toEqual({ host: 'fe80::1%eth0.7', port: 4739 });
    expect(() => parseIpfixUrl('udp://[fe80::1%eth0]:70000')).toThrow(/bad port/);
    expect(() => parseIpfixUrl('udp://[fe80::1%e th0]:4739')).toThrow(/not a URL/);
    expect(() => parseIpfixUrl('udp://[nothex%eth0]:4739')).toThrow(/not a URL/);
    const rx = await receiver('udp6', '::1');
    const ex = createIpfixExporter(`udp://[::1%lo]:${rx.port}`, { flushMs: 50 });
    await until(() => rx.got.length >= 1);
    await ex.close();
    expect(rx.got.length).toBeGreaterThanOrEqual(1);
    expect(ex.stats).toMatchObject({ sendErrors: 0 });
  });

  it('sends templates at once, data after flushMs without close, everything at close; IPv6 collector', async () => {
    const recs = await sampleRecords();
    const rx = await receiver('udp6', '::1');
    const ex = createIpfixExporter(`udp://[::1]:${rx.port}`, { flushMs: 50 });
    await until(() => rx.got.length >= 1);
    const dec = new IpfixDecoder();
    const first = dec.decode(rx.got[0]!);
    expect([first.templates.length, first.records.length]).toEqual([4, 0]);
    ex.write(recs[0]!);
    await until(() => rx.got.length >= 2);
    expect(dec.decode(rx.got[1]!).records.length).toBe(1); // the flush timer sent it, before close
    for (const r of recs.slice(1)) ex.write(r);
    await ex.close();
    const records = () => {
      const d = new IpfixDecoder();
      return rx.got.reduce((a, m) => a + d.decode(m).records.length, 0);
    };
    await until(() => records() >= recs.length);
    expect(records()).toBe(recs.length);
    expect(ex.stats).toMatchObject({ records: recs.length, sendErrors: 0 });
    ex.write(recs[0]!); // after close: ignored, no throw
  });

  it('a host name resolves to IPv4 (localhost reaches 127.0.0.1 even where it resolves to ::1 first)', async () => {
    const rx = await receiver('udp4', '127.0.0.1');
    const ex = createIpfixExporter(`udp://localhost:${rx.port}`);
    await until(() => rx.got.length >= 1);
    await ex.close();
    expect(rx.got.length).toBe(1);
    expect(ex.stats.sendErrors).toBe(0);
  });

  it('re-sends templates while idle on the refresh interval', async () => {
    const rx = await receiver('udp4', '127.0.0.1');
    const ex = createIpfixExporter(`udp://127.0.0.1:${rx.port}`, { templateRefreshMs: 1000 });
    await until(() => rx.got.length >= 2, 4000);
    await ex.close();
    expect(rx.got.length).toBeGreaterThanOrEqual(2);
    for (const m of rx.got) expect(new IpfixDecoder().decode(m).templates.length).toBe(4);
  });

  it('a refresh interval beyond what a Node timer holds is refused; the longest it holds is not run every millisecond', async () => {
    // Node runs a timer longer than 2^31 - 1 ms after 1 ms: a "never, in practice" refresh became a template storm.
    // It was clamped in silence; now it is refused like flushMs, and the longest accepted one is a real timer.
    expect(() => createIpfixExporter('udp://127.0.0.1:4739', { templateRefreshMs: 1e12 })).toThrow(/templateRefreshMs must be a number in \[0, 2147483647\]/);
    const rx = await receiver('udp4', '127.0.0.1');
    const ex = createIpfixExporter(`udp://127.0.0.1:${rx.port}`, { templateRefreshMs: 2 ** 31 - 1 });
    await new Promise((r) => setTimeout(r, 300));
    await ex.close();
    expect(rx.got.length).toBe(1); // the templates sent at the start, nothing since
  });

  it('refuses options it would misread, before opening a socket', () => {
    const url = 'udp://127.0.0.1:4739';
    expect(() => createIpfixExporter(url, { flushMs: -1 })).toThrow(/flushMs must be a number in \[0, 2147483647\], got -1/);
    expect(() => createIpfixExporter(url, { flushMs: 3e9 })).toThrow(/flushMs/);
    expect(() => createIpfixExporter(url, { flushMs: '5' as unknown as number })).toThrow(/flushMs .*got a string/);
    expect(() => createIpfixExporter(url, { now: 5 as unknown as () => number })).toThrow(/now must be a function, got 5/);
    expect(() => createIpfixExporter(url, { templateRefreshMs: '5' as unknown as number })).toThrow(/templateRefreshMs .*got a string/);
    expect(() => createIpfixExporter(url, [] as never)).toThrow(/options must be an object, got Array/);
  });

  it('a host name is looked up once for the run, not once per message', async () => {
    const recs = await sampleRecords();
    const rx = await receiver('udp4', '127.0.0.1');
    const dnsFake = fakeResolver('collector.test', () => '127.0.0.1');
    const ex = createIpfixExporter(`udp://collector.test:${rx.port}`, { flushMs: 1, maxMessageSize: 512 });
    for (let k = 0; k < 20; k++) {
      for (const r of recs) ex.write(r);
      await new Promise((r) => setTimeout(r, 5));
    }
    await ex.close();
    expect(ex.stats.messages).toBeGreaterThan(40);
    expect(dnsFake.calls()).toBe(1);
    await until(() => rx.got.length >= ex.stats.messages, 2000);
    expect(rx.got.length).toBe(ex.stats.messages);
    expect(ex.stats).toMatchObject({ sendErrors: 0, dropped: 0 });
  });

  it('a resolver that never answers: messages past the bound are dropped and counted, close() returns', async () => {
    const recs = await sampleRecords();
    const dnsFake = fakeResolver('collector.test', () => null);
    const ex = createIpfixExporter('udp://collector.test:4739', { maxMessageSize: 512 });
    for (let k = 0; k < 200; k++) for (const r of recs) ex.write(r);
    const messages = ex.stats.messages;
    expect(messages).toBeGreaterThan(300);
    expect(ex.stats.dropped).toBe(messages - 256);
    const t0 = performance.now();
    await ex.close();
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(ex.stats.dropped).toBe(ex.stats.messages);
    expect(dnsFake.calls()).toBe(1);
  });

  it('a failed lookup is counted and tried again on the refresh; the waiting messages then go out', async () => {
    const recs = await sampleRecords();
    const rx = await receiver('udp4', '127.0.0.1');
    let n = 0;
    const dnsFake = fakeResolver('collector.test', () => (n++ === 0 ? Object.assign(new Error('getaddrinfo ENOTFOUND collector.test'), { code: 'ENOTFOUND' }) : '127.0.0.1'));
    const ex = createIpfixExporter(`udp://collector.test:${rx.port}`, { templateRefreshMs: 1000, flushMs: 10 });
    for (const r of recs) ex.write(r);
    await until(() => ex.stats.sendErrors > 0, 1000);
    expect(ex.stats.lastError).toMatch(/ENOTFOUND/);
    expect(rx.got.length).toBe(0);
    await until(() => rx.got.length > 0, 3000);
    await ex.close();
    expect(dnsFake.calls()).toBe(2);
    const d = new IpfixDecoder();
    await until(() => rx.got.reduce((a, m) => a + d.decode(m).records.length, 0) >= recs.length, 1000);
    expect(new IpfixDecoder().decode(rx.got[0]!).templates.length).toBe(4);
    expect(ex.stats.dropped).toBe(0);
  });
});
