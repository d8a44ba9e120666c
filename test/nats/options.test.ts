/**
 * The fleet doors check their options before they touch the connection: a wrong value is a typed error naming it,
 * and a delay a Node timer cannot hold (over 2^31 - 1 ms: it would run every millisecond, a heartbeat or a re-read
 * of the object store each time) is refused.
 */
import { describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { createClassifier } from '../../src/classify/classifier.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { createJobWorker } from '../../src/nats/jobs.js';
import { watchFleetLists } from '../../src/nats/lists.js';

/** Never used: the options are checked first. */
const nc = {} as NatsConnection;
const classifier = createClassifier();

describe('fleet options', () => {
  it.each<[string, object, RegExp]>([
    ['ackWaitMs past a timer', { ackWaitMs: 1e10 }, /ackWaitMs must be a number in \[1, 2147483647\], got 10000000000/],
    ['ackWaitMs a string', { ackWaitMs: '30' }, /ackWaitMs .*got a string/],
    ['maxDeliver 0', { maxDeliver: 0 }, /maxDeliver must be an integer/],
    ['maxJobs 1.5', { maxJobs: 1.5 }, /maxJobs must be an integer/],
    ['idleExitMs NaN', { idleExitMs: NaN }, /idleExitMs .*got NaN/],
    ['idleExitMs past a timer', { idleExitMs: 1e300 }, /idleExitMs must be a number in \[0, 2147483647\], got 1e\+300/],
    ['no classifier', { classifier: null }, /classifier must be a Classifier/],
  ])('createJobWorker: %s', (_n, extra, want) => {
    expect(() => createJobWorker(nc, { id: 'w1', classifier, ...extra } as never)).toThrow(want);
    expect(() => createJobWorker(nc, { id: 'w1', classifier, ...extra } as never)).toThrow(InvalidArgumentError);
  });

  it('createJobWorker: options must be an object', () => {
    expect(() => createJobWorker(nc, null as never)).toThrow(/options must be an object, got null/);
  });

  it('watchFleetLists: checkIntervalMs past a timer, negative or a string is refused before the store is opened', async () => {
    await expect(watchFleetLists(nc, classifier, { checkIntervalMs: 3e9 })).rejects.toThrow(/checkIntervalMs must be a number in \[0, 2147483647\]/);
    await expect(watchFleetLists(nc, classifier, { checkIntervalMs: -5 })).rejects.toThrow(/checkIntervalMs/);
    await expect(watchFleetLists(nc, classifier, { checkIntervalMs: '1' as unknown as number })).rejects.toThrow(InvalidArgumentError);
  });
});
