/**
 * Connecting to NATS the way a sensor needs: reconnect forever (a sensor outlives any outage; what it could not
 * send waits in its bounded buffers), a short reconnect wait, and a ping interval that notices a dead link in
 * seconds rather than minutes.
 */
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import { loadNatsModules } from './modules.js';
import { NatsError } from './lists.js';

export interface ConnectOptions {
  /** Connection name shown by the server (default: `tunnelscope`). */
  name?: string | undefined;
  /** Give up connecting at start after this many ms (default 10 000; 0: keep trying). */
  timeoutMs?: number | undefined;
  /** Other client options, passed through (e.g. credentials, TLS). */
  client?: Partial<NodeConnectionOptions> | undefined;
}

/**
 * Connect to `servers` (`nats://host:port`, comma-separated for a cluster).
 * @throws {NatsMissingError} the optional NATS packages are not installed
 * @throws {NatsError} cannot connect within `timeoutMs`
 */
export async function connectNats(servers: string | string[], options: ConnectOptions = {}): Promise<NatsConnection> {
  const { transport } = await loadNatsModules();
  const list = (Array.isArray(servers) ? servers : servers.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const opts: NodeConnectionOptions = {
    servers: list,
    name: options.name ?? 'tunnelscope',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    pingInterval: 5_000,
    maxPingOut: 2,
    ...(timeoutMs > 0 ? { timeout: timeoutMs } : { waitOnFirstConnect: true }),
    ...options.client,
  };
  try {
    return await transport.connect(opts);
  } catch (e) {
    throw new NatsError(`cannot connect to NATS at ${list.join(',')}: ${(e as Error).message}`, { cause: e });
  }
}
