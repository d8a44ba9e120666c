/**
 * Connecting to NATS the way a sensor needs: reconnect forever (a sensor outlives any outage; what it could not
 * send waits in its bounded buffers), a short reconnect wait, and a ping interval that notices a dead link in
 * seconds rather than minutes. A fleet's server is rarely open: credentials come from files (a URL's password
 * shows in every process listing), and no message ever prints a URL's password or token.
 */
import { readFileSync } from 'node:fs';
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import { quoteText } from '../text.js';
import { loadNatsModules } from './modules.js';
import { NatsError } from './lists.js';

/** Where a connection's credentials and TLS material are: file paths, read when connecting. */
export interface NatsAuthFiles {
  /** A user credentials file (the user JWT and its nkey seed, as `nsc` writes it). */
  credsFile?: string | undefined;
  /** A file holding a user nkey seed (`SU…`). */
  nkeyFile?: string | undefined;
  /** A file holding an authentication token. */
  tokenFile?: string | undefined;
  /** PEM file of the certificate authorities to trust for the server's certificate (implies TLS). */
  tlsCaFile?: string | undefined;
  /** PEM client certificate and its key, for servers that verify clients (implies TLS; both or neither). */
  tlsCertFile?: string | undefined;
  tlsKeyFile?: string | undefined;
}

export interface ConnectOptions {
  /** Connection name shown by the server (default: `tunnelscope`). */
  name?: string | undefined;
  /** Give up connecting at start after this many ms (default 10 000; 0: keep trying). */
  timeoutMs?: number | undefined;
  /** Credentials and TLS material from files. */
  auth?: NatsAuthFiles | undefined;
  /** Other client options, passed through (e.g. an authenticator of your own); they win over `auth`. */
  client?: Partial<NodeConnectionOptions> | undefined;
}

/**
 * A server URL fit to print: the password (`user:***@`) or token (`***@`) a URL may carry replaced, so that an
 * error message or a log line never hands out the fleet's credentials.
 */
export function displayServer(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?([^/@]*)@/i, (_m, scheme: string | undefined, info: string) => {
    const colon = info.indexOf(':');
    return `${scheme ?? ''}${colon >= 0 ? `${info.slice(0, colon)}:***` : '***'}@`;
  });
}

function readSecret(what: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new NatsError(`cannot read the ${what} ${quoteText(path, 200)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/**
 * The client options `files` stand for (an authenticator, TLS settings), the files read now.
 * @throws {NatsError} two kinds of credentials, a certificate without its key, or a file that cannot be read
 */
export async function natsAuthOptions(files: NatsAuthFiles): Promise<Partial<NodeConnectionOptions>> {
  const kinds = (['credsFile', 'nkeyFile', 'tokenFile'] as const).filter((k) => files[k] !== undefined);
  if (kinds.length > 1) throw new NatsError(`one kind of NATS credentials at a time, got ${kinds.join(' and ')}`);
  if ((files.tlsCertFile === undefined) !== (files.tlsKeyFile === undefined)) throw new NatsError('a TLS client certificate needs its key, and a key its certificate');
  const { transport } = await loadNatsModules();
  const out: Partial<NodeConnectionOptions> = {};
  if (files.credsFile !== undefined) out.authenticator = transport.credsAuthenticator(new TextEncoder().encode(readSecret('credentials file', files.credsFile)));
  if (files.nkeyFile !== undefined) {
    const seed = readSecret('nkey seed file', files.nkeyFile).trim();
    if (!/^S[A-Z2-7]{50,}$/.test(seed)) throw new NatsError(`the nkey seed file ${quoteText(files.nkeyFile, 200)} does not hold a seed (one line starting with S)`);
    out.authenticator = transport.nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (files.tokenFile !== undefined) {
    const token = readSecret('token file', files.tokenFile).trim();
    if (token === '' || /\s/.test(token)) throw new NatsError(`the token file ${quoteText(files.tokenFile, 200)} must hold one token (no blanks)`);
    out.authenticator = transport.tokenAuthenticator(token);
  }
  if (files.tlsCaFile !== undefined || files.tlsCertFile !== undefined) {
    // Read here rather than by path in the client, so a missing file is named now and not as a failed handshake.
    out.tls = {
      ...(files.tlsCaFile !== undefined ? { ca: readSecret('TLS CA file', files.tlsCaFile) } : {}),
      ...(files.tlsCertFile !== undefined ? { cert: readSecret('TLS certificate file', files.tlsCertFile), key: readSecret('TLS key file', files.tlsKeyFile!) } : {}),
    };
  }
  return out;
}

/**
 * Connect to `servers` (`nats://host:port` or `tls://host:port`, comma-separated for a cluster).
 * @throws {NatsMissingError} the optional NATS packages are not installed
 * @throws {NatsError} cannot connect within `timeoutMs`, or bad credentials files
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
    ...(options.auth ? await natsAuthOptions(options.auth) : {}),
    ...options.client,
  };
  try {
    return await transport.connect(opts);
  } catch (e) {
    throw new NatsError(`cannot connect to NATS at ${list.map(displayServer).join(',')}: ${(e as Error).message}`, { cause: e });
  }
}
