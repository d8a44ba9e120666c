/**
 * The embedder's event handlers run while a session is inside push()/end(): found by probing the library as an
 * embedder. A 'verdict' or 'flow' handler that threw left the flow table half-updated (the frame's accounting cut
 * off, end()'s remaining flows never ended): 7 of the sample's 40 records came out with a throwing verdict handler,
 * 16 with a throwing flow handler, silently. A push from a handler was accounted against the half-updated table
 * (another flow's packet counted twice), and a push after end() threw a plain Error with no code.
 * Now a handler's exception is thrown again from the call once its work is done, a frame given from a handler is
 * refused with SessionError 'reentrant', an end() from a handler ends the flows once the frame is finished, and a
 * call after end() is SessionError 'ended'.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { ClassifierSession } from '../../src/classify/session.js';
import { SessionError, TunnelscopeError } from '../../src/errors.js';
import { parseCidrList } from '../../src/lists/cidr-list.js';
import { readCaptureFileSync } from '../../src/trace/reader.js';
import { readFileSync } from 'node:fs';
import { buildFrame } from '../../src/trace/frame-builder.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SAMPLE = join(ROOT, 'fixtures', 'sample.pcap');
const registered = parseCidrList(readFileSync(join(ROOT, 'fixtures', 'sample-registered.txt'), 'utf8')).toMap();

/** The sample through a session, handlers installed by `setup`; every exception a call throws is collected. */
function run(setup: (s: ClassifierSession, records: string[]) => void): { records: string[]; thrown: unknown[] } {
  const s = createClassifier({ registered }).session();
  const records: string[] = [];
  s.on('flow', (r) => records.push(JSON.stringify(r)));
  setup(s, records);
  const thrown: unknown[] = [];
  readCaptureFileSync(SAMPLE, (raw) => {
    try {
      s.pushRaw(raw);
    } catch (e) {
      thrown.push(e);
    }
  });
  try {
    s.end();
  } catch (e) {
    thrown.push(e);
  }
  return { records: records.sort(), thrown };
}

const baseline = run(() => {});

describe('a handler that throws costs no record and no accounting', () => {
  it.each(['verdict', 'flow'] as const)('a throwing %s handler: every record as without it; each exception surfaces from the call', (event) => {
    const boom = new Error(`boom in ${event}`);
    let calls = 0;
    const r = run((s) => s.on(event, () => {
      calls++;
      throw boom;
    }));
    expect(baseline.records).toHaveLength(40);
    expect(r.records).toEqual(baseline.records);
    expect(r.thrown.length).toBeGreaterThan(0);
    expect(r.thrown.length).toBeLessThanOrEqual(calls);
    for (const e of r.thrown) expect(e).toBe(boom);
  });

  it("a throwing 'end' handler still ends every flow first", () => {
    const r = run((s) => s.on('end', () => {
      throw new Error('end handler');
    }));
    expect(r.records).toEqual(baseline.records);
    expect(r.thrown).toHaveLength(1);
  });
});

describe('calls from inside a handler, and after end()', () => {
  const filler = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
  const A = { src: '10.0.0.1', dst: '192.0.2.1', proto: 17, srcPort: 40000, dstPort: 51820 };
  const B = { src: '192.0.2.1', dst: '10.0.0.1', proto: 17, srcPort: 51820, dstPort: 40000 };
  const init = buildFrame({ ...A, payload: Uint8Array.of(1, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, ...filler(140)) });
  const resp = buildFrame({ ...B, payload: Uint8Array.of(2, 0, 0, 0, 0x55, 0x66, 0x77, 0x88, 0x11, 0x22, 0x33, 0x44, ...filler(80)) });
  const other = buildFrame({ src: '10.0.0.2', dst: '192.0.2.9', proto: 6, srcPort: 40001, dstPort: 443, payload: filler(50) });
  const T0 = 1_700_000_000_000_000_000n;

  it('a frame given from a handler is refused (SessionError reentrant), thrown from the outer call; nothing is miscounted', () => {
    const s = createClassifier({ registered: [['10.0.0.0/8', 'r']] }).session();
    const records: { src: string; packets: number }[] = [];
    s.on('flow', (r) => records.push({ src: r.src, packets: r.packets }));
    const seen: unknown[] = [];
    let once = false;
    s.on('verdict', () => {
      if (once) return;
      once = true;
      for (const call of [() => s.push(other, T0 + 5n), () => s.advance(1_700_000_100_000_000), () => s.tick(1_700_000_100_000_000)]) {
        try {
          call();
        } catch (e) {
          seen.push(e);
        }
      }
      s.push(other, T0 + 5n); // uncaught: comes out of the push that emitted the verdict
    });
    s.push(init, T0);
    let outer: unknown;
    try {
      s.push(resp, T0 + 1_000_000n);
    } catch (e) {
      outer = e;
    }
    for (const e of [...seen, outer]) {
      expect(e).toBeInstanceOf(SessionError);
      expect((e as SessionError).code).toBe('TS_SESSION');
      expect((e as SessionError).reason).toBe('reentrant');
    }
    expect(seen).toHaveLength(3);
    s.push(other, T0 + 2_000_000n); // after the call: accepted
    s.end();
    expect(records.sort((a, b) => a.src.localeCompare(b.src))).toEqual([
      { src: '10.0.0.1:40000', packets: 2 },
      { src: '10.0.0.2:40001', packets: 1 },
    ]);
  });

  it('end() from a handler ends every flow once the frame is accounted; later calls are SessionError ended', () => {
    const s = createClassifier({ registered: [['10.0.0.0/8', 'r']] }).session();
    const events: string[] = [];
    s.on('verdict', ({ verdict }) => {
      events.push(`verdict ${verdict.label}`);
      s.end('stop');
      events.push('end asked');
    });
    s.on('flow', (r) => events.push(`flow ${r.src} ${r.packets} ${r.end}`));
    s.on('end', () => events.push('end'));
    s.push(other, T0);
    s.push(init, T0 + 1n);
    s.push(resp, T0 + 2n);
    // The verdict's frame is finished first; then every flow ends with the reason asked for (the ordinary flow's
    // verdict comes at its end, and its handler's second end() is the same request).
    expect(events).toEqual([
      'verdict registered_vpn',
      'end asked',
      'verdict ordinary',
      'end asked',
      'flow 10.0.0.2:40001 1 stop',
      'flow 10.0.0.1:40000 2 stop',
      'end',
    ]);
    expect(events.at(-1)).toBe('end');
    for (const call of [() => s.push(init, T0 + 3n), () => s.pushRaw({ data: init, offset: 0, capLen: init.length, wireLen: init.length, tsUs: 1, linkType: 1 })]) {
      let e: unknown;
      try {
        call();
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(SessionError);
      expect(e).toBeInstanceOf(TunnelscopeError);
      expect((e as SessionError).reason).toBe('ended');
      expect((e as Error).message).toMatch(/^push(Raw)?: the session has ended$/);
    }
  });
});
