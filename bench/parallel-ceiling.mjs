// How much can 2 threads gain on this machine at all? Runs the in-process classifier session over a trace once
// alone, then twice at the same time in two independent processes, and prints the aggregate ratio. Needs dist/
// (npm run build) and a trace (default: the perf-recipe trace that `npm run bench` caches in .cache/).
//   node bench/parallel-ceiling.mjs [trace.pcap]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const trace = process.argv[2] ?? new URL('../.cache/synth-2000000-50000-1.pcap', import.meta.url).pathname;

if (process.argv[3] === '--child') {
  const { createClassifier, readCaptureFile } = await import(new URL('../dist/index.js', import.meta.url).href);
  const s = createClassifier().session();
  s.on('flow', () => {});
  let n = 0;
  const t0 = performance.now();
  await readCaptureFile(trace, (p) => { n++; s.pushRaw(p); });
  s.end();
  process.stdout.write(String(n / ((performance.now() - t0) / 1000)));
} else {
  const one = () => new Promise((resolve) => {
    let out = '';
    const c = spawn(process.execPath, [here, trace, '--child']);
    c.stdout.on('data', (d) => (out += d));
    c.on('close', () => resolve(Number(out)));
  });
  const alone = await one();
  const [a, b] = await Promise.all([one(), one()]);
  console.log(`alone: ${Math.round(alone)} packets/s; two at once: ${Math.round(a)} + ${Math.round(b)} packets/s; aggregate ratio ${((a + b) / alone).toFixed(2)}×`);
}
