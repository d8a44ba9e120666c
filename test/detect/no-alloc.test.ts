/**
 * The detector contract (src/detect/types.ts) says "no allocation when nothing matches (return null)": detectors
 * run on the first packets of every flow at a gateway, and nearly every flow is ordinary. Checked here the way
 * the CidrMap lookups are (probe: ../helpers/gc-probe.ts): every built-in detector is called on every prefix of
 * every ordinary flow of a synthetic trace (TLS with SNI, QUIC, DNS, HTTP, SSH, STUN, WebRTC DTLS, game UDP, NTP…)
 * — all detectors of the flow's transport, not only those its opening would pick — over and over, and no
 * young-generation collection may start. A control that allocates one small array per call shows the probe sees it.
 */
import { describe, expect, it } from 'vitest';
import { ArrayFlowView, type ArrayPacket } from '../../src/detect/array-flow.js';
import { DETECTORS } from '../../src/detect/registry.js';
import { flowNames } from '../../src/detect/names/index.js';
import { parseClientHello } from '../../src/detect/names/tls.js';
import { parseDtlsClientHello } from '../../src/detect/names/dtls.js';
import { IPPROTO_UDP } from '../../src/detect/types.js';
import { NAME_PACKETS } from '../../src/classify/engine.js';
import { synthesize } from '../../src/synth/generate.js';
import { randomBytes, rng } from './udp-vpn-builders.js';
import { Decoder, newPacketView } from '../../src/trace/decode.js';
import { readCaptureBuffer } from '../../src/trace/reader.js';
import { expectAllocationSeen, youngAllocation } from '../helpers/gc-probe.js';
import { concat } from './udp-vpn-builders.js';
import { CertStreams, releaseCertStream, type CertSlot } from '../../src/detect/names/cert-stream.js';

const MAX_PACKETS = 8; // the flow table's default maxPayloadPackets: detectors never see more
/**
 * Growth allowed beyond the probe's own reading. Not zero: a few values may still be boxed where V8 chose not to
 * inline a small reader (1.7 KiB over the detectors' ~2M calls on Node 20, none on Node 22), and a tier-up during
 * the measured loop can allocate a few KiB once (seen: 5 KiB on Node 22 in the names loop). What this guards
 * against is of another order: one 16-byte object per call would be 12–34 MB; the certificate parser's buffer per
 * server handshake packet was 3.2 MB here, tinc's boxed UDP sequence words 0.9 MB, the DTLS look-alikes 0.2 MB.
 */
const SLACK = 16 * 1024;

interface Collected {
  view: ArrayFlowView;
  packets: ArrayPacket[];
  initiator: string;
}

function ordinaryFlows(): ArrayFlowView[] {
  const parts: Uint8Array[] = [];
  synthesize({ packets: 30_000, flows: 1_500, vpnShare: 0, registeredShare: 0, seed: 11 }, (c) => parts.push(c.slice()));
  const dec = new Decoder();
  const pv = newPacketView();
  const flows = new Map<string, Collected>();
  const hex = (off: number): string => Array.from(pv.data.subarray(off, off + (pv.ipVersion === 4 ? 4 : 16))).join('.');
  readCaptureBuffer(concat(...parts), 'synth', (p) => {
    if (!dec.decode(p, pv) || pv.payloadLen === 0) return;
    const a = `${hex(pv.srcOff)}:${pv.srcPort}`, b = `${hex(pv.dstOff)}:${pv.dstPort}`;
    const key = `${pv.proto} ${a < b ? `${a} ${b}` : `${b} ${a}`}`;
    let f = flows.get(key);
    if (!f) {
      const packets: ArrayPacket[] = [];
      f = { view: new ArrayFlowView({ transport: pv.proto, srcPort: pv.srcPort, dstPort: pv.dstPort, ipVersion: pv.ipVersion }, packets), packets, initiator: a };
      flows.set(key, f);
    }
    if (f.packets.length < MAX_PACKETS) {
      f.view.push({ dir: a === f.initiator ? 0 : 1, bytes: pv.data.slice(pv.payloadOff, pv.payloadOff + pv.payloadLen), len: pv.payloadWireLen });
    }
  });
  return [...flows.values()].map((f) => f.view);
}

/** Packet i of `view` is a client's TLS or DTLS ClientHello. */
function clientHello(view: ArrayFlowView, i: number): boolean {
  const b = view.buf(i), s = view.start(i), e = s + view.avail(i);
  if (view.dir(i) !== 0 || b[s] !== 0x16) return false;
  return view.transport === IPPROTO_UDP ? parseDtlsClientHello(b, s, e - s, view.len(i)) !== null : parseClientHello(b, s, e) !== null;
}

describe('detectors allocate nothing when nothing matches', () => {
  const views = ordinaryFlows();
  // Every (flow, packets visible, detector) call a classifier could make, as three parallel arrays.
  const vi: number[] = [], ni: number[] = [], di: number[] = [];
  const matched = new Set<string>();
  for (let v = 0; v < views.length; v++) {
    const view = views[v]!;
    const total = view.nPackets;
    for (let n = 1; n <= total; n++) {
      view.truncate(n);
      DETECTORS.forEach((d, k) => {
        if (!d.transports.includes(view.transport) || n > d.maxPackets) return;
        if (d.detect(view) !== null) {
          matched.add(`${d.id} on ${view.transport}/${view.dstPort}`);
          return;
        }
        vi.push(v);
        ni.push(n);
        di.push(k);
      });
    }
    view.truncate(total);
  }
  const calls = vi.length;
  // The name parsers on the same prefixes: where they find no name (SSH, STUN, game UDP, server packets without a
  // certificate, HTTP responses, DNS responses…) they should not allocate either. Left out: a (D)TLS ClientHello
  // that carries neither SNI nor ALPN (WebRTC's DTLS) — it is parsed into a result object before the parser knows
  // there is no name; once per flow, not per packet.
  const nv: number[] = [], nn: number[] = [];
  for (let v = 0; v < views.length; v++) {
    const view = views[v]!;
    const total = view.nPackets;
    for (let n = 1; n <= Math.min(total, NAME_PACKETS); n++) {
      view.truncate(n);
      if (flowNames(view) === null && !clientHello(view, n - 1)) {
        nv.push(v);
        nn.push(n);
      }
    }
    view.truncate(total);
  }
  const loop = (perCall: (k: number) => boolean) => (): number => {
    let hits = 0;
    for (let r = 0; r < 20; r++) {
      for (let k = 0; k < calls; k++) {
        if (perCall(k)) hits++;
      }
    }
    return hits;
  };
  const detect = (k: number): boolean => {
    const view = views[vi[k]!]!;
    view.truncate(ni[k]!);
    return DETECTORS[di[k]!]!.detect(view) !== null;
  };

  it('the trace is ordinary traffic of many kinds, and no detector claims any of it', () => {
    expect(views.length).toBeGreaterThan(1_000);
    expect(new Set(views.map((v) => `${v.transport}/${v.dstPort}`)).size).toBeGreaterThan(10);
    expect(calls).toBeGreaterThan(20_000);
    expect([...matched]).toEqual([]);
    // Server handshake packets reach the certificate parser (it allocated a buffer for each before 12-01).
    const pc = DETECTORS.findIndex((d) => d.id === 'provider-cert');
    let serverHandshakes = 0;
    for (let k = 0; k < calls; k++) {
      if (di[k] !== pc) continue;
      const v = views[vi[k]!]!, i = ni[k]! - 1;
      v.truncate(ni[k]!);
      if (v.dir(i) === 1 && v.buf(i)[v.start(i)] === 0x16) serverHandshakes++;
    }
    expect(serverHandshakes).toBeGreaterThan(100);
  });

  // The young generation's growth over a loop that calls nothing: the probe's own reading (a few KiB at most).
  const idle = (): Promise<{ scavenges: number; bytes: number }> => youngAllocation(loop(() => false));

  it('control: one small array per call is seen', async () => {
    const keep: number[][] = new Array(64);
    // ≥ 400k arrays of ≥ 16 bytes; asserted on bytes, which the probe always counts (a scavenge may not happen).
    expectAllocationSeen(await youngAllocation(loop((k) => { keep[k & 63] = [k]; return detect(k); })), 20 * calls * 16);
  });

  it('control: one 1,400-byte typed array per 200 calls is seen', async () => {
    const keep: Uint8Array[] = new Array(64);
    const base = (await idle()).bytes;
    const r = await youngAllocation(loop((k) => { if (k % 200 === 0) keep[k & 63] = new Uint8Array(1400); return detect(k); }));
    expect(r.bytes).toBeGreaterThan(base + 64 * 1024);
  });

  it('the name parsers, where they find no name', async () => {
    expect(nv.length).toBeGreaterThan(2_000);
    const base = (await idle()).bytes;
    const r = await youngAllocation(() => {
      let hits = 0;
      for (let r = 0; r < 200; r++) {
        for (let k = 0; k < nv.length; k++) {
          const view = views[nv[k]!]!;
          view.truncate(nn[k]!);
          if (flowNames(view) !== null) hits++;
        }
      }
      return hits;
    });
    expect(r.scavenges).toBe(0);
    expect(r.bytes).toBeLessThanOrEqual(base + SLACK);
  });

  it('the name parsers with a certificate stream slot: the probe of server handshake segments allocates nothing', async () => {
    const slot: CertSlot = { certStreams: new CertStreams(4), certStream: null, certTried: false };
    const once = (k: number): boolean => {
      const view = views[nv[k]!]!;
      view.truncate(nn[k]!);
      const hit = flowNames(view, slot) !== null;
      releaseCertStream(slot);
      slot.certTried = false;
      return hit;
    };
    for (let k = 0; k < nv.length; k++) once(k); // warm-up: the pool makes its buffers once
    // The trace's server flights (ServerHello without a certificate running on) are walked by the stream probe but
    // open no stream: this measures that probe, which every server's first handshake segment meets.
    expect(slot.certStreams!.stats.started).toBe(0);
    const base = (await idle()).bytes;
    const r = await youngAllocation(() => {
      let hits = 0;
      for (let r = 0; r < 200; r++) for (let k = 0; k < nv.length; k++) if (once(k)) hits++;
      return hits;
    });
    expect(r.scavenges).toBe(0);
    expect(r.bytes).toBeLessThanOrEqual(base + SLACK);
  });

  it('every built-in detector, every prefix of every flow', async () => {
    const base = (await idle()).bytes;
    const r = await youngAllocation(loop(detect));
    expect(r.scavenges).toBe(0);
    expect(r.bytes).toBeLessThanOrEqual(base + SLACK);
  });
});

describe('exclusion checks allocate nothing', () => {
  // Random datagrams of every size class the socket adapter meets, including the short ones below most headers.
  const r = rng(0x9e3779b9);
  const udp = DETECTORS.filter((d) => d.excludes !== undefined && d.transports.includes(IPPROTO_UDP));
  const views: ArrayFlowView[] = [];
  for (let k = 0; k < 2_000; k++) {
    const v = new ArrayFlowView({ transport: IPPROTO_UDP, srcPort: 1024 + k, dstPort: k % 7 === 0 ? 4500 : 40000 + k });
    const n = k % 4 === 0 ? r() % 40 : 1 + (((r() << 8) | r()) % 600);
    v.push({ dir: k & 1, bytes: randomBytes(n, r) });
    views.push(v);
  }

  it('every UDP detector that excludes has the check, and it is exercised on both answers', () => {
    expect(udp.map((d) => d.id).sort()).toEqual(
      ['anyconnect', 'cloudflare-warp', 'ike', 'l2tp', 'nebula', 'openvpn', 'softether', 'tailscale', 'tinc', 'wireguard', 'zerotier'].sort(),
    );
    let yes = 0;
    for (const v of views) for (const d of udp) if (d.excludes!(v)) yes++;
    expect(yes).toBeGreaterThan(views.length * udp.length * 0.8);
    expect(yes).toBeLessThan(views.length * udp.length);
  });

  it('on random datagrams', async () => {
    // Index loops, as above: a for-of over the detectors inside the measured loop allocated on Node 22.
    const run = (check: boolean) => (): number => {
      let yes = 0;
      for (let rep = 0; rep < 50; rep++) {
        for (let k = 0; k < views.length; k++) {
          const v = views[k]!;
          for (let j = 0; j < udp.length; j++) if (check ? udp[j]!.excludes!(v) : v.nPackets < 0) yes++;
        }
      }
      return yes;
    };
    const base = (await youngAllocation(run(false))).bytes;
    const res = await youngAllocation(run(true));
    expect(res.scavenges).toBe(0);
    expect(res.bytes).toBeLessThanOrEqual(base + SLACK);
  });
});
