/**
 * The UDP adapter's own cost per datagram, without a socket: `DatagramClassifier.inspect` over the datagram
 * flood's mix (bench/datagram-flood.ts: 22k source ports × 10 datagrams, interleaved; one port in five a WireGuard
 * handshake then transport data, the others random 64–511-byte payloads), in process on the built package.
 *
 *   npm run build && node bench/datagram-inspect.mjs [DIST_DIR]
 *
 * Prints CPU µs per datagram for six passes, each with a fresh classifier (the first ones pay the JIT's warm-up).
 * DIST_DIR (default ../dist) lets two builds be compared in alternating runs.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = pathToFileURL(resolve(process.argv[2] ?? new URL('../dist', import.meta.url).pathname)).href;
const { createClassifier } = await import(`${dist}/index.js`);
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
const classifier = createClassifier({ registered: [['10.0.0.0/8', 'corp']] });
const out = [];
for (let pass = 0; pass < 6; pass++) {
  const dc = new DatagramClassifier(classifier);
  dc.on('verdict', () => {});
  const c0 = process.cpuUsage();
  for (const [m, from] of msgs) dc.inspect(m, from, to);
  const c = process.cpuUsage(c0);
  dc.close();
  out.push(((c.user + c.system) / msgs.length).toFixed(2));
}
console.log(`${msgs.length} datagrams per pass, CPU µs per datagram: ${out.join(' ')}`);
