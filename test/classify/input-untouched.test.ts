/**
 * The classifier reads the caller's bytes and never writes them. Found while checking that any worker count gives one
 * session's records (issue 18): QUIC header unprotection wrote into `b.slice(…)`, which for a Node Buffer is a view,
 * so a capture held in a Buffer (readFileSync, a dgram message) had its Initials rewritten by the first session that
 * read them, and a second session over the same bytes decided the flow at packet 8 instead of 1.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { synthesize } from '../../src/synth/generate.js';
import { readCaptureBuffer } from '../../src/trace/reader.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function classify(buf: Uint8Array): string[] {
  const s = createClassifier({ vpnDomains: [['nordvpn.com', 'NordVPN']] }).session();
  const recs: FlowRecord[] = [];
  s.on('flow', (r: FlowRecord) => recs.push(r));
  readCaptureBuffer(buf, 'x', (p) => s.pushRaw(p));
  s.end();
  return recs.map((r) => JSON.stringify(r));
}

describe('sessions never write to the bytes they are given', () => {
  const sample = readFileSync(join(resolve(import.meta.dirname, '..', '..'), 'fixtures', 'sample.pcap'));
  const synth = (() => {
    const parts: Uint8Array[] = [];
    synthesize({ packets: 4000, flows: 150, vpnShare: 0.3, registeredShare: 0.5, seed: 18 }, (c) => parts.push(Uint8Array.from(c)));
    return Buffer.concat(parts);
  })();
  for (const [name, buf] of [['fixtures/sample.pcap', sample], ['a synthetic trace (QUIC, TLS, DNS, VPNs)', synth]] as const) {
    it(`${name}, held in a Buffer: unchanged, and a second session gives the same records`, () => {
      expect(Buffer.isBuffer(buf)).toBe(true);
      const before = sha(buf);
      const first = classify(buf);
      expect(sha(buf)).toBe(before);
      expect(classify(buf)).toEqual(first);
    });
  }
});
