/**
 * A TCP proxy a test can cut: clients connect to `port` and are piped to `target`. `cut()` destroys every
 * connection and refuses new ones (accepted and closed at once) until `restore()` — one sensor's link to NATS
 * goes down while the server and the other sensors carry on. `hold()` stops forwarding client-to-server bytes
 * without closing anything (a process that has taken a job can then neither publish nor ack); `watch` sees the
 * server-to-client bytes (to spot a delivered message).
 */
import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  cut(): void;
  restore(): void;
  /** Stop forwarding client->server bytes (they are buffered, never delivered). */
  hold(): void;
  /** Forward `n` more client->server bytes, then hold. */
  holdAfter(n: number): void;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, opts: { watch?: (serverToClient: Buffer, proxy: TcpProxy) => void } = {}): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let refusing = false;
  let holding = false;
  let allowance = Infinity;
  let accepted = 0;
  let proxy!: TcpProxy;
  const server = net.createServer((client) => {
    accepted++;
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (b) => {
      if (holding) return;
      if (b.length > allowance) {
        upstream.write(b.subarray(0, allowance));
        holding = true;
        return;
      }
      allowance -= b.length;
      upstream.write(b);
    });
    upstream.on('data', (b) => {
      opts.watch?.(b, proxy);
      client.write(b);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  proxy = {
    port,
    get accepted() {
      return accepted;
    },
    cut() {
      refusing = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      refusing = false;
      holding = false;
      allowance = Infinity;
    },
    hold() {
      holding = true;
    },
    holdAfter(n: number) {
      allowance = n;
    },
    async close() {
      this.cut();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return proxy;
}
