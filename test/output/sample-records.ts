/** The bundled sample capture classified as `tunnelscope classify fixtures/sample.pcap --registered fixtures/sample-registered.txt` does. */
import { join, resolve } from 'node:path';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { loadCidrList } from '../../src/lists/cidr-list.js';
import { readCaptureFileSync } from '../../src/trace/reader.js';
import { OUTPUT_FORMATS } from '../../src/output/index.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const SAMPLE_PCAP = join(ROOT, 'fixtures', 'sample.pcap');
export const SAMPLE_REGISTERED = join(ROOT, 'fixtures', 'sample-registered.txt');
export const GOLDEN_DIR = join(ROOT, 'fixtures', 'golden');
/** The #open/#close stamp of the golden Zeek log (the CLI writes the wall clock there). */
export const GOLDEN_TIME = Date.UTC(2026, 0, 1);

export async function sampleRecords(): Promise<FlowRecord[]> {
  const registered = (await loadCidrList({ path: SAMPLE_REGISTERED }, { source: 'fixtures/sample-registered.txt' })).toMap();
  const session = createClassifier({ registered, names: { registered: 'fixtures/sample-registered.txt' } }).session();
  const out: FlowRecord[] = [];
  session.on('flow', (r: FlowRecord) => out.push(r));
  readCaptureFileSync(SAMPLE_PCAP, (raw) => session.pushRaw(raw));
  session.end();
  return out;
}

/** Golden file of each record format, in GOLDEN_DIR. */
export const GOLDEN_FILES: Readonly<Record<string, string>> = {
  zeek: 'sample.conn.log',
  'zeek-json': 'sample.conn.json',
  eve: 'sample.eve.json',
  csv: 'sample.csv',
};

/** A whole log in one format, stamped with GOLDEN_TIME. */
export function render(format: string, records: readonly FlowRecord[]): string {
  const f = OUTPUT_FORMATS[format]!;
  return f.header({ time: GOLDEN_TIME }) + records.map((r) => f.record(r)).join('') + f.footer({ time: GOLDEN_TIME });
}
