/**
 * The NATS client packages, loaded on first use. They are optional peer dependencies of tunnelscope: the core
 * library, the CLI's other commands and `npm start` never load them, and importing `tunnelscope/nats` works
 * without them — the first call that needs NATS fails with a {@link NatsMissingError} that says what to install.
 */
import type * as Transport from '@nats-io/transport-node';
import type * as JetStream from '@nats-io/jetstream';
import type * as Obj from '@nats-io/obj';
import { TunnelscopeError } from '../errors.js';

export interface NatsModules {
  transport: typeof Transport;
  jetstream: typeof JetStream;
  obj: typeof Obj;
}

/** The packages tunnelscope/nats needs, with the versions it is tested with. */
export const NATS_PACKAGES = ['@nats-io/transport-node@^3.4.0', '@nats-io/jetstream@^3.4.0', '@nats-io/obj@^3.4.0'] as const;

/** The optional NATS client packages are not installed. Code `TS_NATS_MISSING`. */
export class NatsMissingError extends TunnelscopeError {
  constructor(missing: string, options?: { cause?: unknown }) {
    super(
      'TS_NATS_MISSING',
      `NATS support needs the optional packages ${NATS_PACKAGES.join(' ')} (cannot load ${missing}); install them beside tunnelscope: npm install ${NATS_PACKAGES.join(' ')}`,
      options,
    );
  }
}

let loading: Promise<NatsModules> | undefined;

async function load<T>(name: string, get: () => Promise<T>): Promise<T> {
  try {
    return await get();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new NatsMissingError(name, { cause: e });
    throw e;
  }
}

/**
 * Load the NATS client packages (once).
 * @throws {NatsMissingError} a package is not installed
 */
export function loadNatsModules(): Promise<NatsModules> {
  loading ??= (async () => ({
    transport: await load('@nats-io/transport-node', () => import('@nats-io/transport-node')),
    jetstream: await load('@nats-io/jetstream', () => import('@nats-io/jetstream')),
    obj: await load('@nats-io/obj', () => import('@nats-io/obj')),
  }))();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
