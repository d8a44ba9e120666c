/**
 * A real nats-server for tests: installed from Debian's package by scripts/ensure-tools.sh when missing, started
 * with JetStream on 127.0.0.1 and a port the server picks (`-p -1`, read back from its log) with a temporary store
 * directory, and stopped (directory removed) at the end. `restart()` stops and starts it again on the same port and
 * store, for tests that need a sensor's connection to break and come back.
 *
 * Debian installs the binary in /usr/sbin, which a non-root PATH often lacks: the sbin directories are appended to
 * PATH both for ensure-tools' own check and for the lookup here.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { onText } from './text-stream.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function searchPath(): string {
  const parts = (process.env.PATH ?? '').split(delimiter).filter((p) => p !== '');
  for (const d of SBIN) if (!parts.includes(d)) parts.push(d);
  return parts.join(delimiter);
}

function findOnPath(name: string, path: string): string | null {
  for (const d of path.split(delimiter)) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

let resolved: { bin: string | null; why: string } | undefined;

/** The nats-server binary (installing it if needed), or null with the reason it cannot be had. Cached. */
export function natsServerBinary(): { bin: string | null; why: string } {
  if (resolved) return resolved;
  const path = searchPath();
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'ensure-tools.sh'), 'nats-server'], {
    env: { ...process.env, PATH: path },
    encoding: 'utf8',
    timeout: 20 * 60_000,
  });
  const bin = findOnPath('nats-server', path);
  resolved = bin
    ? { bin, why: '' }
    : { bin: null, why: `nats-server is not installed and could not be installed (${(r.stderr || r.stdout || '').trim().split('\n').pop() ?? 'ensure-tools failed'})` };
  return resolved;
}

export interface NatsServer {
  /** The nats-server binary. */
  readonly bin: string;
  /** `nats://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** Stop the server (SIGTERM, then SIGKILL after 5 s); the store directory stays until `close()`. */
  stop(): Promise<void>;
  /** Start it again on the same port and store directory. */
  start(): Promise<void>;
  /** Stop and remove the store directory. */
  close(): Promise<void>;
}

function launch(bin: string, port: number, storeDir: string, extraArgs: readonly string[]): Promise<{ proc: ChildProcess; port: number }> {
  return new Promise((resolvePromise, reject) => {
    const js = extraArgs.includes('--no-jetstream') ? [] : ['-js'];
    const args = ['-a', '127.0.0.1', '-p', String(port), '-sd', storeDir, '--http_port', '0', ...extraArgs.filter((a) => a !== '--no-jetstream')];
    const proc = spawn(bin, [...js, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    let listenPort = -1;
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`nats-server did not become ready in 30 s:\n${log}`));
    }, 30_000);
    const onData = (b: string): void => {
      log += b;
      if (log.length > 100_000) log = log.slice(-50_000);
      const m = /Listening for client connections on [^\s]*:(\d+)/.exec(log);
      if (m) listenPort = Number(m[1]);
      if (listenPort > 0 && log.includes('Server is ready')) {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        proc.stderr!.off('data', onData);
        // Keep draining so a chatty server never blocks on a full pipe.
        proc.stdout!.resume();
        proc.stderr!.resume();
        resolvePromise({ proc, port: listenPort });
      }
    };
    onText(proc.stdout!, onData);
    onText(proc.stderr!, onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with code ${code}:\n${log}`));
    });
  });
}

/**
 * Start a JetStream-enabled server on 127.0.0.1 and a free port, storing in a new temporary directory. `extraArgs`
 * go on its command line after ours (`-c FILE` for an authorization block, `--tls …`); `--no-jetstream` among
 * them starts it without JetStream (an operator's plain server).
 */
export async function startNatsServer(extraArgs: readonly string[] = []): Promise<NatsServer> {
  const { bin, why } = natsServerBinary();
  if (!bin) throw new Error(why);
  const storeDir = mkdtempSync(join(tmpdir(), 'tunnelscope-nats-'));
  let { proc, port } = await launch(bin, -1, storeDir, extraArgs);
  let running: ChildProcess | null = proc;
  // A test process that dies without close() must not leave a server behind.
  process.once('exit', () => running?.kill('SIGKILL'));
  const stop = async (): Promise<void> => {
    const p = running;
    running = null;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  return {
    bin,
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    storeDir,
    stop,
    async start() {
      if (running) return;
      ({ proc, port } = await launch(bin, port, storeDir, extraArgs));
      running = proc;
    },
    async close() {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
