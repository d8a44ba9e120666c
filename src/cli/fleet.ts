/**
 * `tunnelscope lists publish` and `tunnelscope fleet stats|submit|work`: the commands of a gateway fleet on NATS
 * JetStream. Only their options live here; each action imports fleet-run.ts (and through it tunnelscope/nats and
 * the NATS client packages) when it runs.
 */
import { Option, type Command } from 'commander';
import { TunnelscopeError } from '../errors.js';
import { choiceFlag, FLEET_STATS_FORMATS, FLEET_SUBMIT_FORMATS, MAX_COUNT, MAX_TIMER_SECONDS, numberFlag, UsageError } from './args.js';
import type { CliIo } from './io.js';
import { action, helpHint, type CliContext, type Subcommand } from './program.js';
import { natsAuthOptions } from './fleet-options.js';

function child(parent: Command, ctx: CliContext, group: string, name: string, summary: string): Command {
  const full = `${group} ${name}`;
  return parent
    .command(name)
    .description(summary)
    .allowExcessArguments(false)
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
      outputError: (s, write) => write(`tunnelscope ${full}: ${s.replace(/^error: /, '').trimEnd()}\n${helpHint(full)}\n`),
    });
}

function group(program: Command, ctx: CliContext, name: string, summary: string): Command {
  return program
    .command(name)
    .description(summary)
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
      outputError: (s, write) => write(`tunnelscope ${name}: ${s.replace(/^error: /, '').trimEnd()}\n${helpHint(name)}\n`),
    });
}

/** Run a fleet action: a TunnelscopeError (cannot connect, NATS refused) is one line and exit 2. */
async function guarded(io: CliIo, name: string, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof TunnelscopeError) {
      io.stderr.write(`tunnelscope ${name}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

/** `--nats URL` (required) and the credentials and TLS options that go with it. */
function addNats(c: Command): Command {
  c.addOption(new Option('--nats <URL>', 'NATS server(s) (nats://host:4222 or tls://host:4222, comma-separated)').makeOptionMandatory(true));
  for (const o of natsAuthOptions()) c.addOption(o);
  return c;
}

export const listsCommand: Subcommand = {
  name: 'lists',
  define(program: Command, ctx: CliContext): Command {
    const g = group(program, ctx, 'lists', "a gateway fleet's lists (NATS JetStream object store)");
    addNats(child(g, ctx, 'lists', 'publish', 'validate list files and publish them as the fleet snapshot (one new revision)'))
      .option('--bucket <NAME>', 'object-store bucket (default tunnelscope-lists)')
      .option('--registered <FILE>', "registration list: lines 'CIDR,registrant'")
      .option('--vpn-endpoints <FILE>', "operator VPN endpoint list: lines 'CIDR[,label]'")
      .option('--vpn-domains <FILE>', "VPN-provider domain list: lines 'domain[,provider]' (with the bundled list)")
      .option('--no-default-domains', 'the domain list without the bundled data/vpn-domains.txt')
      .option('--publisher <NAME>', 'who publishes (stored in the snapshot; default: the host name)')
      .addHelpText(
        'after',
        `
Every file is read and checked first; a bad line is reported as 'file:line: reason' (every bad file is named)
and nothing is published (exit 2). Lists not named are kept from the current snapshot; a first snapshot gets the
bundled domain list. The new revision number is what every sensor's records carry as listVersion. Prints one
JSON line: {bucket, revision, basedOn, carried, entries, bytes}.

Example:
  tunnelscope lists publish --nats nats://10.0.0.5:4222 --registered registered.txt
`,
      )
      .action(
        action(ctx, 'lists publish', async (opts: { nats: string; bucket?: string; registered?: string; vpnEndpoints?: string; vpnDomains?: string; defaultDomains: boolean; publisher?: string }) =>
          guarded(ctx.io, 'lists publish', async () => (await import('./fleet-run.js')).listsPublish(opts, ctx.io)),
        ),
      );
    return g;
  },
};

export const fleetCommand: Subcommand = {
  name: 'fleet',
  define(program: Command, ctx: CliContext): Command {
    const g = group(program, ctx, 'fleet', 'read the records of a gateway fleet; spread capture files over workers (NATS JetStream)');
    addNats(child(g, ctx, 'fleet', 'stats', 'counts per label, VPN protocol, registrant, sensor and list version from the records stream'))
      .option('--stream <S>', 'records stream (default TUNNELSCOPE_RECORDS)')
      .option('--filter <SUBJECT>', "subjects to read (default 'tunnelscope.records.*': every sensor's records)")
      .option('--since <T>', 'only records stored since T: an ISO time or a duration back from now (15m, 2h, 7d)')
      .option('--list-version <N>', 'only records whose listVersion is at least N (e.g. since the list changed)')
      .option('--durable <NAME>', 'read through this durable consumer: a later run with the same name goes on where this one stopped')
      .option('--format <F>', 'table (counts on stdout), json (counts as one document), ndjson (the merged records on stdout, counts on stderr); default table')
      .addHelpText('after', '\nExample:\n  tunnelscope fleet stats --nats nats://10.0.0.5:4222 --since 2h --format table\n')
      .action(
        action(ctx, 'fleet stats', async (opts: { nats: string; stream?: string; filter?: string; since?: string; listVersion?: string; durable?: string; format?: string }) => {
          const format = choiceFlag('format', opts.format, FLEET_STATS_FORMATS, 'table');
          return guarded(ctx.io, 'fleet stats', async () => (await import('./fleet-run.js')).fleetStats({ ...opts, format }, ctx.io));
        }),
      );
    addNats(child(g, ctx, 'fleet', 'submit', 'put capture files on the work queue (one job each) for `fleet work` processes'))
      .argument('<file...>', 'captures (paths every worker can open); a directory seen here is walked for the captures in it')
      .option('--one-trace', 'the captures (files and directories) are pieces of one recording (tcpdump -G/-C, a dumpcap ring buffer): one job, read as one trace in the order of their first packets, as classify --one-trace')
      .option('--batch <ID>', 'batch id, one per submission (default: a new one); job ids are <batch>-<n>')
      .option('--wait', 'wait until every job is done or has failed, report each; exit 1 if any failed')
      .option('--timeout <S>', 'with --wait: stop waiting after S seconds')
      .option('--format <F>', "with --wait: 'ndjson' prints the batch's merged records on stdout at the end")
      .addHelpText(
        'after',
        `
--one-trace: this machine lists the pieces (directories walked, captures found by content) and orders them by
their first packet's time, so it must see them under the paths the workers see; every delivery of the job reads
the same pieces. A piece that cannot be read here is reported and the rest submitted (exit 2); a worker that
cannot open a piece gives the job back, and the last delivery reads the rest. With --wait, what the worker had
to say (a corrupt piece, pieces that overlap) is printed, and a failed piece makes the exit code 2.

Examples:
  tunnelscope fleet submit --nats nats://10.0.0.5:4222 --wait /captures/*.pcap
  tunnelscope fleet submit --nats nats://10.0.0.5:4222 --wait --one-trace /var/spool/tcpdump/
`,
      )
      .action(
        action(ctx, 'fleet submit', async (files: string[], opts: { nats: string; oneTrace?: boolean; batch?: string; wait?: boolean; timeout?: string; format?: string }) => {
          if (opts.oneTrace === true && files.includes('-')) throw new UsageError('--one-trace reads capture files; stdin is one stream already');
          // '-' went out as the file ./- that no worker has: a job is a path a worker opens, never this process's stdin.
          if (files.includes('-')) throw new UsageError("jobs are capture files workers open; stdin ('-') cannot be submitted (classify it here: tunnelscope classify -)");
          numberFlag('timeout', opts.timeout, { min: 1, max: MAX_TIMER_SECONDS });
          if (opts.format !== undefined) choiceFlag('format', opts.format, FLEET_SUBMIT_FORMATS, 'ndjson');
          if (opts.format !== undefined && !opts.wait) throw new UsageError('--format needs --wait');
          if (opts.batch !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(opts.batch)) throw new UsageError('--batch must be 1-64 letters, digits, _ or -');
          const format = opts.format === 'ndjson' ? 'ndjson' : 'none';
          return guarded(ctx.io, 'fleet submit', async () => (await import('./fleet-run.js')).fleetSubmit(files, { ...opts, format }, ctx.io));
        }),
      );
    addNats(child(g, ctx, 'fleet', 'work', 'take capture jobs, classify each file, publish its records, ack; until stopped'))
      .option('--id <ID>', "worker id (a sensor id: in every record it publishes; default: the host name)")
      .option('--lists-from [BUCKET]', 'the fleet snapshot as lists, following new revisions (default bucket tunnelscope-lists)')
      .option('--registered <FILE>', "registration list (without --lists-from)")
      .option('--vpn-endpoints <FILE>', 'operator VPN endpoint list (without --lists-from)')
      .option('--vpn-domains <FILE>', 'VPN-provider domain list (without --lists-from)')
      .option('--no-default-domains', 'do not load the bundled data/vpn-domains.txt (without --lists-from)')
      .option('--ack-wait <S>', 'a job silent this long goes to another worker (default 30; used when the shared consumer is created)')
      .option('--max-deliver <N>', 'deliveries of one job at most (default 3; used when the shared consumer is created)')
      .option('--max-jobs <N>', 'stop after N jobs')
      .option('--idle-exit <S>', 'stop when no job came for S seconds')
      .addHelpText('after', '\nSIGINT/SIGTERM: finish (or give back) the job in hand, then stop.\n')
      .action(
        action(ctx, 'fleet work', async (opts: { nats: string; id?: string; listsFrom?: string | true; registered?: string; vpnEndpoints?: string; vpnDomains?: string; defaultDomains: boolean; ackWait?: string; maxDeliver?: string; maxJobs?: string; idleExit?: string }) => {
          if (opts.id !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(opts.id)) throw new UsageError('--id must be 1-64 letters, digits, _ or -');
          numberFlag('ack-wait', opts.ackWait, { min: 1, max: MAX_TIMER_SECONDS });
          numberFlag('max-deliver', opts.maxDeliver, { min: 1, max: MAX_COUNT, integer: true });
          numberFlag('max-jobs', opts.maxJobs, { min: 1, max: MAX_COUNT, integer: true });
          numberFlag('idle-exit', opts.idleExit, { min: 0, max: MAX_TIMER_SECONDS });
          if (opts.listsFrom !== undefined && (opts.registered ?? opts.vpnEndpoints ?? opts.vpnDomains) !== undefined) throw new UsageError('--lists-from replaces the list files');
          // As classify: the first SIGINT/SIGTERM asks for a stop (the job in hand is finished), a second exits at once.
          const { StopFlag, stopOnSignals } = await import('./live.js');
          const stop = new StopFlag();
          const control = stopOnSignals(ctx.io, 'fleet work', stop);
          try {
            return await guarded(ctx.io, 'fleet work', async () => (await import('./fleet-run.js')).fleetWork(opts, ctx.io, stop.controller.signal));
          } finally {
            control?.dispose();
          }
        }),
      );
    return g;
  },
};
