/**
 * scripts/record/lib.sh itself: what its capture helpers promise the recorders (a packet sent just before
 * stop_capture is in the file; libpcap's block delivery used to drop up to the last second of a recording).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const LIB = resolve(import.meta.dirname, '..', '..', 'scripts', 'record', 'lib.sh');

describe('scripts/record/lib.sh', () => {
  it('capture … stop_capture keeps the datagrams sent right before the stop', (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-rec-lib-'));
    const port = 20000 + Math.floor(Math.random() * 40000);
    const script = `source "${LIB}" "$0"
need tcpdump
for k in 1 2 3; do
  capture "$OUT/c$k.pcap" lo "udp and port ${port}"
  echo tunnelscope-$k >/dev/udp/127.0.0.1/${port}
  stop_capture
  echo "$(tcpdump -r "$OUT/c$k.pcap" 2>/dev/null | wc -l)"
done`;
    const r = spawnSync('bash', ['-c', script, dir], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 77) ctx.skip(r.stderr.trim());
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n'), r.stderr).toEqual(['1', '1', '1']);
  });
});
