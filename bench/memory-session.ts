/**
 * Memory of one in-process classifier session (no worker threads) holding 1M live flows, with 1M registered
 * IPv4 prefixes loaded: peak RSS and heap+arrayBuffers after GC. The trace keeps every flow open (pool.bench's
 * liveFlowsTrace); run `npx tsx bench/memory-session.ts [flows] [maxCapturingFlows]` after `npm run build`.
 */
import { liveFlowsTrace, registeredPrefixes } from './pool.bench.js';
import { createClassifier, readCaptureFile } from '../src/index.js';

const flows = Number(process.argv[2] ?? 1_000_000);
const capturing = process.argv[3] ? Number(process.argv[3]) : undefined;
const trace = liveFlowsTrace(flows);
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const rss0 = process.memoryUsage().rss;
const registered = registeredPrefixes(1_000_000);
const c = createClassifier({ registered });
const s = c.session({ flow: { maxFlows: 1_000_000, ...(capturing ? { maxCapturingFlows: capturing } : {}) } });
let records = 0;
s.on('flow', () => records++);
let live = 0;
await readCaptureFile(trace, (p) => s.pushRaw(p));
live = s.liveFlows;
gc?.();
const m = process.memoryUsage();
const peak = process.resourceUsage().maxRSS / 1024;
s.end();
const peakAfterFlush = process.resourceUsage().maxRSS / 1024;
console.log(
  JSON.stringify({
    flows,
    capturing: capturing ?? 'default',
    liveFlows: live,
    records,
    baseRssMB: Math.round(rss0 / 2 ** 20),
    rssAt1MLiveFlowsMB: Math.round(m.rss / 2 ** 20),
    heapPlusBuffersMB: Math.round((m.heapUsed + m.arrayBuffers) / 2 ** 20),
    peakRssWhileLiveMB: Math.round(peak),
    peakRssInclEndFlushMB: Math.round(peakAfterFlush),
  }),
);
