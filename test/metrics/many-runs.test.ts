/**
 * An embedder makes one RunMetrics per run (a job, a capture) and drops it. Found by creating 3000 in a loop: each
 * started its own prom-client GC observer and event-loop-delay monitor, which are never stopped, so every dropped
 * run stayed reachable (~27 KB each: +81 MB after 3000) and each GC called 3000 observers. The process metrics are
 * now made once per process and registered in each run's registry.
 */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRunMetrics } from '../../src/metrics/index.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

describe('many RunMetrics, made and dropped', () => {
  it('leave nothing behind (heap after 2000 dropped runs, in a fresh process on the built package)', () => {
    const door = pathToFileURL(join(ROOT, 'dist', 'metrics.js')).href;
    const script = `
      const { createRunMetrics } = await import(${JSON.stringify(door)});
      createRunMetrics(); gc(); const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < 2000; i++) createRunMetrics().verdict({ label: 'ordinary', protocol: null, decidedAtPacket: 1 });
      gc(); await new Promise((r) => setTimeout(r, 20)); gc();
      console.log(process.memoryUsage().heapUsed - before);`;
    const grew = Number(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' }));
    expect(grew).toBeLessThan(4e6); // was ~54 MB
  });

  it('every run still exports the process metrics, whatever its prefix', async () => {
    const a = await createRunMetrics().text();
    const b = await createRunMetrics({ prefix: 'other_' }).text();
    for (const t of [a, b]) {
      for (const name of ['process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) expect(t).toContain(`\n${name} `);
    }
    expect(await createRunMetrics({ processMetrics: false }).text()).not.toContain('process_cpu_seconds_total');
  });
});
