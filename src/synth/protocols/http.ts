/** Plain HTTP/1.1 over TCP 80: one GET, a 200 response header, then body segments with client ACKs. */
import type { Rng } from '../rng.js';
import { clamp, ephemeralPort, fillPool, type FlowKind, type SynthContext, type SynthFlow } from './types.js';

const enc = new TextEncoder();
const PATHS = ['/', '/index.html', '/images/logo.png', '/api/v1/items?page=2', '/static/app.js', '/download/file.bin'];

export const http: FlowKind = {
  key: 'http', transport: 'tcp', expect: 'ordinary', protocol: null, minPackets: 9, packetWeight: 1,
  setup(f, rng, ctx) {
    f.cport = ephemeralPort(rng);
    f.sport = rng.chance(0.9) ? 80 : 8080;
    f.host = rng.pick(ctx.webDomains);
    const req = enc.encode(`GET ${rng.pick(PATHS)} HTTP/1.1\r\nHost: ${f.host}\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n`);
    const resp = enc.encode(`HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/octet-stream\r\nContent-Length: ${rng.range(1000, 9000000)}\r\n\r\n`);
    const b = new Uint8Array(req.length + resp.length);
    b.set(req, 0);
    b.set(resp, req.length);
    f.buf = b;
    f.a = req.length;
  },
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number, size: number, rng: Rng, ctx: SynthContext): number {
    const t = f.buf!;
    if (k === 0) { f.dir = 0; buf.set(t.subarray(0, f.a), off); return f.a; }
    if (k === 1) { f.dir = 1; buf.set(t.subarray(f.a), off); return t.length - f.a; }
    f.dir = rng.chance(0.3) ? 0 : 1;
    if (f.dir === 0) return 0;
    const len = clamp(size, 1, 1400);
    fillPool(buf, off, len, rng, ctx);
    return len;
  },
};
