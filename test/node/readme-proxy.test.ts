/**
 * The README's node examples, run as written against the built package (`import … from 'tunnelscope'` resolves to
 * dist/ through the package's own exports). The TCP proxy serves forever, so it runs in a child process with only
 * its constants substituted (list path, ports, timeouts), and real clients check what it promises: ordinary
 * traffic reaches the upstream intact, a ClientHello to a listed VPN name is refused (also sent 1 byte + rest), a
 * silent client is refused at the timeout, and an idle connection is closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { cut, httpRequest, sendSegments, sleep, tlsHello } from './helpers.js';
import { example, ROOT } from '../helpers/readme.js';

/** Replace `from` (which must occur exactly once) by `to`. */
function sub(code: string, from: string, to: string): string {
  expect(code.split(from).length - 1, `README example holds ${JSON.stringify(from)} once`).toBe(1);
  return code.replace(from, to);
}

let dir = '';
beforeAll(() => {
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  dir = mkdtempSync(join(ROOT, '.cache', 'readme-node-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A client: send `parts`, then read until the proxy closes; resolves what came back and how long it took. */
async function talk(port: number, parts: Uint8Array[], pauses: number[] = [], end = false): Promise<{ data: Buffer; ms: number }> {
  const t0 = performance.now();
  const c = await sendSegments('127.0.0.1', port, parts, pauses, end ? 'end' : 'wait');
  const chunks: Buffer[] = [];
  c.on('data', (d: Buffer) => chunks.push(d));
  await once(c, 'close');
  return { data: Buffer.concat(chunks), ms: performance.now() - t0 };
}

describe('README: the node-proxy example', () => {
  let proxy: ChildProcess | undefined;
  let upstream: net.Server | undefined;
  let port = 0;
  const logs: string[] = [];
  beforeAll(async () => {
    // The upstream: echoes with a prefix, so the client can tell it went through.
    upstream = net.createServer((s) => {
      s.on('error', () => {});
      s.on('data', (d: Buffer) => s.write(Buffer.concat([Buffer.from('UP:'), d])));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    let code = example('node-proxy');
    code = sub(code, "path: 'registered.txt'", `path: ${JSON.stringify(join(ROOT, 'fixtures', 'sample-registered.txt'))}`);
    code = sub(code, 'const IDLE_MS = 5 * 60_000;', 'const IDLE_MS = 600;');
    code = sub(code, 'firstBytesTimeoutMs: 2000', 'firstBytesTimeoutMs: 400');
    code = sub(code, "net.connect(8080, '127.0.0.1')", `net.connect(${(upstream.address() as net.AddressInfo).port}, '127.0.0.1')`);
    code = sub(code, 'server.listen(3128);', "server.listen(0, '127.0.0.1', function () { console.log('PORT', this.address().port); });");
    const file = join(dir, 'proxy.mjs');
    writeFileSync(file, code);
    proxy = spawn(process.execPath, [file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    proxy.stdout!.setEncoding('utf8');
    port = await new Promise<number>((res, rej) => {
      proxy!.stdout!.on('data', (d: string) => {
        for (const line of d.split('\n').filter(Boolean)) {
          logs.push(line);
          if (line.startsWith('PORT ')) res(Number(line.slice(5)));
        }
      });
      proxy!.on('exit', (c) => rej(new Error(`proxy exited ${c}`)));
    });
  });
  afterAll(async () => {
    proxy?.kill();
    upstream?.close();
  });

  it('forwards an ordinary request intact, and closes the connection once idle', async () => {
    const req = httpRequest('example.org');
    const r = await talk(port, cut(req, [3, 20]), [0, 30, 30]);
    expect(r.data.toString('latin1')).toContain('UP:');
    expect(Buffer.concat([...r.data.toString('latin1').split('UP:').filter(Boolean).map((x) => Buffer.from(x, 'latin1'))]).equals(Buffer.from(req))).toBe(true);
    // Nothing more was sent either way: the proxy's idle timeout (600 ms here) closed it.
    expect(r.ms).toBeGreaterThanOrEqual(550);
    expect(r.ms).toBeLessThan(5000);
  });

  it('refuses a ClientHello to a listed VPN name, whole or as 1 byte then the rest', async () => {
    const hello = tlsHello('us1.nordvpn.com');
    for (const parts of [[hello], cut(hello, [1])]) {
      const r = await talk(port, parts, [0, 150]);
      expect(r.data.length).toBe(0);
    }
    await sleep(50);
    expect(logs.filter((l) => l.startsWith('refused') && l.includes('unregistered_vpn'))).toHaveLength(2);
  });

  it('refuses a client that stays silent (undecided) at the timeout; nothing reaches the upstream', async () => {
    const r = await talk(port, []);
    expect(r.data.length).toBe(0);
    expect(r.ms).toBeGreaterThanOrEqual(350);
    await sleep(50);
    expect(logs.some((l) => l.startsWith('refused') && l.includes('undecided silent'))).toBe(true);
  });
});

describe('README: the node-udp example', () => {
  it('runs as written and prints what its comment says', () => {
    const file = join(dir, 'udp.mjs');
    writeFileSync(file, example('node-udp'));
    const out = execFileSync(process.execPath, [file], { encoding: 'utf8', cwd: ROOT, timeout: 20_000 }).trim().split('\n');
    expect(out).toEqual(['127.0.0.1 registered_vpn wireguard dst']);
  });
});

describe('README: the node-udp-pool example', () => {
  it('runs as written and prints what its comment says (the verdict comes from the pool\'s worker)', () => {
    const file = join(dir, 'udp-pool.mjs');
    writeFileSync(file, example('node-udp-pool'));
    const out = execFileSync(process.execPath, [file], { encoding: 'utf8', cwd: ROOT, timeout: 20_000 }).trim().split('\n');
    expect(out).toEqual(['127.0.0.1 ordinary']);
  });
});
