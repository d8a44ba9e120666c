/**
 * Why RecordPublisher does not use `js.publish`: the client's JetStream publish (one request, timer and promise per
 * message) against a core publish with a reply subject on one wildcard inbox subscription (what RecordPublisher
 * does), same messages (~700-byte record bodies with a Nats-Msg-Id header), 256 in flight, alternating rounds in
 * one process, against a local nats-server.
 *
 *   node --import tsx bench/nats-publish-micro.ts [--messages 20000] [--rounds 3]
 */
import { createInbox, headers } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../src/nats/index.js';
import { startNatsServer } from '../test/helpers/nats-server.js';

const argv = process.argv.slice(2);
const arg = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const N = arg('messages', 20_000);
const ROUNDS = arg('rounds', 3);
const W = 256;

const server = await startNatsServer();
const nc = await connectNats(server.url);
try {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BENCH', subjects: ['bench.>'] });
  const js = jetstream(nc);
  const body = JSON.stringify({
    transport: 'udp', src: '10.0.0.1:40000', dst: '192.0.2.1:51820', label: 'ordinary', protocol: null, confidence: 0.9,
    registrant: null, evidence: [{ source: 'x', rule: 'y', reason: 'z'.repeat(400) }], packets: 2, bytes: 240,
    firstSeen: '2026-12-05T10:00:00.000000Z', lastSeen: '2026-12-05T10:01:00.000000Z', listVersion: 1, decidedAtPacket: 2, sensor: 's',
  });
  console.log(`# js.publish vs core publish + inbox: ${N} messages of ${body.length} bytes, ${W} in flight, node ${process.version}`);
  for (let round = 0; round < ROUNDS; round++) {
    let t0 = performance.now();
    let inflight = 0, i = 0, done = 0;
    await new Promise<void>((res) => {
      const pump = (): void => {
        while (inflight < W && i < N) {
          const k = i++;
          inflight++;
          void js.publish('bench.a', body, { msgID: `a${round}-${k}` }).then(() => {
            inflight--;
            if (++done === N) res();
            else pump();
          });
        }
      };
      pump();
    });
    const tA = performance.now() - t0;
    const inbox = createInbox();
    let got = 0;
    i = 0;
    inflight = 0;
    t0 = performance.now();
    await new Promise<void>((res) => {
      const pump = (): void => {
        while (inflight < W && i < N) {
          const k = i++;
          inflight++;
          const h = headers();
          h.set('Nats-Msg-Id', `b${round}-${k}`);
          nc.publish('bench.b', body, { reply: `${inbox}.${k}`, headers: h });
        }
      };
      const sub = nc.subscribe(`${inbox}.*`, {
        callback: (_e, m) => {
          m.json();
          inflight--;
          if (++got === N) {
            sub.unsubscribe();
            res();
          } else pump();
        },
      });
      pump();
    });
    const tB = performance.now() - t0;
    console.log(`round ${round + 1}: js.publish ${((N / tA) * 1000).toFixed(0)}/s, core publish + inbox ${((N / tB) * 1000).toFixed(0)}/s (${(tA / tB).toFixed(2)}x)`);
  }
} finally {
  await nc.close();
  await server.close();
}
