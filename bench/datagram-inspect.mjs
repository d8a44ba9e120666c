/**
 * The UDP adapter's own cost per datagram, without a socket: `DatagramClassifier.inspect` over the datagram
 * flood's mix (bench/datagram-flood.ts: 22k source ports × 10 datagrams, interleaved; one port in five a WireGuard
 * handshake then transport data, the others random 64–511-byte payloads), in process on the built package.
 *
 *   npm run build && node bench/datagram-inspect.mjs [DIST_DIR] [--pool] [--paced]
 *
 * Prints CPU µs per datagram for six passes, each with a fresh classifier (the first ones pay the JIT's warm-up).
 * DIST_DIR (default ../dist) lets two builds be compared in alternating runs.
 * `--pool`: the adapter on a ClassifierPool of one worker, with a queue that holds the whole pass.
 * `--paced`: 200 datagrams per 2 ms timer (~90 k/s here, half the ports), as a socket hands them over at a rate the
 * worker keeps up with. With either, the figure is the calling thread's busy time per datagram (event loop
 * utilisation, close() and every verdict's delivery included): process CPU would count the pool's worker, and
 * unpaced, a pool's calling thread outruns its worker and pays for batch buffers a paced one reuses.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const pooled = args.includes('--pool');
const paced = args.includes('--paced');
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
const PORTS = paced ? 11_000 : 22_000, PER_PORT = 10;
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
  const e0 = performance.eventLoopUtilization();
  if (paced) {
    for (let i = 0; i < msgs.length; ) {
      for (const end = Math.min(msgs.length, i + 200); i < end; i++) dc.inspect(msgs[i][0], msgs[i][1], to);
      await new Promise((r) => setTimeout(r, 2));
    }
  } else for (const [m, from] of msgs) dc.inspect(m, from, to);
  const c = process.cpuUsage(c0);
  await dc.close();
  const e = performance.eventLoopUtilization(e0);
  if (dc.stats.lost !== 0) throw new Error(`${dc.stats.lost} datagrams lost`);
  out.push((pooled || paced ? (e.active * 1000) / msgs.length : (c.user + c.system) / msgs.length).toFixed(2));
}
if (pooled) await classifier.close();
console.log(`${msgs.length} datagrams per pass${paced ? ' (paced)' : ''}, ${verdicts / 6} verdicts, ${pooled ? 'pool, ' : ''}${pooled || paced ? 'calling thread busy' : 'CPU'} µs per datagram: ${out.join(' ')}`);
