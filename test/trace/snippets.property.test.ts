/**
 * Payload snippets through both pool tiers (small for the first packets, full beyond): for random flows with
 * random payload packets, interleaved, every recorded packet's direction, wire length, stored bytes and content
 * equal what was pushed, for every packet index, at every step — including after a flow moved tiers. Some packets
 * are pushed twice in a row: the copy is not recorded (a mirror port's duplicate) and is counted as skipped.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FlowTable } from '../../src/trace/flow-table.js';
import type { FlowHandle } from '../../src/trace/types.js';
import { makeView } from './packet-view-helper.js';

interface Pushed {
  dir: number;
  len: number;
  bytes: number[];
}

describe('flow table payload snippets (two tiers)', () => {
  it('views equal the pushed packets at every step', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 24 }),
        // [client, from the server, payload, pushed twice (a mirror port's copy)]
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean(), fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.boolean()), { minLength: 1, maxLength: 160, size: 'max' }),
        fc.integer({ min: 0, max: 3 }),
        (maxPay, payloadBytes, steps, maxLong) => {
          const model = new Map<number, Pushed[]>(); // flow key (client index) -> packets recorded
          // The long tier (beyond 8 packets, when maxPay > 8) holds at most maxLong flows; a flow that finds it full
          // at its 9th packet keeps 8.
          const longHolders = new Set<number>(), short = new Set<number>();
          const copies = new Map<number, number>();
          const limit = (key: number): number => (short.has(key) ? 8 : maxPay);
          let checked = 0;
          const check = (f: FlowHandle, key: number): void => {
            const want = model.get(key)!;
            const v = f.view;
            expect(v.nPackets).toBe(Math.min(want.length, limit(key)));
            for (let i = 0; i < v.nPackets; i++) {
              const w = want[i]!;
              expect(v.dir(i)).toBe(w.dir);
              expect(v.len(i)).toBe(w.len);
              const isNewest = i === v.nPackets - 1 && want.length <= limit(key);
              const n = isNewest ? w.len : Math.min(w.len, payloadBytes);
              expect(v.avail(i)).toBe(n);
              const b = v.buf(i), s = v.start(i);
              expect(Array.from(b.subarray(s, s + n))).toEqual(w.bytes.slice(0, n));
              checked++;
            }
          };
          let current = -1;
          const t = new FlowTable(
            { maxPayloadPackets: maxPay, payloadBytes, maxFlows: 64, maxLongCapturingFlows: maxLong },
            {
              onPacket(f, _isNew, payload) {
                if (payload) check(f, current);
              },
              onEnd() {},
            },
          );
          let ts = 1_700_000_000_000_000;
          for (const [client, fromServer, payload, twice] of steps.flatMap((x) => (x[3] ? [x, x] : [x]))) {
            void twice;
            current = client;
            let list = model.get(client);
            if (!list) model.set(client, (list = []));
            const c = `10.0.0.${client + 1}`, s = '192.0.2.1';
            const view = makeView({
              tsUs: ts++,
              src: fromServer && list.length > 0 ? s : c,
              dst: fromServer && list.length > 0 ? c : s,
              proto: 17,
              srcPort: fromServer && list.length > 0 ? 53 : 40000,
              dstPort: fromServer && list.length > 0 ? 40000 : 53,
              payload,
            });
            const dir = fromServer && list.length > 0 ? 1 : 0;
            // A repeat of the flow's latest recorded packet of this direction, 1 µs later, is a copy the table does
            // not record (duplicates.test.ts): same length and kept bytes, at least 16 of them or the whole packet.
            let last: Pushed | undefined;
            for (let j = Math.min(list.length, limit(client)) - 1; j >= 0 && !last; j--) if (list[j]!.dir === dir) last = list[j];
            const kept = Math.min(payload.length, payloadBytes);
            const copy = last !== undefined && list.length < limit(client) && last.len === payload.length && (kept >= 16 || kept === payload.length) &&
              last.bytes.slice(0, kept).every((x, k) => x === payload[k]) && (copies.get(client) ?? 0) < 15;
            if (copy) {
              copies.set(client, (copies.get(client) ?? 0) + 1);
              t.add(view);
              continue;
            }
            list.push({ dir, len: payload.length, bytes: [...payload] });
            if (list.length === 9 && maxPay > 8) {
              if (longHolders.size < maxLong) longHolders.add(client);
              else short.add(client);
            }
            t.add(view);
          }
          expect(t.stats.captureShort).toBe(short.size);
          expect(t.stats.duplicatesSkipped).toBe([...copies.values()].reduce((a, b) => a + b, 0));
          t.flush();
          expect(checked).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
