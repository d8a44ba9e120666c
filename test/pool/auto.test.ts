import { describe, expect, it } from 'vitest';
import { autoJobs, autoWorkers, BYTES_PER_EXTRA_WORKER, MAX_AUTO_WORKERS } from '../../src/pool/auto.js';

describe('autoWorkers: the documented rule', () => {
  it('one worker on one or two CPUs, whatever the input', () => {
    for (const cpus of [1, 2]) for (const bytes of [0, 1e6, 50 * BYTES_PER_EXTRA_WORKER, null]) expect(autoWorkers(bytes, cpus).workers).toBe(1);
    expect(autoWorkers(1e9, 2).reason).toMatch(/2 CPUs/);
  });
  it('more CPUs: one worker per BYTES_PER_EXTRA_WORKER of capture, at most CPUs - 1 and MAX_AUTO_WORKERS; 1 for stdin', () => {
    expect(autoWorkers(BYTES_PER_EXTRA_WORKER - 1, 16).workers).toBe(1);
    expect(autoWorkers(BYTES_PER_EXTRA_WORKER, 16).workers).toBe(2);
    expect(autoWorkers(3 * BYTES_PER_EXTRA_WORKER, 16).workers).toBe(4);
    expect(autoWorkers(100 * BYTES_PER_EXTRA_WORKER, 4).workers).toBe(3);
    expect(autoWorkers(100 * BYTES_PER_EXTRA_WORKER, 64).workers).toBe(MAX_AUTO_WORKERS);
    expect(autoWorkers(null, 64).workers).toBe(1);
  });
  it('autoJobs: 1 on two CPUs, else up to CPUs - 1 and the number of files', () => {
    expect(autoJobs(100, 2).workers).toBe(1);
    expect(autoJobs(100, 4).workers).toBe(3);
    expect(autoJobs(2, 16).workers).toBe(2);
  });
});
