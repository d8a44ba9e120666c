/**
 * Built-ins that only some runs need (src/builtins.ts, and commander's child_process through the CLI bundle's
 * stand-in, tsup.config.ts) are loaded on first use: a fresh classify of a capture with no QUIC loads none of them,
 * nor does importing the library. When a run does need one (QUIC decryption, a worker pool), it works.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFrame } from '../../src/trace/frame-builder.js';
import { ovpnHandshake, pcapHeader, pcapRecord, tcpExchange, udpDatagram, wgHandshake } from '../helpers/pcap-feed.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'cli.cjs');

/** A capture of WireGuard, OpenVPN, TCP and random UDP flows, and no QUIC (whose decryption needs crypto). */
function noQuicCapture(): string {
  const specs = [...wgHandshake('10.0.0.1', '192.0.2.1', 40001, 1), ...ovpnHandshake('10.0.0.2', '192.0.2.2', 40002, 2), ...tcpExchange('10.0.0.3', '192.0.2.3', 40003, 3)];
  for (let k = 0; k < 20; k++) specs.push(udpDatagram('10.0.0.4', '192.0.2.4', 41000 + k, 50000, 10 + k));
  const parts = [pcapHeader(), ...specs.map((s, i) => pcapRecord(buildFrame(s), 1_700_000_000_000_000 + i * 1000))];
  const file = join(mkdtempSync(join(tmpdir(), 'ts-lazy-c-')), 'no-quic.pcap');
  writeFileSync(file, Buffer.concat(parts));
  return file;
}
const LAZY = ['crypto', 'http', 'net', 'dgram', 'dns', 'child_process', 'worker_threads'];

/** The public built-ins a node process loaded, from a preload that reads process.moduleLoadList at exit. */
function loaded(args: string[]): { status: number | null; modules: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'ts-lazy-'));
  const out = join(dir, 'modules.txt');
  const pre = join(dir, 'pre.cjs');
  writeFileSync(pre, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, process.moduleLoadList.join('\\n')));\n`);
  // stdout to a file (a pipe would load net for the stream itself), as a run writing records to a file does.
  const fd = openSync(join(dir, 'stdout'), 'w');
  const r = spawnSync(process.execPath, ['-r', pre, ...args], { stdio: ['ignore', fd, 'ignore'] });
  closeSync(fd);
  const modules = readFileSync(out, 'utf8').split('\n').filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  return { status: r.status, modules };
}

describe('built-ins a run does not need stay unloaded', () => {
  it('a fresh classify of a capture without QUIC', () => {
    const r = loaded([BIN, 'classify', noQuicCapture(), '--format', 'ndjson']);
    expect(r.status).toBe(0);
    expect(r.modules).toContain('fs'); // the probe sees built-ins at all
    expect(LAZY.filter((m) => r.modules.includes(m))).toEqual([]);
  });

  it('importing the library (ESM and CommonJS)', () => {
    const esm = loaded(['--input-type=module', '-e', `await import(${JSON.stringify(join(ROOT, 'dist', 'index.js'))}); await import(${JSON.stringify(join(ROOT, 'dist', 'node.js'))});`]);
    expect(esm.status).toBe(0);
    expect(LAZY.filter((m) => esm.modules.includes(m))).toEqual([]);
    const cjs = loaded(['-e', `require(${JSON.stringify(join(ROOT, 'dist', 'index.cjs'))}); require(${JSON.stringify(join(ROOT, 'dist', 'node.cjs'))});`]);
    expect(cjs.status).toBe(0);
    expect(LAZY.filter((m) => cjs.modules.includes(m))).toEqual([]);
  });

  it('loaded when needed: the synth command writes QUIC Initials (crypto), --workers 2 starts workers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-lazy-s-'));
    const trace = join(dir, 't.pcap');
    const s = loaded([BIN, 'synth', '--packets', '3000', '--flows', '200', '-o', trace]);
    expect(s.status).toBe(0);
    expect(s.modules).toContain('crypto');
    const w = loaded([BIN, 'classify', trace, '--workers', '2', '--format', 'ndjson']);
    expect(w.status).toBe(0);
    expect(w.modules).toContain('worker_threads');
  });
});
