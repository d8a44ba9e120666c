/**
 * classifySocket over real TCP sockets on 127.0.0.1, ::1 and the dual-stack wildcard: the defects of issue 17
 * (IPv6 reset after remoteAddress, first-chunk decisions, silent clients) and the bytes handed back intact.
 */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { createClassifier } from '../../src/classify/classifier.js';
import { classifySocket, type SocketClassifyOptions, type SocketVerdict } from '../../src/node.js';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  classifyingServer, cut, HOSTS, httpRequest, openvpnTcpReset, pptpSccrq, sendSegments, sleep, sstpRequest, tincId, tlsHello, tlsHelloTwoRecords,
} from './helpers.js';

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

const classifier = createClassifier({ vpnDomains: [['nordvpn.com', 'NordVPN']] });

function label(v: SocketVerdict): string {
  return v.label;
}

describe.each(HOSTS)('classifySocket on %s', (host) => {
  it('an IPv6/IPv4 client that resets before sending, after the embedder read remoteAddress: no throw, undecided (closed)', async () => {
    const errors: unknown[] = [];
    const onUncaught = (e: unknown): void => void errors.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const srv = await classifyingServer(classifier, host, { firstBytesTimeoutMs: 6000 });
      closers.push(srv.close);
      await sendSegments(host, srv.port, [], [], 'reset');
      const a = await srv.accepted[0]!;
      await sleep(20);
      expect(a.remote).toBeTruthy(); // the embedder read it before classifying
      expect(a.verdict).toMatchObject({ label: 'undecided', cause: 'closed', bytes: 0 });
      expect(a.ms).toBeLessThan(4000); // resolved at the reset, not at the deadline
      expect(errors).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('a ClientHello to a listed VPN name is unregistered_vpn sent whole, as 1 byte then the rest, or over two records', async () => {
    const srv = await classifyingServer(classifier, host, { firstBytesTimeoutMs: 3000 });
    closers.push(srv.close);
    const hello = tlsHello('us1.nordvpn.com');
    await sendSegments(host, srv.port, [hello]);
    await sendSegments(host, srv.port, cut(hello, [1]), [0, 150]); // the rest after a pause longer than settleMs
    const two = tlsHelloTwoRecords('us1.nordvpn.com');
    await sendSegments(host, srv.port, cut(two, [7, 100]), [0, 120, 120]);
    for (const [i, want] of [[0, hello], [1, hello], [2, two]] as const) {
      const a = await srv.accepted[i]!;
      expect(a.verdict.label, `connection ${i}`).toBe('unregistered_vpn');
      expect((await a.read).bytes.equals(Buffer.from(want))).toBe(true);
    }
  });

  it('a silent client is undecided (silent) by default; with undecided: "decide" it gets the address verdict', async () => {
    const c = createClassifier({ vpnEndpoints: [[host === '::1' ? '::1/128' : '127.0.0.1/32', 'corp-vpn']] });
    const srv = await classifyingServer(c, host, { firstBytesTimeoutMs: 300 });
    closers.push(srv.close);
    const s1 = await sendSegments(host, srv.port, [], [], 'wait');
    const a = await srv.accepted[0]!;
    expect(a.verdict).toMatchObject({ label: 'undecided', cause: 'silent', bytes: 0 });
    if (a.verdict.label === 'undecided') {
      expect(a.verdict.verdict.label).toBe('unregistered_vpn');
      expect(a.verdict.verdict.decidedAtPacket).toBe(0);
    }
    s1.destroy();
    const srv2 = await classifyingServer(c, host, { firstBytesTimeoutMs: 300, undecided: 'decide' });
    closers.push(srv2.close);
    const s2 = await sendSegments(host, srv2.port, [], [], 'wait');
    const b = await srv2.accepted[0]!;
    expect(b.verdict.label).toBe('unregistered_vpn');
    s2.destroy();
  });

  it('a first message cut short at the deadline is undecided (incomplete), never a silent ordinary; its bytes are kept', async () => {
    const srv = await classifyingServer(classifier, host, { firstBytesTimeoutMs: 300 });
    closers.push(srv.close);
    const hello = tlsHello('us1.nordvpn.com');
    const s = await sendSegments(host, srv.port, [hello.subarray(0, 40)], [], 'wait');
    const a = await srv.accepted[0]!;
    expect(a.verdict).toMatchObject({ label: 'undecided', cause: 'incomplete', bytes: 40 });
    s.end(hello.subarray(40));
    expect((await a.read).bytes.equals(Buffer.from(hello))).toBe(true);
  });

  it('a framed first message is decided as soon as it is whole (no settle wait); unframed bytes after settleMs', async () => {
    const srv = await classifyingServer(classifier, host, { firstBytesTimeoutMs: 6000, settleMs: 1500 });
    closers.push(srv.close);
    const s1 = await sendSegments(host, srv.port, [httpRequest('example.org')], [], 'wait');
    const a = await srv.accepted[0]!;
    expect(a.verdict.label).toBe('ordinary');
    expect(a.ms).toBeLessThan(1000);
    const s2 = await sendSegments(host, srv.port, [Buffer.from('\x01\x02binary-hello')], [], 'wait');
    const b = await srv.accepted[1]!;
    expect(b.verdict.label).toBe('ordinary');
    expect(b.ms).toBeGreaterThanOrEqual(1450);
    s1.destroy();
    s2.destroy();
  });

  it('a client that half-closes after a partial message is undecided (incomplete) at once, with what it sent', async () => {
    const srv = await classifyingServer(classifier, host, { firstBytesTimeoutMs: 6000 });
    closers.push(srv.close);
    const req = httpRequest('nordvpn.com');
    const part = req.subarray(0, req.length - 2); // the empty line never comes
    await sendSegments(host, srv.port, [part], [], 'end');
    const a = await srv.accepted[0]!;
    expect(a.ms).toBeLessThan(4000);
    // Its framing says the message is not whole, and nothing more can come: never a silent ordinary.
    expect(a.verdict).toMatchObject({ label: 'undecided', cause: 'incomplete', bytes: part.length, verdict: { label: 'unregistered_vpn' } });
    const r = await a.read;
    expect(r.bytes.equals(Buffer.from(part))).toBe(true);
    expect(r.ended).toBe(true);
  });

  it('more than maxBytes: decided at the cap, and every byte is handed back in order', async () => {
    const srv = await classifyingServer(classifier, host, { firstBytesTimeoutMs: 3000, maxBytes: 1000 });
    closers.push(srv.close);
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 8)) & 255;
    big[0] = 0x47; // 'G': an HTTP method prefix that never completes
    big[1] = 0x45;
    big[2] = 0x54;
    big[3] = 0x20;
    await sendSegments(host, srv.port, [big]);
    const a = await srv.accepted[0]!;
    expect(a.verdict.label).toBe('ordinary');
    expect((await a.read).bytes.equals(big)).toBe(true);
  });
});

describe('classifySocket on the dual-stack wildcard ::', () => {
  it('an IPv4 client (IPv4-mapped) and an IPv6 client are both classified, with unmapped addresses', async () => {
    const c = createClassifier({ vpnDomains: [['nordvpn.com', 'NordVPN']], registered: [['127.0.0.0/8', 'lab4'], ['::1/128', 'lab6']] });
    const srv = await classifyingServer(c, '::', { firstBytesTimeoutMs: 3000 });
    closers.push(srv.close);
    const hello = tlsHello('us1.nordvpn.com');
    await sendSegments('127.0.0.1', srv.port, cut(hello, [1, 2, 3]));
    await sendSegments('::1', srv.port, cut(hello, [50]));
    const a = await srv.accepted[0]!;
    const b = await srv.accepted[1]!;
    expect(a.remote).toBe('::ffff:127.0.0.1');
    expect(a.verdict).toMatchObject({ label: 'registered_vpn', registrant: 'lab4' });
    expect(b.verdict).toMatchObject({ label: 'registered_vpn', registrant: 'lab6' });
  });
});

describe('classifySocket: what follows the first message', () => {
  const metakey = Buffer.from(`1 94 64 0 0 ${'ab'.repeat(256)}\n`, 'latin1');
  const cases: Array<[string, Uint8Array, Uint8Array]> = [
    ['tinc ID then METAKEY', tincId(), metakey],
    ['an HTTP request then one to a listed name', httpRequest('example.org'), httpRequest('nordvpn.com')],
  ];
  it.each(cases)('%s: the same verdict in one write as with the rest sent later', async (_n, first, rest) => {
    const srv = await classifyingServer(classifier, '127.0.0.1', { firstBytesTimeoutMs: 3000 });
    closers.push(srv.close);
    const both = Buffer.concat([first, rest]);
    await sendSegments('127.0.0.1', srv.port, [both], [], 'wait').then((s) => closers.push(() => void s.destroy()));
    await sendSegments('127.0.0.1', srv.port, [first, rest], [0, 80], 'wait').then((s) => closers.push(() => void s.destroy()));
    const one = await srv.accepted[0]!, two = await srv.accepted[1]!;
    expect(one.verdict).toEqual(two.verdict);
    expect(one.verdict.label).toBe('ordinary'); // the first message's own verdict
  });

  it('a half-open socket (allowHalfOpen) whose client sent only FIN before the call: closed at once, not silent at the deadline', async () => {
    const got: Array<Promise<SocketVerdict>> = [];
    const server = net.createServer({ allowHalfOpen: true }, (sock) => {
      sock.on('error', () => {});
      // Called late: the FIN is already buffered.
      setTimeout(() => got.push(classifySocket(classifier, sock, { firstBytesTimeoutMs: 3000 }).finally(() => sock.destroy())), 100);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    c.on('error', () => {});
    await once(c, 'connect');
    c.end();
    const t0 = performance.now();
    while (got.length === 0) await sleep(10);
    expect(await got[0]!).toMatchObject({ label: 'undecided', cause: 'closed', bytes: 0 });
    expect(performance.now() - t0).toBeLessThan(1500);
    c.destroy();
  });
});

describe('classifySocket: framed openings across segmentations', () => {
  const openings: Array<[string, Uint8Array, string]> = [
    ['tls', tlsHello('us1.nordvpn.com'), 'unregistered_vpn'],
    ['http', httpRequest('www.nordvpn.com'), 'unregistered_vpn'],
    ['sstp', sstpRequest(), 'unregistered_vpn'],
    ['pptp', pptpSccrq(), 'unregistered_vpn'],
    ['openvpn', openvpnTcpReset(), 'ordinary'],
    ['tinc', tincId(), 'ordinary'],
  ];
  it.each(openings)('%s: byte by byte with pauses longer than settleMs gives the whole-message verdict', async (_name, bytes, want) => {
    const srv = await classifyingServer(classifier, '127.0.0.1', { firstBytesTimeoutMs: 5000, settleMs: 30 });
    closers.push(srv.close);
    await sendSegments('127.0.0.1', srv.port, [bytes], [], 'wait').then((s) => closers.push(() => void s.destroy()));
    const whole = await srv.accepted[0]!;
    // Pauses of 40 ms after the first byte, a few spread over the message (byte-by-byte for short ones).
    const at = bytes.length <= 20 ? [...Array(bytes.length).keys()] : [1, 2, 5, 9, Math.floor(bytes.length / 2), bytes.length - 1];
    const parts = cut(bytes, at);
    await sendSegments('127.0.0.1', srv.port, parts, parts.map((_, i) => (i === 0 ? 0 : 40)), 'wait').then((s) => closers.push(() => void s.destroy()));
    const split = await srv.accepted[1]!;
    expect(label(whole.verdict)).toBe(want);
    expect(split.verdict).toEqual(whole.verdict.label === 'undecided' ? whole.verdict : { ...whole.verdict });
  });
});

describe('classifySocket: options and contract', () => {
  it('zeroes its copy of the inspected bytes once the verdict is made (the socket keeps the client\'s own)', async () => {
    const c = createClassifier({ vpnDomains: [['nordvpn.com', 'NordVPN']] });
    const seen: Uint8Array[] = [];
    const classifyFlow = c.classifyFlow.bind(c);
    c.classifyFlow = ((flow: Parameters<typeof classifyFlow>[0]) => {
      if ('packets' in flow) for (const p of flow.packets) seen.push(p.bytes);
      return classifyFlow(flow);
    }) as typeof c.classifyFlow;
    const srv = await classifyingServer(c, '127.0.0.1', { firstBytesTimeoutMs: 3000 });
    closers.push(srv.close);
    const hello = tlsHello('us1.nordvpn.com');
    await sendSegments('127.0.0.1', srv.port, cut(hello, [9]), [0, 150]);
    const a = await srv.accepted[0]!;
    expect(a.verdict.label).toBe('unregistered_vpn'); // it did see the whole hello
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((b) => b.every((x) => x === 0))).toBe(true);
    expect((await a.read).bytes.equals(Buffer.from(hello))).toBe(true);
  });

  it('rejects bad options synchronously', () => {
    const s = new net.Socket();
    expect(() => classifySocket(classifier, s, { maxBytes: 0 })).toThrow(/maxBytes/);
    expect(() => classifySocket(classifier, s, { firstBytesTimeoutMs: -1 })).toThrow(/firstBytesTimeoutMs/);
    expect(() => classifySocket(classifier, s, { undecided: 'maybe' as 'report' })).toThrow(/undecided/);
    expect(() => classifySocket(classifier, s, { undecided: 1n as unknown as 'report' })).toThrow(InvalidArgumentError);
    // Node runs a timer longer than 2^31 - 1 ms after 1 ms: such a timeout would decide every client at once.
    expect(() => classifySocket(classifier, s, { firstBytesTimeoutMs: 3e9 })).toThrow(/firstBytesTimeoutMs .*2147483647/);
    expect(() => classifySocket(classifier, s, { settleMs: 2 ** 31 })).toThrow(/settleMs .*2147483647/);
    expect(() => classifySocket(classifier, s, [] as SocketClassifyOptions)).toThrow(/options must be an object, got Array/);
    s.destroy();
  });

  it('a socket already destroyed resolves at once, undecided (closed)', async () => {
    const s = new net.Socket();
    s.destroy();
    await once(s, 'close');
    const v = await classifySocket(classifier, s, { firstBytesTimeoutMs: 5000 });
    expect(v).toMatchObject({ label: 'undecided', cause: 'closed' });
  });
});
