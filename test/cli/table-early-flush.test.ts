/**
 * classify's table flushed after its first row (a live run's timed flush: stdout a pipe, rows trickling in): the
 * columns whose values are known in advance (labels, protocol names, IPv4 endpoints) must not widen at a later
 * row, or the rows above no longer line up under the header.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CLASSIFY_FORMATS } from '../../src/cli/records.js';
import { OutputSink } from '../../src/cli/output.js';
import type { FlowRecord } from '../../src/classify/record.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

function rec(label: FlowRecord['label'], protocol: string | null, src: string, dst: string): FlowRecord {
  return {
    transport: 'tcp', src, dst, label, protocol, confidence: 0.7, registrant: label === 'registered_vpn' ? 'org-1' : null, evidence: [],
    packets: 3, bytes: 300,
  } as unknown as FlowRecord;
}

describe('classify --format table flushed early', () => {
  it('rows before and after the flush start every column at the header\'s offsets', async () => {
    const s = new Sink();
    const sink = new OutputSink(s);
    const fmt = CLASSIFY_FORMATS.find((f) => f.name === 'table')!;
    const w = fmt.open(sink, { io: { stdout: s as never, stderr: s as never, stdin: process.stdin } as never, meta: {} as never, live: true });
    w.record(rec('ordinary', null, '10.0.0.1:1', '10.0.0.2:2'));
    w.flush?.();
    w.record(rec('unregistered_vpn', 'tls-vpn-provider', '192.168.100.145:49210', '203.113.124.166:65535'));
    w.record(rec('registered_vpn', 'cloudflare-warp', '10.34.102.91:58742', '89.247.124.66:443'));
    w.end?.({} as never);
    await sink.end();
    const lines = s.text.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    // Where each header word starts; in every row, the cell before it ends with a blank right before that offset.
    const header = lines[0]!;
    const starts = ['PROTOCOL', 'CONF', 'L4', 'SRC', 'DST', 'PKTS', 'BYTES', 'REGISTRANT', 'EVIDENCE'].map((h) => header.indexOf(h));
    for (const line of lines.slice(1)) {
      for (const at of starts.filter((_, i) => i !== 0 && i !== 4 && i !== 5)) expect(line[at - 1], `${line} @${at}`).toBe(' ');
      // Left-aligned columns: the cell starts right at the header's offset.
      for (const at of [starts[0]!, starts[2]!, starts[3]!, starts[4]!]) expect(line[at], `${line} @${at}`).not.toBe(' ');
    }
  });
});
