/**
 * classify's fleet options (`--nats`, `--lists-from`, `--publish`, `--sensor`, `--quiet-records`,
 * `--publish-buffer`). This module only declares and checks them; the NATS code (fleet-run.ts, tunnelscope/nats
 * and the NATS client packages) is imported when a run asks for it, so a plain run loads none of it.
 */
import { Option } from 'commander';
import { numberFlag, UsageError } from './args.js';
import type { ListsProvider, RecordSink, SinkContext, SinkPlugin } from './sinks.js';
// Types only: erased from the build, so a plain run still loads no NATS code.
import type { NatsAuthFiles } from '../nats/connect.js';

/** How to authenticate to NATS and over TLS, as commander hands the options over (file paths). */
export interface NatsAuthOpts {
  natsCreds?: string;
  natsNkey?: string;
  natsTokenFile?: string;
  natsTlsCa?: string;
  natsTlsCert?: string;
  natsTlsKey?: string;
}

/**
 * The options every command that talks to NATS takes beside `--nats URL`. Secrets come from files: a password in
 * the URL would show in every process listing.
 */
export function natsAuthOptions(): Option[] {
  return [
    new Option('--nats-creds <FILE>', 'NATS user credentials file (JWT and nkey seed, as nsc writes it)'),
    new Option('--nats-nkey <FILE>', 'file holding a NATS user nkey seed'),
    new Option('--nats-token-file <FILE>', 'file holding a NATS authentication token'),
    new Option('--nats-tls-ca <FILE>', "PEM CA certificates to verify the NATS server's certificate (TLS)"),
    new Option('--nats-tls-cert <FILE>', 'PEM client certificate for a NATS server that verifies clients (with --nats-tls-key)'),
    new Option('--nats-tls-key <FILE>', 'PEM key of --nats-tls-cert'),
  ];
}

/**
 * The credentials files of `o` in the library's terms, after the usage rules: at most one kind of credentials, a
 * client certificate with its key, and none of them without `--nats`.
 * @throws {UsageError}
 */
export function natsAuthOf(o: NatsAuthOpts & { nats?: string | undefined }): NatsAuthFiles {
  const given = ([['--nats-creds', o.natsCreds], ['--nats-nkey', o.natsNkey], ['--nats-token-file', o.natsTokenFile], ['--nats-tls-ca', o.natsTlsCa], ['--nats-tls-cert', o.natsTlsCert], ['--nats-tls-key', o.natsTlsKey]] as const).filter(
    ([, v]) => v !== undefined,
  );
  if (o.nats === undefined && given.length > 0) throw new UsageError(`${given[0]![0]} needs --nats URL`);
  const creds = given.filter(([f]) => f === '--nats-creds' || f === '--nats-nkey' || f === '--nats-token-file');
  if (creds.length > 1) throw new UsageError(`${creds[0]![0]} and ${creds[1]![0]} are two kinds of credentials; give one`);
  if ((o.natsTlsCert === undefined) !== (o.natsTlsKey === undefined)) throw new UsageError('--nats-tls-cert and --nats-tls-key go together');
  return {
    ...(o.natsCreds !== undefined ? { credsFile: o.natsCreds } : {}),
    ...(o.natsNkey !== undefined ? { nkeyFile: o.natsNkey } : {}),
    ...(o.natsTokenFile !== undefined ? { tokenFile: o.natsTokenFile } : {}),
    ...(o.natsTlsCa !== undefined ? { tlsCaFile: o.natsTlsCa } : {}),
    ...(o.natsTlsCert !== undefined ? { tlsCertFile: o.natsTlsCert, tlsKeyFile: o.natsTlsKey! } : {}),
  };
}

/** The fleet options as commander hands them over. */
export interface FleetOpts extends NatsAuthOpts {
  nats?: string;
  listsFrom?: string | true;
  publish?: string | true;
  sensor?: string;
  quietRecords?: boolean;
  publishBuffer?: string;
  registered?: string;
  vpnEndpoints?: string;
  vpnDomains?: string;
  defaultDomains?: boolean;
}

const SENSOR_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Check the combination: the fleet options need --nats and --nats needs one of them; fleet lists replace the
 * list files (the fleet's version must mean the same lists on every machine).
 * @throws {UsageError}
 */
export function checkFleetOpts(o: FleetOpts): void {
  natsAuthOf(o);
  const uses = o.listsFrom !== undefined || o.publish !== undefined;
  if (o.nats === undefined) {
    for (const [flag, v] of [['--lists-from', o.listsFrom], ['--publish', o.publish], ['--sensor', o.sensor], ['--quiet-records', o.quietRecords], ['--publish-buffer', o.publishBuffer]] as const) {
      if (v !== undefined) throw new UsageError(`${flag} needs --nats URL`);
    }
    return;
  }
  if (!uses) throw new UsageError('--nats needs --lists-from and/or --publish');
  if (o.listsFrom !== undefined) {
    for (const [flag, v] of [['--registered', o.registered], ['--vpn-endpoints', o.vpnEndpoints], ['--vpn-domains', o.vpnDomains]] as const) {
      if (v !== undefined) throw new UsageError(`${flag} cannot be combined with --lists-from (the fleet snapshot holds every list)`);
    }
    if (o.defaultDomains === false) throw new UsageError('--no-default-domains cannot be combined with --lists-from (the fleet snapshot holds every list)');
  }
  if (o.publish === undefined) {
    for (const [flag, v] of [['--quiet-records', o.quietRecords], ['--publish-buffer', o.publishBuffer]] as const) {
      if (v !== undefined) throw new UsageError(`${flag} needs --publish`);
    }
  }
  if (o.sensor !== undefined && !SENSOR_ID.test(o.sensor)) throw new UsageError(`--sensor must be 1-64 letters, digits, '_' or '-', got ${JSON.stringify(o.sensor.slice(0, 80))}`);
  numberFlag('publish-buffer', o.publishBuffer, { min: 1, max: 1e8, integer: true });
}

export const natsPlugin: SinkPlugin = {
  options: () => [
    new Option('--nats <URL>', 'NATS server(s) of a gateway fleet (nats://host:4222, comma-separated); with --lists-from and/or --publish'),
    new Option('--lists-from [BUCKET]', 'take every list from the fleet snapshot in the object store BUCKET (default tunnelscope-lists) and follow its new revisions; listVersion is the fleet revision'),
    new Option('--publish [SUBJECT]', 'publish every record to JetStream (default subject tunnelscope.records.<sensor>, stream TUNNELSCOPE_RECORDS)'),
    new Option('--sensor <ID>', "this sensor's id, in every published record and the default subject (default: the host name)"),
    new Option('--quiet-records', 'records go to NATS only, not to stdout'),
    new Option('--publish-buffer <N>', 'records held while NATS is unreachable (default 100000); then stdin runs drop and count them, file runs wait'),
    ...natsAuthOptions(),
  ],
  async lists(opts: Record<string, unknown>, ctx: SinkContext): Promise<ListsProvider | null> {
    const o = opts as FleetOpts;
    checkFleetOpts(o);
    if (o.nats === undefined || o.listsFrom === undefined) return null;
    return (await import('./fleet-run.js')).fleetLists(o, ctx);
  },
  async create(opts: Record<string, unknown>, ctx: SinkContext): Promise<RecordSink | null> {
    const o = opts as FleetOpts;
    checkFleetOpts(o);
    if (o.nats === undefined || o.publish === undefined) return null;
    return (await import('./fleet-run.js')).fleetSink(o, ctx);
  },
};
