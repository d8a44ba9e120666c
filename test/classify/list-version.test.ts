/**
 * Explicit list versions: a fleet (tunnelscope/nats) drives `listVersion` with the snapshot's revision, so the
 * same lists carry the same number on every machine. Versions only go forward: a number at or below the version
 * in force is refused and the old lists stay (two snapshots must never share a number).
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import { createClassifierPool } from '../../src/pool/index.js';
import { InvalidArgumentError } from '../../src/errors.js';

const workerUrl = pathToFileURL(join(resolve(import.meta.dirname, '..', '..'), 'dist', 'worker.js'));

describe('explicit list versions', () => {
  it('createClassifier and update take the version given', () => {
    const c = createClassifier({ registered: [['10.0.0.0/8', 'a']], version: 40 });
    expect(c.listVersion).toBe(40);
    expect(c.update({ registered: [['10.0.0.0/8', 'b']], version: 57 })).toBe(57);
    expect(c.lists.registered?.lookup('10.1.1.1')).toBe('b');
    // No version: the next number, as before.
    expect(c.update({ registered: [['10.0.0.0/8', 'c']] })).toBe(58);
  });

  it('a version at or below the one in force, or not a positive safe integer, is refused and nothing changes', () => {
    const c = createClassifier({ registered: [['10.0.0.0/8', 'a']], version: 10 });
    for (const v of [10, 9, 0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) {
      expect(() => c.update({ registered: [['10.0.0.0/8', 'x']], version: v })).toThrow(InvalidArgumentError);
    }
    expect(() => createClassifier({ version: 0 })).toThrow(InvalidArgumentError);
    expect(c.listVersion).toBe(10);
    expect(c.lists.registered?.lookup('10.1.1.1')).toBe('a');
  });

  it('a pool passes the version to every worker', async () => {
    const p = createClassifierPool({ workers: 2, workerUrl, registered: [['10.0.0.0/8', 'a']], version: 7 });
    try {
      expect(p.listVersion).toBe(7);
      expect(p.update({ registered: [['10.0.0.0/8', 'b']], version: 31 })).toBe(31);
      expect(await p.workerVersions()).toEqual([31, 31]);
    } finally {
      await p.close();
    }
  });
});
