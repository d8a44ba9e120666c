/**
 * A fleet's NATS server with authentication and TLS, as operators run one (a real nats-server): a token server, and
 * a TLS server (our own CA, made by the real openssl) whose users are nkeys. Every command that talks to NATS takes
 * its credentials from files (`--nats-token-file`, `--nats-nkey`, `--nats-creds`) and its TLS trust from
 * `--nats-tls-ca`; without them the server refuses, and says so in one line. A URL's password or token is never
 * printed (it would end up in logs).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createUser } from '@nats-io/nkeys';
import { displayServer } from '../../src/nats/connect.js';
import { natsServerBinary, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { runCli } from './cli-helpers.js';

const nats = natsServerBinary();
if (!nats.bin) console.warn(`test/nats/auth: skipped: ${nats.why}`);

describe('displayServer', () => {
  it('hides a URL password or token, keeps the rest', () => {
    expect(displayServer('nats://alice:hunter2@10.0.0.5:4222')).toBe('nats://alice:***@10.0.0.5:4222');
    expect(displayServer('tls://s3cr3t@nats.example:4222')).toBe('tls://***@nats.example:4222');
    expect(displayServer('alice:pw@host:4222')).toBe('alice:***@host:4222');
    expect(displayServer('nats://10.0.0.5:4222')).toBe('nats://10.0.0.5:4222');
    expect(displayServer('nats://[::1]:4222')).toBe('nats://[::1]:4222');
  });
});

describe.skipIf(!nats.bin)(`NATS with a token, and with TLS and nkeys${nats.bin ? '' : ` (skipped: ${nats.why})`}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ts-nats-auth-'));
  const f = (name: string): string => join(dir, name);
  let tokenServer: NatsServer;
  let tlsServer: NatsServer;
  const TOKEN = 'fleet-token-7f3a9c';
  const user = createUser();

  beforeAll(async () => {
    writeFileSync(f('token'), `${TOKEN}\n`);
    writeFileSync(f('token.conf'), `authorization { token: "${TOKEN}" }\n`);
    const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=tunnelscope test CA');
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
    writeFileSync(f('seed.nk'), `${new TextDecoder().decode(user.getSeed())}\n`);
    writeFileSync(f('other.nk'), `${new TextDecoder().decode(createUser().getSeed())}\n`);
    writeFileSync(f('not-a-seed.nk'), 'hello\n');
    // A credentials file as nsc writes one: a user JWT (signed by an account key) and the user's seed. This server is
    // not in operator mode: it takes the nkey the seed signs with, which is what shows the file was read and used.
    const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const account = createAccount();
    const body = `${b64({ typ: 'JWT', alg: 'ed25519-nkey' })}.${b64({ jti: 'T', iat: 1, iss: account.getPublicKey(), name: 'sensor', sub: user.getPublicKey(), nats: { type: 'user', version: 2 } })}`;
    const jwt = `${body}.${Buffer.from(account.sign(new TextEncoder().encode(body))).toString('base64url')}`;
    writeFileSync(
      f('user.creds'),
      `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(user.getSeed())}\n------END USER NKEY SEED------\n`,
    );
    writeFileSync(
      f('tls.conf'),
      `tls { cert_file: "${f('server.pem')}", key_file: "${f('server.key')}" }\nauthorization { users = [ { nkey: "${user.getPublicKey()}" } ] }\n`,
    );
    writeFileSync(f('reg.txt'), '10.0.0.0/8,corp\n');
    tokenServer = await startNatsServer(['-c', f('token.conf')]);
    tlsServer = await startNatsServer(['-c', f('tls.conf')]);
  }, 60_000);
  afterAll(async () => {
    await tokenServer?.close();
    await tlsServer?.close();
  });

  const publish = (url: string, ...more: string[]) => runCli(['lists', 'publish', '--nats', url, '--bucket', 'auth-lists', '--registered', f('reg.txt'), ...more]);

  it('token from a file: lists publish and classify --publish get in; without it the server refuses, in one line', async () => {
    const ok = await publish(tokenServer.url, '--nats-token-file', f('token'));
    expect(ok.code, ok.err).toBe(0);
    expect(ok.err).toMatch(/published fleet revision \d+/);
    const run = await runCli(['classify', 'fixtures/sample.pcap', '--nats', tokenServer.url, '--nats-token-file', f('token'), '--publish', '--sensor', 'authed', '--quiet-records']);
    expect(run.code, run.err).toBe(0);
    expect(run.err).toMatch(/nats: 40 records published to "tunnelscope\.records\.authed" as sensor "authed"; none lost/);
    const refused = await publish(tokenServer.url);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/^tunnelscope lists publish: cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: .*authorization/im);
    expect(refused.err.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('a password or token in the URL never reaches stderr', async () => {
    const withPassword = await publish(tokenServer.url.replace('nats://', 'nats://alice:hunter2@'));
    expect(withPassword.code).toBe(2);
    expect(withPassword.err).toContain('nats://alice:***@127.0.0.1:');
    expect(withPassword.err).not.toContain('hunter2');
    const withToken = await publish(tokenServer.url.replace('nats://', 'nats://wrong-token-123@'));
    expect(withToken.code).toBe(2);
    expect(withToken.err).toContain('nats://***@127.0.0.1:');
    expect(withToken.err).not.toContain('wrong-token-123');
  }, 60_000);

  it('TLS with our CA and an nkey user: in; without the CA, with another nkey, or with a file that is not a seed: refused, saying why', async () => {
    const url = tlsServer.url.replace('nats://', 'tls://');
    const ok = await publish(url, '--nats-nkey', f('seed.nk'), '--nats-tls-ca', f('ca.pem'));
    expect(ok.code, ok.err).toBe(0);
    const creds = await publish(url, '--nats-creds', f('user.creds'), '--nats-tls-ca', f('ca.pem'));
    expect(creds.code, creds.err).toBe(0);
    const stats = await runCli(['fleet', 'stats', '--nats', url, '--nats-nkey', f('seed.nk'), '--nats-tls-ca', f('ca.pem'), '--format', 'json']);
    // No records stream on this server: a clear refusal, after getting in (not a connection error).
    expect(stats.err).not.toMatch(/cannot connect/);
    const noCa = await publish(url, '--nats-nkey', f('seed.nk'));
    expect(noCa.code).toBe(2);
    expect(noCa.err).toMatch(/cannot connect to NATS at tls:\/\/127\.0\.0\.1:\d+: .*(certificate|self.signed)/i);
    const stranger = await publish(url, '--nats-nkey', f('other.nk'), '--nats-tls-ca', f('ca.pem'));
    expect(stranger.code).toBe(2);
    expect(stranger.err).toMatch(/authorization/i);
    const notSeed = await publish(url, '--nats-nkey', f('not-a-seed.nk'), '--nats-tls-ca', f('ca.pem'));
    expect(notSeed.code).toBe(2);
    expect(notSeed.err).toMatch(/nkey seed file ".*not-a-seed\.nk" does not hold a seed/);
    const missing = await publish(url, '--nats-nkey', f('seed.nk'), '--nats-tls-ca', f('missing.pem'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read the TLS CA file ".*missing\.pem": ENOENT/);
  }, 60_000);

  it('a server without JetStream: every command says so in one line and exits 2 (it was an unexpected failure, exit 1)', async () => {
    const plain = await startNatsServer(['--no-jetstream']);
    try {
      const url = plain.url;
      const runs: string[][] = [
        ['lists', 'publish', '--nats', url, '--registered', f('reg.txt')],
        ['fleet', 'stats', '--nats', url],
        ['fleet', 'submit', '--nats', url, 'fixtures/sample.pcap'],
        ['fleet', 'work', '--nats', url, '--idle-exit', '1'],
        ['classify', 'fixtures/sample.pcap', '--nats', url, '--publish', '-q'],
        ['classify', 'fixtures/sample.pcap', '--nats', url, '--lists-from', '-q'],
        ['report', '--nats', url, '--out', f('fleet.html')],
      ];
      for (const argv of runs) {
        const r = await runCli(argv);
        expect(r.code, `${argv.join(' ')}: ${r.err}`).toBe(2);
        expect(r.err.trim(), argv.join(' ')).toMatch(/^tunnelscope [a-z ]+: NATS server has no JetStream \(start nats-server with -js, or enable jetstream in its configuration\): jetstream is not enabled$/);
      }
    } finally {
      await plain.close();
    }
  }, 120_000);

  it('usage: credentials options need --nats, one kind at a time, a certificate with its key', async () => {
    const cases: [string[], RegExp][] = [
      [['classify', 'fixtures/sample.pcap', '--nats-token-file', f('token')], /--nats-token-file needs --nats URL/],
      [['report', 'fixtures/sample.pcap', '--out', f('r.html'), '--nats-tls-ca', f('ca.pem')], /--nats-tls-ca needs --nats URL/],
      [['lists', 'publish', '--nats', tokenServer.url, '--registered', f('reg.txt'), '--nats-token-file', f('token'), '--nats-nkey', f('seed.nk')], /--nats-nkey and --nats-token-file are two kinds of credentials|--nats-token-file and --nats-nkey are two kinds/],
      [['fleet', 'stats', '--nats', tokenServer.url, '--nats-tls-cert', f('server.pem')], /--nats-tls-cert and --nats-tls-key go together/],
    ];
    for (const [argv, re] of cases) {
      const r = await runCli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(re);
    }
  }, 60_000);
});
