/** The node:net / node:dgram adapter, with real sockets on 127.0.0.1 only. */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { createClassifier } from '../../src/classify/classifier.js';
import { classifySocket, DatagramClassifier } from '../../src/node.js';
import type { Verdict } from '../../src/classify/types.js';
import type { SocketVerdict } from '../../src/node.js';
import { wgInit, wgResp } from './helpers.js';

const closers: Array<() => void> = [];
afterEach(() => {
  while (closers.length) closers.pop()!();
});

/** A TCP server whose connections are classified; the verdict and the bytes the app then reads are reported. */
async function tcpServer(classifier: ReturnType<typeof createClassifier>) {
  const results: Array<Promise<{ verdict: SocketVerdict; read: Buffer }>> = [];
  const server = net.createServer((sock) => {
    results.push(
      (async () => {
        const verdict = await classifySocket(classifier, sock, { firstBytesTimeoutMs: 500 });
        // The application reads the same bytes after classification.
        const chunks: Buffer[] = [];
        sock.on('data', (c: Buffer) => chunks.push(c));
        sock.resume();
        await once(sock, 'end');
        sock.end();
        return { verdict, read: Buffer.concat(chunks) };
      })(),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, results };
}

async function sendTcp(port: number, bytes: Buffer): Promise<void> {
  const c = net.connect(port, '127.0.0.1');
  await once(c, 'connect');
  c.end(bytes);
  await once(c, 'close');
}

describe('classifySocket (TCP)', () => {
  it('labels an ordinary HTTP connection without consuming its bytes', async () => {
    const { port, results } = await tcpServer(createClassifier());
    const req = Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n');
    await sendTcp(port, req);
    const r = await results[0]!;
    expect(r.verdict.label).toBe('ordinary');
    expect(r.read.equals(req)).toBe(true);
  });

  it('labels a connection to a listed VPN endpoint, registered by the registration list', async () => {
    const c = createClassifier({ vpnEndpoints: [['127.0.0.1/32', 'corp-vpn']], registered: [['127.0.0.0/8', 'acme']] });
    const { port, results } = await tcpServer(c);
    await sendTcp(port, Buffer.from([0x00, 0x0e, 0x38, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0]));
    const r = await results[0]!;
    expect(r.verdict).toMatchObject({ label: 'registered_vpn', registrant: 'acme' });
    expect(r.verdict.label !== 'undecided' && r.verdict.evidence.map((e) => e.rule)).toContain('endpoint.list');
  });

  it('a client that sends nothing is undecided after the timeout, carrying what its addresses say', async () => {
    const c = createClassifier({ vpnEndpoints: [['127.0.0.1/32', 'corp-vpn']] });
    const { port, results } = await tcpServer(c);
    const sock = net.connect(port, '127.0.0.1');
    await once(sock, 'connect');
    await new Promise((r) => setTimeout(r, 700));
    sock.end();
    const r = await results[0]!;
    expect(r.verdict).toMatchObject({ label: 'undecided', cause: 'silent', verdict: { label: 'unregistered_vpn', decidedAtPacket: 0 } });
  });

  it('the README proxy pattern refuses unregistered_vpn connections', async () => {
    const c = createClassifier({ vpnEndpoints: [['127.0.0.1/32', 'corp-vpn']] });
    const server = net.createServer(async (sock) => {
      const v = await classifySocket(c, sock, { firstBytesTimeoutMs: 500 });
      if (v.label === 'unregistered_vpn') return sock.destroy();
      sock.pipe(sock);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(() => server.close());
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    client.write('hello');
    const [hadError] = (await once(client, 'close')) as [boolean];
    expect(typeof hadError).toBe('boolean');
    expect(client.bytesRead).toBe(0);
  });
});

describe('DatagramClassifier (UDP)', () => {
  it('reports one verdict per 4-tuple once WireGuard is evident, without taking datagrams from the app', async () => {
    const c = createClassifier({ registered: [['127.0.0.1/32', 'lab']] });
    const server = dgram.createSocket('udp4');
    const client = dgram.createSocket('udp4');
    closers.push(() => server.close(), () => client.close());
    server.bind(0, '127.0.0.1');
    await once(server, 'listening');
    client.bind(0, '127.0.0.1');
    await once(client, 'listening');
    const dc = new DatagramClassifier(c);
    const verdicts: Verdict[] = [];
    const appSeen: number[] = [];
    server.on('message', (m: Buffer) => appSeen.push(m.length));
    dc.attach(server, (v) => verdicts.push(v));
    const port = (server.address() as net.AddressInfo).port;
    client.send(wgInit(0x11223344), port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 50));
    // The server's reply, as seen by the gateway: account it from the server's side.
    const v = dc.inspect(wgResp(0x55667788, 0x11223344), server.address(), client.address());
    await new Promise((r) => setTimeout(r, 50));
    expect(appSeen).toEqual([148]);
    expect(v ?? verdicts[0]).toBeDefined();
    const verdict = (v ?? verdicts[0])!;
    expect(verdict.label).toBe('registered_vpn');
    expect(verdict.protocol).toBe('wireguard');
    expect(verdict.registrant).toBe('lab');
  });
});
