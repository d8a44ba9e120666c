/**
 * Lower layers never import higher ones. Each source folder (or top-level module) may import only the layers
 * listed for it here; a new folder must be added with its allowed layers, so the architecture stays a stated,
 * checked decision rather than whatever the imports drifted to.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', '..', 'src');

// Bottom: modules every layer may use (builtins: Node built-ins loaded on first use).
const BASE = ['text', 'errors', 'flow', 'builtins'];
const ALLOWED: Record<string, string[]> = {
  text: [],
  builtins: [],
  errors: ['text'],
  flow: [],
  ip: ['text', 'errors'],
  trie: ['errors', 'ip'],
  lists: ['errors', 'ip', 'trie', 'text'],
  trace: [...BASE, 'ip'],
  detect: [...BASE, 'ip'],
  classify: [...BASE, 'ip', 'trie', 'lists', 'trace', 'detect'],
  pool: [...BASE, 'ip', 'trie', 'lists', 'trace', 'detect', 'classify'],
  batch: [...BASE, 'ip', 'trie', 'lists', 'trace', 'detect', 'classify', 'pool'],
  synth: [...BASE, 'ip', 'trace'],
  // Record formats (Zeek, EVE, CSV): pure functions of flow records.
  output: [...BASE, 'ip', 'classify'],
  // IPFIX export: encoder (pure) and its UDP edge.
  ipfix: [...BASE, 'ip', 'classify', 'output'],
  // The HTML report: pure (records and metadata in, a string out); types from classify/ and detect/ only.
  report: [...BASE, 'classify', 'detect'],
  // The metrics door needs prom-client (an optional peer): only the CLI may load it, and only on --metrics.
  metrics: [...BASE, 'ip'],
  // nats only through dynamic import (fleet-options.ts, fleet.ts -> fleet-run.ts): see test/nats/optional.test.ts.
  cli: [...BASE, 'ip', 'trie', 'lists', 'trace', 'detect', 'classify', 'pool', 'batch', 'synth', 'report', 'output', 'ipfix', 'metrics', 'nats'],
  index: [...BASE, 'ip', 'trie', 'lists', 'trace', 'detect', 'classify', 'pool', 'batch', 'synth', 'output', 'ipfix'],
  // src/node.ts (the tunnelscope/node door) and src/node/ (the socket adapters) are one layer.
  node: [...BASE, 'ip', 'trie', 'lists', 'trace', 'detect', 'classify', 'pool'],
  // tunnelscope/nats: the fleet on NATS JetStream, its own door; nothing below it may import it.
  nats: [...BASE, 'ip', 'trie', 'lists', 'trace', 'detect', 'classify', 'pool'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Layer of a source file: its top folder under src/, or its basename for top-level modules. */
function layerOf(file: string): string {
  const rel = relative(SRC, file).split(sep);
  return rel.length > 1 ? rel[0]! : rel[0]!.replace(/\.ts$/, '');
}

describe('layering', () => {
  const all = files(SRC);
  it('every source folder has a stated place', () => {
    const unknown = [...new Set(all.map(layerOf))].filter((l) => !(l in ALLOWED));
    expect(unknown).toEqual([]);
  });
  it('no layer imports one it is not allowed to', () => {
    const bad: string[] = [];
    for (const f of all) {
      const from = layerOf(f);
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
        const target = layerOf(join(f, '..', m[1]!).replace(/\.js$/, '.ts'));
        if (target !== from && !ALLOWED[from]?.includes(target)) bad.push(`${relative(SRC, f)} imports ${m[1]} (${from} -> ${target})`);
      }
    }
    expect(bad).toEqual([]);
  });
});
