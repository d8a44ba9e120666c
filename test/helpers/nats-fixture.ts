/** A nats-server per describe block, for tests (vitest hooks; the bench uses nats-server.ts alone). */
import { afterAll, beforeAll } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../src/nats/connect.js';
import { startNatsServer, type NatsServer } from './nats-server.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/**
 * In a `describe` block: one server for the block, connections (and proxies) closed at its end.
 * `nc()` is a connection made at start; `connect(url)` makes more; `viaProxy()` connects through a proxy the
 * test can cut.
 */
export function useNatsServer(): {
  server: () => NatsServer;
  nc: () => NatsConnection;
  connect: (url?: string) => Promise<NatsConnection>;
  viaProxy: () => Promise<{ proxy: TcpProxy; nc: NatsConnection }>;
} {
  let server: NatsServer | undefined;
  let first: NatsConnection | undefined;
  const conns: NatsConnection[] = [];
  const proxies: TcpProxy[] = [];
  const connect = async (url?: string): Promise<NatsConnection> => {
    const c = await connectNats(url ?? server!.url);
    conns.push(c);
    return c;
  };
  beforeAll(async () => {
    server = await startNatsServer();
    first = await connect();
  }, 60_000);
  afterAll(async () => {
    for (const p of proxies) await p.close();
    for (const c of conns) await c.close().catch(() => undefined);
    await server?.close();
  });
  return {
    server: () => server!,
    nc: () => first!,
    connect,
    async viaProxy() {
      const proxy = await startTcpProxy(server!.port);
      proxies.push(proxy);
      return { proxy, nc: await connect(`nats://127.0.0.1:${proxy.port}`) };
    },
  };
}
