/**
 * DatagramClassifier over real UDP sockets on 127.0.0.1, ::1 and the dual-stack wildcard, and against the
 * streaming session it is built on: the defects of issue 17 (IPv4-mapped peers on `::`, the server's own address
 * on a wildcard socket, idle tuples never freed, whole-history re-classification) and hostile datagrams.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createClassifier } from '../../src/classify/classifier.js';
import { FlowDetection } from '../../src/classify/engine.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { DatagramClassifier, type DatagramFlow } from '../../src/node.js';
import type { Verdict } from '../../src/classify/types.js';
import type { VerdictEvent } from '../../src/classify/session.js';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { datagramPayload, sleep, udpSocket, wgInit, wgResp } from './helpers.js';

const closers: Array<() => void> = [];
afterEach(() => {
  while (closers.length) closers.pop()!();
});

function track(dc: DatagramClassifier): Array<{ v: Verdict; flow: DatagramFlow }> {
  const out: Array<{ v: Verdict; flow: DatagramFlow }> = [];
  dc.on('verdict', (v: Verdict, flow: DatagramFlow) => out.push({ v, flow }));
  closers.push(() => dc.close());
  return out;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await sleep(10);
  }
}

describe('DatagramClassifier.attach on real sockets', () => {
  it('dual-stack :: socket: IPv4 (mapped) and IPv6 peers are classified, nothing thrown', async () => {
    const c = createClassifier({ registered: [['127.0.0.0/8', 'lab4'], ['::1/128', 'lab6']] });
    const dc = new DatagramClassifier(c);
    const seen = track(dc);
    const server = await udpSocket('udp6', '::', { ipv6Only: false });
    const c4 = await udpSocket('udp4', '127.0.0.1');
    const c6 = await udpSocket('udp6', '::1');
    closers.push(() => server.close(), () => c4.close(), () => c6.close());
    const peers: string[] = [];
    const replies: Array<Promise<Error | null>> = [];
    dc.attach(server, (_v, peer) => {
      peers.push(`${peer.family} ${peer.address}`);
      // The peer is named as the socket names it, so the socket can answer it.
      replies.push(new Promise((r) => server.send('refused', peer.port, peer.address, (e) => r(e))));
    }, { localAddress: ['0.0.0.0', '::'] });
    const port = (server.address() as AddressInfo).port;
    const errors: unknown[] = [];
    process.on('uncaughtException', (e) => errors.push(e));
    c4.send(wgInit(0x1111), port, '127.0.0.1');
    c6.send(wgInit(0x2222), port, '::1');
    await until(() => dc.stats.datagrams === 2);
    // The server answers each; the gateway accounts its replies.
    const r4 = dc.outbound(server, wgResp(0x3333, 0x1111), c4.address());
    const r6 = dc.outbound(server, wgResp(0x4444, 0x2222), c6.address());
    expect(errors).toEqual([]);
    expect(r4).toMatchObject({ label: 'registered_vpn', protocol: 'wireguard', registrant: 'lab4', registeredSide: 'src' });
    expect(r6).toMatchObject({ label: 'registered_vpn', protocol: 'wireguard', registrant: 'lab6' });
    expect(seen.map((s) => s.flow.src).sort()).toEqual(['127.0.0.1', '::1']); // unmapped: the initiator is the IPv4 peer
    expect(peers.sort()).toEqual(['IPv6 ::1', 'IPv6 ::ffff:127.0.0.1']); // as the 'message' event's rinfo says
    expect(await Promise.all(replies)).toEqual([null, null]);
  });

  it('dual-stack :: with default options: an IPv4 datagram is classified (or attach names the ambiguous host addresses)', async () => {
    const dc = new DatagramClassifier(createClassifier());
    track(dc);
    const server = await udpSocket('udp6', '::', { ipv6Only: false });
    const c4 = await udpSocket('udp4', '127.0.0.1');
    closers.push(() => server.close(), () => c4.close());
    let attached = true;
    try {
      dc.attach(server, () => {});
    } catch (e) {
      attached = false;
      expect(String(e)).toMatch(/several IPv[46] addresses/);
    }
    if (!attached) return;
    c4.send(wgInit(0x7777), (server.address() as AddressInfo).port, '127.0.0.1');
    await until(() => dc.stats.datagrams === 1);
    dc.close();
    expect(dc.stats.tuples).toBe(1);
  });

  it('bound to 0.0.0.0: the server\'s own address is matched (loopback by default, or the given localAddress)', async () => {
    // The client is 127.0.0.2 (not registered); only the server's side can make the flow registered. Without
    // localAddress, a host with several IPv4 addresses is ambiguous: attach says so instead (checked below).
    const globals4 = [...new Set(Object.values(networkInterfaces()).flat().filter((i) => i && !i.internal && i.family === 'IPv4' && !i.address.startsWith('169.254.')).map((i) => i!.address))];
    const cases = globals4.length > 1 ? ([['192.0.2.77', '192.0.2.77/32']] as const) : ([[undefined, '127.0.0.1/32'], ['192.0.2.77', '192.0.2.77/32']] as const);
    if (globals4.length > 1) {
      const s = await udpSocket('udp4', '0.0.0.0');
      closers.push(() => s.close());
      expect(() => new DatagramClassifier(createClassifier()).attach(s, () => {})).toThrow(/several IPv4 addresses/);
    }
    for (const [localAddress, registered] of cases) {
      const c = createClassifier({ registered: [[registered, 'own-side']] });
      const dc = new DatagramClassifier(c);
      track(dc);
      const server = await udpSocket('udp4', '0.0.0.0');
      const client = await udpSocket('udp4', '127.0.0.2');
      closers.push(() => server.close(), () => client.close());
      const verdicts: Verdict[] = [];
      dc.attach(server, (v) => verdicts.push(v), localAddress ? { localAddress } : {});
      client.send(wgInit(0x5151), (server.address() as AddressInfo).port, '127.0.0.1');
      await until(() => dc.stats.datagrams === 1);
      const v = dc.outbound(server, wgResp(0x6161, 0x5151), client.address());
      expect(v, String(localAddress)).toMatchObject({ label: 'registered_vpn', registrant: 'own-side', registeredSide: 'dst' });
      expect(v!.evidence.find((e) => e.rule === 'registered.prefix')!.reason).toContain(localAddress ?? '127.0.0.1');
      expect(verdicts).toHaveLength(1);
    }
  });

  it('idle tuples are freed after idleMs (no traffic needed) and report their verdict then', async () => {
    const dc = new DatagramClassifier(createClassifier(), { idleMs: 200 });
    const seen = track(dc);
    const server = await udpSocket('udp4', '127.0.0.1');
    closers.push(() => server.close());
    dc.attach(server, () => {});
    const clients = await Promise.all([0, 1, 2].map(() => udpSocket('udp4', '127.0.0.1')));
    closers.push(...clients.map((s) => () => s.close()));
    for (const s of clients) s.send(Buffer.from('hello'), (server.address() as AddressInfo).port, '127.0.0.1');
    await until(() => dc.stats.datagrams === 3);
    expect(dc.stats.liveTuples).toBe(3);
    expect(seen).toHaveLength(0); // one datagram: not final yet
    await until(() => dc.stats.liveTuples === 0, 3000);
    expect(dc.stats.idle).toBe(3);
    expect(seen.map((s) => s.v.label)).toEqual(['ordinary', 'ordinary', 'ordinary']);
    expect(seen.every((s) => s.v.decidedAtPacket === 1)).toBe(true);
  });

  it("a tuple back after idleMs is a new flow: the datagram that starts it does not return the ended flow's verdict", () => {
    let ms = 1000;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => ms);
    try {
      const dc = new DatagramClassifier(createClassifier(), { idleMs: 5000 });
      track(dc);
      const events: [Verdict, DatagramFlow][] = [];
      dc.on('verdict', (v: Verdict, f: DatagramFlow) => events.push([v, f]));
      const a = { address: '10.0.0.1', port: 40000 }, b = { address: '10.0.0.2', port: 51820 };
      expect(dc.inspect(Buffer.from('hello'), a, b)).toBeUndefined(); // one datagram: not final yet
      ms += 60_000; // past idleMs, no timer tick in between (the clock is mocked)
      // The old flow ends (its verdict is reported now, as an event); the new flow's first datagram is undecided.
      expect(dc.inspect(Buffer.from('hello'), a, b)).toBeUndefined();
      expect(events.map(([v]) => v.label)).toEqual(['ordinary']);
      expect(dc.stats).toMatchObject({ tuples: 2, liveTuples: 1, idle: 1 });
      // Once more, now with a handshake: the response that decides the third flow returns its verdict.
      ms += 60_000;
      expect(dc.inspect(wgInit(0x4242), a, b)).toBeUndefined();
      expect(events).toHaveLength(2);
      ms += 1;
      expect(dc.inspect(wgResp(0x4243, 0x4242), b, a)).toMatchObject({ label: 'unregistered_vpn', protocol: 'wireguard' });
      expect(events).toHaveLength(3);
      dc.close();
    } finally {
      clock.mockRestore();
    }
  });

  it('a peer on the same port number as the socket (WireGuard peers both on 51820) is reported as the peer, whoever spoke first', async () => {
    for (const serverFirst of [true, false]) {
      const dc = new DatagramClassifier(createClassifier(), { idleMs: 100 });
      track(dc);
      const server = await udpSocket('udp4', '127.0.0.1');
      const port = (server.address() as AddressInfo).port;
      const peerSock = dgram.createSocket('udp4');
      peerSock.bind(port, '127.0.0.2');
      await new Promise((r) => peerSock.once('listening', r));
      closers.push(() => server.close(), () => peerSock.close());
      const peers: string[] = [];
      dc.attach(server, (_v, peer) => peers.push(`${peer.address}:${peer.port}`));
      const peer = { address: '127.0.0.2', port };
      if (serverFirst) {
        // The socket initiates (the flow's src is the socket's own end, on the same port number as the peer).
        server.send(wgInit(0x7171), port, '127.0.0.2');
        dc.outbound(server, wgInit(0x7171), peer);
        peerSock.send(wgResp(0x7272, 0x7171), port, '127.0.0.1');
      } else {
        peerSock.send(wgInit(0x7171), port, '127.0.0.1');
        await until(() => dc.stats.datagrams === 1);
        dc.outbound(server, wgResp(0x7272, 0x7171), peer);
      }
      await until(() => peers.length === 1);
      expect(peers, `server first: ${serverFirst}`).toEqual([`127.0.0.2:${port}`]);
      // Verdicts the timer reports (undecided tuples gone idle) name the peer too, whoever spoke.
      const third = dgram.createSocket('udp4');
      third.bind(port, '127.0.0.4');
      await new Promise((r) => third.once('listening', r));
      closers.push(() => third.close());
      third.send(Buffer.from('hello'), port, '127.0.0.1');
      await until(() => dc.stats.datagrams === 3);
      dc.outbound(server, Buffer.from('hi'), { address: '127.0.0.3', port });
      await until(() => peers.length === 3, 3000);
      expect(peers.slice(1).sort(), `server first: ${serverFirst}`).toEqual([`127.0.0.3:${port}`, `127.0.0.4:${port}`]);
    }
  });

  it('attach before bind resolves the local side on listening; detach stops listening', async () => {
    const dc = new DatagramClassifier(createClassifier());
    track(dc);
    const server = dgram.createSocket('udp4');
    closers.push(() => server.close());
    const detach = dc.attach(server, () => {});
    server.bind(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const client = await udpSocket('udp4', '127.0.0.1');
    closers.push(() => client.close());
    client.send(Buffer.from('x'), (server.address() as AddressInfo).port, '127.0.0.1');
    await until(() => dc.stats.datagrams === 1);
    detach();
    client.send(Buffer.from('y'), (server.address() as AddressInfo).port, '127.0.0.1');
    await sleep(50);
    expect(dc.stats.datagrams).toBe(1);
  });

  it('a socket the application closes is detached: the next socket on its port gets its verdicts, closed sockets are not kept', async () => {
    const dc = new DatagramClassifier(createClassifier(), { idleMs: 100 });
    track(dc);
    const stale: Verdict[] = [];
    // Per-client upstream sockets (a UDP proxy's pattern): attached, then closed by the application alone.
    let port = 0;
    for (let i = 0; i < 50; i++) {
      const s = await udpSocket('udp4', '127.0.0.1');
      port = (s.address() as AddressInfo).port;
      dc.attach(s, (v) => stale.push(v));
      const closed = new Promise((r) => s.once('close', r));
      s.close();
      await closed;
      expect(s.listenerCount('message')).toBe(0);
    }
    expect((dc as unknown as { attachments: unknown[] }).attachments).toHaveLength(0);
    // A new socket on the last one's port: the idle timer's verdict goes to it, not to the closed one's callback.
    const server = dgram.createSocket('udp4');
    closers.push(() => server.close());
    server.bind(port, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const got: Array<{ v: Verdict; peer: { port: number } }> = [];
    dc.attach(server, (v, peer) => got.push({ v, peer }));
    const client = await udpSocket('udp4', '127.0.0.1');
    closers.push(() => client.close());
    client.send(Buffer.alloc(40, 7), port, '127.0.0.1');
    await until(() => got.length === 1);
    expect(got[0]!.peer.port).toBe((client.address() as AddressInfo).port);
    expect(stale).toEqual([]);
  });

  it('a socket attached twice is an InvalidArgumentError (each datagram would be accounted twice); after detach it may be attached again', async () => {
    const dc = new DatagramClassifier(createClassifier());
    track(dc);
    const server = await udpSocket('udp4', '127.0.0.1');
    closers.push(() => server.close());
    const detach = dc.attach(server, () => {});
    expect(() => dc.attach(server, () => {})).toThrow(/already attached/);
    expect(server.listenerCount('message')).toBe(1);
    detach();
    dc.attach(server, () => {});
    detach(); // the old detach again: the new attachment stays
    expect(() => dc.attach(server, () => {})).toThrow(/already attached/);
    expect(server.listenerCount('message')).toBe(1);
    const client = await udpSocket('udp4', '127.0.0.1');
    closers.push(() => client.close());
    for (let i = 0; i < 3; i++) client.send(Uint8Array.of(1, 2, 3, i), (server.address() as AddressInfo).port, '127.0.0.1');
    await until(() => dc.stats.datagrams === 3);
    await sleep(50);
    expect(dc.stats.datagrams).toBe(3);
  });

  it('a bad local side found only at bind is an error event; close() detaches from every socket', async () => {
    const dc = new DatagramClassifier(createClassifier());
    const errors: Error[] = [];
    dc.on('error', (e: Error) => errors.push(e));
    const late = dgram.createSocket('udp4');
    const early = await udpSocket('udp4', '127.0.0.1');
    closers.push(() => late.close(), () => early.close());
    dc.attach(late, () => {}, { localAddress: ['10.0.0.1', '10.0.0.2'] });
    dc.attach(early, () => {});
    late.bind(0, '0.0.0.0');
    await new Promise((r) => late.once('listening', r));
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/two IPv4 addresses/)]);
    expect(late.listenerCount('message')).toBe(0); // detached: kept, it would account nothing
    expect(early.listenerCount('message')).toBe(1);
    dc.close();
    expect(early.listenerCount('message')).toBe(0);
    expect(late.listenerCount('message')).toBe(0);
  });
});

describe('DatagramClassifier: the embedder\'s mistakes', () => {
  it('a handler that throws costs no other verdict its delivery; the first exception is thrown again after', () => {
    const c = createClassifier({ vpnDomains: null, vpnEndpoints: [['198.51.100.0/24', 'corp-vpn']] });
    const dc = new DatagramClassifier(c, { maxFlows: 1 });
    const got: string[] = [];
    dc.on('verdict', (v: Verdict, f: DatagramFlow) => {
      got.push(`${f.srcPort} ${v.label}`);
      if (f.srcPort === 4000) throw new Error('embedder bug');
    });
    dc.inspect(Buffer.from('abc'), { address: '10.0.0.1', port: 4000 }, { address: '10.0.0.2', port: 9999 });
    // Evicts the first tuple (its verdict throws) and is decided by its endpoint: both verdicts are delivered.
    expect(() => dc.inspect(Buffer.from('abc'), { address: '10.0.0.1', port: 4001 }, { address: '198.51.100.1', port: 9999 })).toThrow('embedder bug');
    expect(got).toEqual(['4000 ordinary', '4001 unregistered_vpn']);
    expect(dc.stats.verdicts).toBe(2);
    dc.close();
  });

  it('close() with a throwing handler: every tuple reported, every socket detached, the exception thrown after', async () => {
    const dc = new DatagramClassifier(createClassifier({ vpnDomains: null }));
    const server = await udpSocket('udp4', '127.0.0.1');
    closers.push(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const peers: number[] = [];
    dc.attach(server, (_v, peer) => peers.push(peer.port));
    let events = 0;
    dc.on('verdict', () => {
      if (++events === 1) throw new Error('embedder bug');
    });
    for (let p = 0; p < 3; p++) dc.inspect(Buffer.from(`hello ${p}`), { address: '127.0.0.1', port: 40000 + p }, { address: '127.0.0.1', port });
    expect(() => dc.close()).toThrow('embedder bug');
    expect(events).toBe(3);
    expect(peers.sort()).toEqual([40000, 40001, 40002]);
    expect(server.listenerCount('message')).toBe(0);
    expect(server.listenerCount('close')).toBe(0);
  });

  it('attach refuses what it could never let go of, and a bad localAddress before the socket is bound', () => {
    const dc = new DatagramClassifier(createClassifier());
    const closed = dgram.createSocket('udp4');
    closed.close();
    expect(() => dc.attach(closed, () => {})).toThrow(/the socket is closed/);
    expect(closed.listenerCount('message')).toBe(0);
    const unbound = dgram.createSocket('udp4');
    closers.push(() => unbound.close());
    expect(() => dc.attach(unbound, () => {}, { localAddress: '192.0.2.300' })).toThrow(/localAddress "192.0.2.300" is not an IP address/);
    expect(() => dc.attach(unbound, () => {}, { localAddress: 5 as unknown as string })).toThrow(/localAddress must be an address or an array of them, got 5/);
    expect(() => dc.attach(unbound, () => {}, [] as never)).toThrow(/options must be an object, got Array/);
    expect(unbound.listenerCount('message')).toBe(0);
    dc.close();
    expect(() => dc.attach(unbound, () => {})).toThrow(/the classifier is closed/);
    expect(unbound.listenerCount('message')).toBe(0);
  });
});

describe('DatagramClassifier.inspect', () => {
  it('classifies incrementally: each datagram is inspected once, a decided tuple costs no detection', () => {
    const dc = new DatagramClassifier(createClassifier());
    track(dc);
    const a = { address: '10.0.0.1', port: 40000 }, b = { address: '10.0.0.2', port: 51820 };
    expect(dc.inspect(wgInit(7), a, b)).toBeUndefined();
    const v = dc.inspect(wgResp(8, 7), b, a);
    expect(v).toMatchObject({ protocol: 'wireguard', decidedAtPacket: 2 });
    for (let i = 0; i < 100; i++) expect(dc.inspect(wgInit(7), a, b)).toBeUndefined();
    expect(dc.stats).toMatchObject({ datagrams: 102, liveTuples: 1, tuples: 1, verdicts: 1 });
  });

  it('a label final before the packet budget (an endpoint-list hit) settles the tuple: no more detection, counted as a verdict', () => {
    const dc = new DatagramClassifier(createClassifier({ vpnEndpoints: [['10.9.0.0/16', 'corp-vpn']] }));
    const out = track(dc);
    const inspected = vi.spyOn(FlowDetection.prototype, 'inspect');
    try {
      const a = { address: '10.0.0.1', port: 40000 }, b = { address: '10.9.0.2', port: 1194 };
      const v = dc.inspect(Uint8Array.from({ length: 60 }, (_, i) => (i * 37) & 255), a, b);
      expect(v).toMatchObject({ label: 'unregistered_vpn', decidedAtPacket: 1 });
      expect(dc.stats.verdicts).toBe(1);
      const calls = inspected.mock.calls.length;
      for (let i = 0; i < 20; i++) expect(dc.inspect(Uint8Array.of(i, 1, 2, 3, 4, 5, 6, 7), i & 1 ? b : a, i & 1 ? a : b)).toBeUndefined();
      expect(inspected.mock.calls.length).toBe(calls);
      dc.close();
      expect(out).toHaveLength(1);
      expect(dc.stats).toMatchObject({ datagrams: 21, tuples: 1, verdicts: 1 });
    } finally {
      inspected.mockRestore();
    }
  });

  it('a message that is not bytes, or a port that is not an integer in 0-65535, is an InvalidArgumentError and nothing is accounted', () => {
    const dc = new DatagramClassifier(createClassifier());
    track(dc);
    const a = { address: '10.0.0.1', port: 40000 }, b = { address: '10.0.0.2', port: 53 };
    const call = (m: unknown, from: unknown = a, to: unknown = b) => () => dc.inspect(m as Uint8Array, from as typeof a, to as typeof b);
    for (const m of ['hello', new ArrayBuffer(8), null, undefined, 42, new DataView(new ArrayBuffer(4)), new Uint16Array(4), [1, 2, 3]]) {
      expect(call(m), String(m)).toThrow(InvalidArgumentError);
    }
    for (const port of [-1, 65536, 70000, 1.5, Number.NaN, undefined, '53']) {
      expect(call(Uint8Array.of(1), { address: '10.0.0.1', port }), String(port)).toThrow(InvalidArgumentError);
      expect(call(Uint8Array.of(1), a, { address: '10.0.0.2', port }), String(port)).toThrow(InvalidArgumentError);
    }
    for (const end of [null, 5, 'a:1']) {
      expect(call(Uint8Array.of(1), end), String(end)).toThrow(InvalidArgumentError);
      expect(call(Uint8Array.of(1), a, end), String(end)).toThrow(InvalidArgumentError);
    }
    expect(dc.stats).toMatchObject({ datagrams: 0, tuples: 0 });
    // Bytes in any Uint8Array (a Buffer, a view into a larger buffer) and ports 0 and 65535 are accepted.
    dc.inspect(Buffer.from([1, 2, 3]), { address: '10.0.0.1', port: 0 }, { address: '10.0.0.2', port: 65535 });
    dc.inspect(new Uint8Array(new ArrayBuffer(16), 4, 8), a, b);
    expect(dc.stats).toMatchObject({ datagrams: 2, tuples: 2 });
  });

  it('IPv4-mapped senders with a wildcard receiver are IPv4; families that cannot meet are an InvalidArgumentError', () => {
    const dc = new DatagramClassifier(createClassifier());
    const seen = track(dc);
    expect(() => dc.inspect(Buffer.from('x'), { address: '::ffff:10.0.0.1', port: 1 }, { address: '::', port: 2 })).not.toThrow();
    expect(() => dc.inspect(Buffer.from('x'), { address: '10.0.0.1', port: 1 }, { address: '2001:db8::1', port: 2 })).toThrow(/address families differ/);
    expect(() => dc.inspect(Buffer.from('x'), { address: 'nope', port: 1 }, { address: '::', port: 2 })).toThrow(/not an IP address/);
    dc.close();
    expect(seen.map((s) => `${s.flow.src}>${s.flow.dst}`)).toEqual(['10.0.0.1>0.0.0.0']);
  });

  it('never opens a tunnel: a VXLAN-shaped payload to port 4789 stays one flow of its outer addresses', () => {
    const c = createClassifier({ registered: [['198.51.100.0/24', 'spoofed']] });
    const dc = new DatagramClassifier(c, { maxPackets: 2 });
    const seen = track(dc);
    const inner = buildFrame({ src: '198.51.100.5', dst: '198.51.100.6', proto: 17, srcPort: 1, dstPort: 51820, payload: wgInit(9) });
    const vx = Uint8Array.from([0x08, 0, 0, 0, 0, 0, 1, 0, ...inner]);
    dc.inspect(vx, { address: '127.0.0.9', port: 5555 }, { address: '127.0.0.1', port: 4789 });
    dc.inspect(vx, { address: '127.0.0.9', port: 5555 }, { address: '127.0.0.1', port: 4789 });
    dc.close();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.flow).toEqual({ src: '127.0.0.9', srcPort: 5555, dst: '127.0.0.1', dstPort: 4789 });
    expect(seen[0]!.v.registrant).toBeNull();
  });

  it('keeps no payload: nothing reachable from it holds the datagram or more than the first 48 bytes of it', () => {
    const dc = new DatagramClassifier(createClassifier());
    track(dc);
    const secret = Buffer.alloc(600, 0xa5);
    // After each datagram (IPv4, then IPv6), walk everything reachable from the classifier (its session, flow
    // table and its view cache, snippet pools, scratch buffers).
    dc.inspect(secret, { address: '10.0.0.1', port: 1 }, { address: '10.0.0.2', port: 2 });
    walk(dc, secret);
    dc.inspect(secret, { address: 'fd00::1', port: 1 }, { address: 'fd00::2', port: 2 });
    walk(dc, secret);
  });

  function walk(dc: DatagramClassifier, secret: Buffer): void {
    const seen = new Set<unknown>();
    const stack: unknown[] = [dc];
    let arrays = 0;
    let longest = 0;
    while (stack.length > 0) {
      const o = stack.pop();
      if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) continue;
      seen.add(o);
      if (ArrayBuffer.isView(o)) {
        expect(o.buffer === secret.buffer && o.byteLength > 0).toBe(false);
        const b = new Uint8Array(o.buffer, o.byteOffset, o.byteLength);
        arrays++;
        for (let i = 0, run = 0; i < b.length; i++) {
          run = b[i] === 0xa5 ? run + 1 : 0;
          if (run > longest) longest = run;
        }
        continue;
      }
      if (o instanceof Map) for (const [k, v] of o) stack.push(k, v);
      else if (o instanceof Set) for (const v of o) stack.push(v);
      for (const k of Reflect.ownKeys(o)) {
        const d = Object.getOwnPropertyDescriptor(o, k);
        if (d && 'value' in d) stack.push(d.value);
      }
    }
    expect(arrays).toBeGreaterThan(10);
    expect(longest).toBeGreaterThan(0); // the snippets are there...
    expect(longest).toBeLessThanOrEqual(48); // ...and no more than a snippet of any one datagram
  }

  it('options are checked, and the tuple cap follows the byte budget', () => {
    const c = createClassifier();
    expect(() => new DatagramClassifier(c, { maxPackets: 0 })).toThrow(/maxPackets/);
    expect(() => new DatagramClassifier(c, { maxBytes: 10 })).toThrow(/holds no tuple/);
    const dc = new DatagramClassifier(c, { maxBytes: 2_000_000, maxFlows: 1e6 });
    expect(dc.maxTuples).toBeLessThan(Math.floor(2_000_000 / dc.bytesPerTuple));
    expect(dc.maxTuples).toBeGreaterThan(0);
    dc.close();
  });
});

// ---- oracle: the same datagrams as frames through a plain ClassifierSession ----

const DIRS = ['fwd', 'rev'] as const;
const payload = datagramPayload;

describe('DatagramClassifier against the session oracle', () => {
  it('property: verdicts (label, protocol, rules, packet) equal a session fed the same datagrams as frames', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            tuple: fc.integer({ min: 0, max: 5 }),
            dir: fc.constantFrom(...DIRS),
            bytes: payload,
          }),
          { minLength: 1, maxLength: 60 },
        ),
        fc.boolean(),
        fc.integer({ min: 2, max: 7 }),
        (datagrams, v6, maxFlows) => {
          const c = createClassifier({ registered: [[v6 ? 'fd00::/120' : '10.0.0.0/30', 'lab']] });
          // A cap below the tuple count: tuples are evicted while another one's datagram is pushed.
          const dc = new DatagramClassifier(c, { maxPackets: 8, maxFlows });
          const got: string[] = [];
          const events: [Verdict, DatagramFlow][] = [];
          dc.on('verdict', (v: Verdict, f: DatagramFlow) => {
            events.push([v, f]);
            got.push(`${f.src}:${f.srcPort}>${f.dst}:${f.dstPort} ${v.label} ${v.protocol} ${v.decidedAtPacket} ${v.evidence.map((e) => e.rule).join(',')}`);
          });
          const s = c.session({ flow: { maxPayloadPackets: 8, payloadBytes: 48, maxFlows }, decoder: { maxTunnelDepth: 0 } });
          const want: string[] = [];
          s.on('verdict', ({ flow, verdict: v }: VerdictEvent) => want.push(`${flow.src.replace(/^\[|\](?=:)/g, '')}>${flow.dst.replace(/^\[|\](?=:)/g, '')} ${v.label} ${v.protocol} ${v.decidedAtPacket} ${v.evidence.map((e) => e.rule).join(',')}`));
          // One clock for both: the adapter stamps a datagram with performance.now(), and a repeat within 10 ms is a
          // copy to either (a real clock made the two disagree whenever a pause fell between two equal datagrams).
          let ms = 1000;
          const clock = vi.spyOn(performance, 'now').mockImplementation(() => ms);
          const originUs = Math.round(performance.timeOrigin * 1000);
          try {
            for (const d of datagrams) {
              ms += 1;
              // Tuples 0 and 3 share a port, 0 and 4 an IPv4 address: a tuple is told by all four of its numbers.
              const cli = { address: v6 ? `fd00::${d.tuple + 1}` : `10.0.0.${d.tuple % 4}`, port: 40000 + (d.tuple % 3) };
              const srv = { address: v6 ? 'fd00::ff' : '10.0.0.200', port: 51820 };
              const [from, to] = d.dir === 'fwd' ? [cli, srv] : [srv, cli];
              const before = events.length;
              const r = dc.inspect(d.bytes, from, to);
              // What inspect returns is the verdict this datagram's own tuple got during the call, if any.
              const own = events.slice(before).filter(([, f]) =>
                (f.src === from.address && f.srcPort === from.port && f.dst === to.address && f.dstPort === to.port) ||
                (f.src === to.address && f.srcPort === to.port && f.dst === from.address && f.dstPort === from.port));
              expect(own.length).toBeLessThanOrEqual(1);
              expect(r).toBe(own[0]?.[0]);
              s.push(buildFrame({ src: from.address, dst: to.address, proto: 17, srcPort: from.port, dstPort: to.port, payload: d.bytes }), (originUs + ms * 1000) * 1000);
            }
            dc.close();
            s.end();
          } finally {
            clock.mockRestore();
          }
          const norm = (x: string) => x.replace(/(fd00::[0-9a-f]+):/g, '$1;');
          expect(got.map(norm).sort()).toEqual(want.map(norm).sort());
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('DatagramClassifier against hostile datagrams', () => {
  it('property: random datagrams from random peers never throw; stats stay consistent; tuples stay under the cap', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 1600 }), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), fc.boolean(), fc.nat(300)), { maxLength: 300 }),
        (list) => {
          const dc = new DatagramClassifier(createClassifier({ vpnDomains: [['nordvpn.com', 'x']] }), { maxFlows: 50, maxPackets: 4 });
          let verdicts = 0;
          dc.on('verdict', () => verdicts++);
          for (const [bytes, sp, dp, v6, host] of list) {
            const from = { address: v6 ? `2001:db8::${host.toString(16)}` : `192.0.2.${host % 256}`, port: sp };
            const to = { address: v6 ? '::' : '0.0.0.0', port: dp };
            dc.inspect(bytes, from, to);
            expect(dc.stats.liveTuples).toBeLessThanOrEqual(50);
          }
          const st = dc.stats;
          dc.close();
          expect(st.datagrams).toBe(list.length);
          expect(verdicts).toBe(st.tuples); // one verdict per tuple, every tuple ends at close
        },
      ),
      { numRuns: 200 },
    );
  });

  it('random datagrams through a real dual-stack socket: no uncaught error, every one accounted', async () => {
    const dc = new DatagramClassifier(createClassifier(), { maxFlows: 64 });
    track(dc);
    const server = await udpSocket('udp6', '::', { ipv6Only: false });
    const c4 = await udpSocket('udp4', '127.0.0.1');
    const c6 = await udpSocket('udp6', '::1');
    closers.push(() => server.close(), () => c4.close(), () => c6.close());
    dc.attach(server, () => {}, { localAddress: ['0.0.0.0', '::'] });
    let appSeen = 0;
    server.on('message', () => appSeen++);
    const port = (server.address() as AddressInfo).port;
    const samples = fc.sample(fc.tuple(fc.uint8Array({ maxLength: 1400 }), fc.boolean()), 400);
    // Paced so the receive buffer never overflows: every datagram must arrive.
    for (let i = 0; i < samples.length; i++) {
      const [b, v6] = samples[i]!;
      (v6 ? c6 : c4).send(b, port, v6 ? '::1' : '127.0.0.1');
      if (i % 20 === 19) await until(() => appSeen === i + 1, 5000);
    }
    await until(() => appSeen === samples.length, 5000);
    expect(dc.stats.datagrams).toBe(samples.length);
    expect(dc.stats.liveTuples).toBe(2);
  });
});
