/** Test helper: every message of a stream (or one subject filter) as parsed JSON, in stream order. */
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';

export async function readStreamRecords(nc: NatsConnection, stream: string, filter?: string): Promise<Array<Record<string, unknown>>> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const out: Array<Record<string, unknown>> = [];
  if (info.state.messages === 0) return out;
  const c = await jetstream(nc).consumers.get(stream, filter ? { filter_subjects: filter } : {});
  for (;;) {
    const m = await c.next({ expires: 2000 });
    if (m === null) break;
    out.push(m.json<Record<string, unknown>>());
    if (m.info.pending === 0) break;
  }
  return out;
}
