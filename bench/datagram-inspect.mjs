/**
 * The UDP adapter's own cost per datagram, without a socket: `DatagramClassifier.inspect` over the datagram
 * flood's mix (bench/datagram-flood.ts: 22k source ports × 10 datagrams, interleaved; one port in five a WireGuard
 * handshake then transport data, the others random 64–511-byte payloads), in process on the built package.
 *
 *   npm run build && node bench/datagram-inspect.mjs [DIST_DIR] [--pool]
 *
 * Prints CPU µs per datagram for six passes, each with a fresh classifier (the first ones pay the JIT's warm-up).
 * DIST_DIR (default ../dist) lets two builds be compared in alternating runs. `--pool`: the adapter on a
 * ClassifierPool of one worker, and the figure is the calling thread's wall time per datagram (its share: the
 * headers and the copy into the pool's batches; process CPU would count the worker), with a queue that holds the
 * whole pass.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const pooled = args.includes('--pool');
const distArg = args.find((a) => !a.startsWith('--'));
const dist = pathToFileURL(resolve(distArg ?? new URL('../dist', import.meta.url).pathname)).href;
const { createClassifier, createClassifierPool } = await import(`${dist}/index.js`);
const { DatagramClassifier } = await import(`${dist}/node.js`);

let seed = 12345;
const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
};
const PORTS = 22_000, PER_PORT = 10;
const msgs = [];
for (let k = 0; k < PER_PORT; k++) {
  for (let p = 0; p < PORTS; p++) {
    let b;
    if (p % 5 === 0 && k === 0) {
      b = Buffer.alloc(148);
      b[0] = 1;
      b.writeUInt32LE(p, 4);
      for (let i = 8; i < 132; i++) b[i] = rnd() & 255; // mac2 zero: an initiator not under load
    } else if (p % 5 === 0) {
      b = Buffer.alloc(32 + 16 * (rnd() % 75));
      b[0] = 4;
      b.writeUInt32LE(p, 4);
      b.writeUInt32LE(k, 8);
      for (let i = 16; i < b.length; i++) b[i] = rnd() & 255;
    } else {
      b = Buffer.alloc(64 + (rnd() % 448));
      for (let i = 0; i < b.length; i++) b[i] = rnd() & 255;
    }
    msgs.push([b, { address: '127.0.0.1', port: 10_000 + p }]);
  }
}
const to = { address: '127.0.0.1', port: 5000 };
const lists = { registered: [['10.0.0.0/8', 'corp']] };
const classifier = pooled ? createClassifierPool({ workers: 1, ...lists }) : createClassifier(lists);
const out = [];
let verdicts = 0;
for (let pass = 0; pass < 6; pass++) {
  const dc = new DatagramClassifier(classifier, pooled ? { queueBytes: 1 << 30 } : {});
  dc.on('verdict', () => verdicts++);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const [m, from] of msgs) dc.inspect(m, from, to);
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  await dc.close();
  if (dc.stats.lost !== 0) throw new Error(`${dc.stats.lost} datagrams lost`);
  out.push((pooled ? (ms * 1000) / msgs.length : (c.user + c.system) / msgs.length).toFixed(2));
}
if (pooled) await classifier.close();
console.log(`${msgs.length} datagrams per pass, ${verdicts / 6} verdicts, ${pooled ? 'calling thread wall' : 'CPU'} µs per datagram: ${out.join(' ')}`);
