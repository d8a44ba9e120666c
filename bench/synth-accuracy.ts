/**
 * Recall / FPR / registrant / time-to-verdict of the built CLI on a synthetic trace (the perf recipe: vpn-share
 * 0.24, registered-share 0.5), the same measure `npm run bench` reports, without the throughput runs.
 * Run: `npx tsup --silent && node --import tsx bench/synth-accuracy.ts [packets] [flows] [seed]` (default 200000 5000 1).
 */
import { accuracy, synthTrace } from './classify.bench.js';

const [packets = 200_000, flows = 5_000, seed = 1] = process.argv.slice(2).map(Number);
console.log(JSON.stringify(accuracy(synthTrace(packets, flows, seed, true))));
