/**
 * The metrics door (`tunnelscope/metrics`): Prometheus text format from prom-client, served over HTTP and scraped
 * with a real HTTP client (fetch); counters fed by a poll never go down and add up; the exposition parses line by
 * line as the text format says.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRunMetrics, type MetricsServer, type RunCounters } from '../../src/metrics/index.js';

/**
 * Parse the text exposition format strictly: `# HELP`/`# TYPE` lines and `name{l="v",…} value` samples. Values
 * as Prometheus reads them (Go's ParseFloat: NaN and Inf in any case — prom-client writes an empty event-loop
 * histogram's mean as `Nan` when scraped before its first sample).
 */
function parseExposition(text: string): { types: Map<string, string>; samples: Map<string, number> } {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      if (m[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(m[3]);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/i.exec(line);
    if (!m) throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return { types, samples };
}

let server: MetricsServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('run metrics', () => {
  it('serves every metric the issue lists over HTTP, scraped with fetch', async () => {
    const m = createRunMetrics();
    const c: RunCounters = { packets: 0, bytes: 0, skipped: {}, liveFlows: 0, evicted: 0, duplicates: 0 };
    m.watch(() => c);
    m.lists({ ok: true, version: 3, seconds: 0.25 });
    m.lists({ ok: false });
    server = await m.serve('127.0.0.1', 0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
    c.packets = 1200;
    c.bytes = 345_678;
    c.skipped = { truncated: 3, 'unknown-link': 1 };
    c.liveFlows = 17;
    c.evicted = 2;
    c.duplicates = 5;
    m.verdict({ label: 'unregistered_vpn', protocol: 'wireguard', decidedAtPacket: 2 });
    m.verdict({ label: 'ordinary', protocol: null, decidedAtPacket: 8 });
    m.record({ label: 'unregistered_vpn', protocol: 'wireguard', decidedAtPacket: 2 });
    m.record({ label: 'ordinary', protocol: null, decidedAtPacket: 2, payloadCut: 2 });
    m.record({ label: 'ordinary', protocol: null, decidedAtPacket: 8, captureCapped: true });
    m.record({ label: 'ordinary', protocol: null, decidedAtPacket: 8, captureCapped: false });
    m.outputLag(0.05);
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const { types, samples } = parseExposition(await res.text());
    expect(types.get('tunnelscope_packets_total')).toBe('counter');
    expect(types.get('tunnelscope_verdict_payload_packets')).toBe('histogram');
    expect(types.get('tunnelscope_output_lag_seconds')).toBe('histogram');
    expect(types.get('tunnelscope_live_flows')).toBe('gauge');
    expect(Object.fromEntries([...samples].filter(([k]) => k.startsWith('tunnelscope_') && !k.includes('_bucket')))).toMatchObject({
      tunnelscope_packets_total: 1200,
      tunnelscope_bytes_total: 345_678,
      'tunnelscope_skipped_packets_total{reason="truncated"}': 3,
      'tunnelscope_skipped_packets_total{reason="unknown-link"}': 1,
      tunnelscope_live_flows: 17,
      tunnelscope_flows_evicted_total: 2,
      tunnelscope_duplicate_packets_total: 5,
      'tunnelscope_verdicts_total{label="unregistered_vpn",protocol="wireguard"}': 1,
      'tunnelscope_verdicts_total{label="ordinary",protocol="none"}': 1,
      'tunnelscope_flows_total{label="unregistered_vpn",protocol="wireguard"}': 1,
      'tunnelscope_flows_payload_cut_total{label="ordinary"}': 1,
      'tunnelscope_flows_capture_capped_total{label="ordinary"}': 1,
      'tunnelscope_verdict_payload_packets_sum{label="unregistered_vpn"}': 2,
      'tunnelscope_verdict_payload_packets_count{label="ordinary"}': 1,
      tunnelscope_output_lag_seconds_count: 1,
      tunnelscope_list_version: 3,
      tunnelscope_list_load_seconds: 0.25,
      'tunnelscope_list_loads_total{result="ok"}': 1,
      'tunnelscope_list_loads_total{result="error"}': 1,
    });
    expect(samples.get('tunnelscope_verdict_payload_packets_bucket{le="2",label="unregistered_vpn"}')).toBe(1);
    expect(samples.get('tunnelscope_verdict_payload_packets_bucket{le="1",label="unregistered_vpn"}')).toBe(0);
    expect(Math.abs(samples.get('tunnelscope_list_loaded_timestamp_seconds')! - Date.now() / 1000)).toBeLessThan(60);
    // prom-client's process metrics come along.
    expect(samples.has('process_cpu_seconds_total')).toBe(true);
    // Only /metrics; GET and HEAD only.
    expect((await fetch(server.url.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(server.url, { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await fetch(server.url, { method: 'HEAD' })).status).toBe(200);
  });

  it('listens on IPv6 loopback too; a port in use is a rejected promise, not a crash', async () => {
    const m = createRunMetrics({ processMetrics: false });
    server = await m.serve('::1', 0);
    expect(server.url).toBe(`http://[::1]:${server.port}/metrics`);
    expect((await fetch(server.url)).status).toBe(200);
    await expect(createRunMetrics({ processMetrics: false }).serve('::1', server.port)).rejects.toThrow(/EADDRINUSE/);
  });

  it('property: polled counters equal the run’s latest totals at every scrape and never go down', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(1000), fc.nat(5), fc.boolean()), { minLength: 1, maxLength: 12 }), async (steps) => {
        const m = createRunMetrics({ processMetrics: false });
        const c = { packets: 0, skipped: {} as Record<string, number> };
        m.watch(() => c);
        let prevPackets = 0;
        for (const [dp, ds, scrape] of steps) {
          c.packets += dp;
          c.skipped = { ...c.skipped, bad: (c.skipped['bad'] ?? 0) + ds };
          if (!scrape) continue;
          const { samples } = parseExposition(await m.text());
          const p = samples.get('tunnelscope_packets_total')!;
          if (p !== c.packets || p < prevPackets) return false;
          if ((samples.get('tunnelscope_skipped_packets_total{reason="bad"}') ?? 0) !== c.skipped['bad']) return false;
          prevPackets = p;
        }
        return true;
      }),
      { numRuns: 100 },
    );
  });

  it("counts packets judged as their tunnel's carrier by reason, apart from skipped frames", async () => {
    // The decoder's fallback counts reached no metric: a tap whose snap length cut VXLAN inner headers showed only
    // UDP 4789 flows on the dashboards, with nothing counting the inner flows that went missing.
    const m = createRunMetrics({ processMetrics: false });
    const c: RunCounters = { packets: 10, skipped: {}, tunnelFallback: { 'vxlan-inner': 3 } };
    m.watch(() => c);
    let { types, samples } = parseExposition(await m.text());
    expect(types.get('tunnelscope_tunnel_fallback_packets_total')).toBe('counter');
    expect(samples.get('tunnelscope_tunnel_fallback_packets_total{reason="vxlan-inner"}')).toBe(3);
    c.tunnelFallback = { 'vxlan-inner': 5, 'too-deep': 1 };
    ({ samples } = parseExposition(await m.text()));
    expect(samples.get('tunnelscope_tunnel_fallback_packets_total{reason="vxlan-inner"}')).toBe(5);
    expect(samples.get('tunnelscope_tunnel_fallback_packets_total{reason="too-deep"}')).toBe(1);
    expect([...samples.keys()].some((k) => k.startsWith('tunnelscope_skipped_packets_total'))).toBe(false);
  });
});
