/**
 * Byte-stable golden outputs of the bundled sample capture (fixtures/sample.pcap with fixtures/sample-registered.txt)
 * in every record format. `UPDATE_GOLDEN=1 npx vitest run test/output/golden.test.ts` rewrites them; the diff is
 * reviewed in the commit.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/classify/record.js';
import { OUTPUT_FORMATS } from '../../src/output/index.js';
import { GOLDEN_DIR, GOLDEN_FILES, render, sampleRecords } from './sample-records.js';

describe('golden outputs of the sample capture', () => {
  let records: FlowRecord[] = [];
  beforeAll(async () => {
    records = await sampleRecords();
  });

  it('covers every registered format', () => {
    expect(Object.keys(OUTPUT_FORMATS).sort()).toEqual(Object.keys(GOLDEN_FILES).sort());
  });

  it('the sample has what the formats must show: VPN and ordinary, registered, IPv6, portless (ESP)', () => {
    expect(records.length).toBe(40);
    expect(new Set(records.map((r) => r.label))).toEqual(new Set(['ordinary', 'registered_vpn', 'unregistered_vpn']));
    expect(records.some((r) => r.src.startsWith('['))).toBe(true);
    expect(records.some((r) => r.transport === 'esp')).toBe(true);
  });

  it.each(Object.entries(GOLDEN_FILES))('%s matches fixtures/golden/%s byte for byte', (format, file) => {
    const text = render(format, records);
    const path = join(GOLDEN_DIR, file);
    if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(path)) writeFileSync(path, text);
    expect(text).toBe(readFileSync(path, 'utf8'));
    // Pure: a second rendering gives the same bytes.
    expect(render(format, records)).toBe(text);
  });
});
