/**
 * Node built-ins that only some runs need, loaded on first use instead of when the package loads.
 *
 * A fresh `tunnelscope classify` loaded crypto, http, net, dns, dgram and worker_threads before its first packet,
 * although most runs decrypt no QUIC Initial, serve no metrics, export no IPFIX and start no worker; library
 * importers paid the same. With these (and commander's child_process, tsup.config.ts) loaded on first use, a
 * one-packet classify runs 4.9 % fewer instructions (bench/RESULTS.md, stop 28). `process.getBuiltinModule`
 * (Node ≥ 20.16, below the package's engines floor) loads a built-in synchronously from ES modules and CommonJS
 * alike, so one call site serves both builds and the hot path stays synchronous.
 */
interface Builtins {
  'node:crypto': typeof import('node:crypto');
  'node:http': typeof import('node:http');
  'node:dgram': typeof import('node:dgram');
  'node:dns': typeof import('node:dns');
  'node:net': typeof import('node:net');
  'node:worker_threads': typeof import('node:worker_threads');
}

const cache: { [K in keyof Builtins]?: Builtins[K] } = {};

/** The built-in `id`, loaded at the first call. */
export function builtin<K extends keyof Builtins>(id: K): Builtins[K] {
  return (cache[id] ??= process.getBuiltinModule(id) as Builtins[K])!;
}
