/**
 * Values an embedder's code hands the library's doors are checked where they enter: the wrong type gives the
 * library's typed error naming what was expected, never a TypeError from inside a parser (`text.slice is not a
 * function`) and never a result computed from garbage (a pcap header with link type "x").
 */
import { describe, expect, it } from 'vitest';
import { classifySocket, DatagramClassifier } from '../src/node.js';
import {
  createClassifier,
  CaptureReader,
  CidrError,
  CidrMapBuilder,
  containsCidrs,
  excludeCidrs,
  InvalidArgumentError,
  mergeCidrs,
  overlapCidrs,
  parseCidrList,
  parseDomainList,
  PcapWriter,
  readCaptureBuffer,
  TunnelscopeError,
  buildFrame,
  buildIpPacket,
  Decoder,
} from '../src/index.js';

const WRONG: unknown[] = [null, undefined, 5, {}, [], new Uint8Array(4), Symbol('s'), () => 1];

describe('wrong types at the doors are typed errors', () => {
  it.each(WRONG.map((v) => [String(typeof v === 'symbol' ? 'symbol' : Array.isArray(v) ? 'array' : v?.constructor?.name ?? v), v]))('%s', (_n, v) => {
    const doors: Array<[string, () => unknown]> = [
      ['CidrMapBuilder.add', () => new CidrMapBuilder<string>().add(v as string, 'x')],
      ['mergeCidrs', () => mergeCidrs(['10.0.0.0/8', v as string])],
      ['excludeCidrs', () => excludeCidrs('10.0.0.0/8', [v as string])],
      ['overlapCidrs', () => overlapCidrs([v as string], '10.0.0.0/8')],
      ['containsCidrs', () => containsCidrs('10.0.0.0/8', [v as string])],
      ['parseCidrList', () => parseCidrList(v as string)],
      ['parseDomainList', () => parseDomainList(v as string)],
      ['PcapWriter linkType', () => new PcapWriter({ linkType: v as number })],
      ['PcapWriter snapLen', () => new PcapWriter({ snapLen: v as number })],
    ];
    if (!(v instanceof Uint8Array)) {
      doors.push(['readCaptureBuffer', () => readCaptureBuffer(v as Uint8Array, 'x', () => {})]);
      doors.push(['CaptureReader.push', () => new CaptureReader('x').push(v as Uint8Array, () => {})]);
    }
    for (const [name, call] of doors) {
      // PcapWriter's options are numbers (5 is a link type), and null or absent means the default.
      if (name.startsWith('PcapWriter') && (v === undefined || v === null || typeof v === 'number')) continue;
      let thrown: unknown;
      try {
        call();
      } catch (e) {
        thrown = e;
      }
      expect(thrown, name).toBeInstanceOf(TunnelscopeError);
    }
  });

  it('the errors say what was expected and what came', () => {
    expect(() => new CidrMapBuilder<string>().add(5 as unknown as string, 'x')).toThrow(CidrError);
    expect(() => new CidrMapBuilder<string>().add(5 as unknown as string, 'x')).toThrow(/must be a string.*5/);
    expect(() => parseCidrList(Buffer.from('10.0.0.0/8') as unknown as string)).toThrow(/parseCidrList: the list must be a string, got Uint8Array/);
    expect(() => new PcapWriter({ linkType: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => readCaptureBuffer('abc' as unknown as Uint8Array, 'x', () => {})).toThrow(/must be a Uint8Array.*a string/);
  });

  it('the right types still work', () => {
    expect(new CidrMapBuilder<string>().add('10.0.0.0/8', 'x').build().lookup('10.1.2.3')).toBe('x');
    expect(mergeCidrs(['10.0.0.0/9', '10.128.0.0/9'])).toEqual(['10.0.0.0/8']);
    expect(parseCidrList('10.0.0.0/8\n').entries).toHaveLength(1);
    expect(Buffer.from(new PcapWriter({ linkType: 101, snapLen: 65535 }).toBuffer()).readUInt32LE(20)).toBe(101);
  });
});

describe('wrong arguments to a classifier, a session and the socket adapters', () => {
  const c = createClassifier();
  it.each<[string, () => unknown]>([
    ['session(null)', () => c.session(null as unknown as object)],
    ['session(5)', () => c.session(5 as unknown as object)],
    ["session.advance('5')", () => c.session().advance('5' as unknown as number)],
    ["session.end('x') (it would be every record's end reason)", () => c.session().end('x' as 'eof')],
    ['new DatagramClassifier(null)', () => new DatagramClassifier(null as unknown as typeof c)],
    ['new DatagramClassifier({})', () => new DatagramClassifier({} as unknown as typeof c)],
    ['new DatagramClassifier(c, null)', () => new DatagramClassifier(c, null as unknown as object)],
    // An array of options would be read as all defaults, whatever its elements say.
    ['session([])', () => c.session([] as unknown as object)],
    ['createClassifier([])', () => createClassifier([] as unknown as object)],
    ['new DatagramClassifier(c, [])', () => new DatagramClassifier(c, [] as unknown as object)],
    ['classifySocket(null, socket)', () => classifySocket(null as unknown as typeof c, {} as never)],
    ['classifySocket(c, null)', () => classifySocket(c, null as never)],
    ['classifySocket(c, {})', () => classifySocket(c, {} as never)],
  ])('%s is an InvalidArgumentError, thrown at once', (_n, call) => {
    expect(call).toThrow(InvalidArgumentError);
  });

  it('a string time is not a capture time: pushed frames with one are counted, not tracked', () => {
    const s = c.session();
    s.push(Uint8Array.of(1, 2, 3), '5000' as unknown as number);
    expect(s.stats.malformed['bad-timestamp']).toBe(1);
    s.end('stop');
  });
});

describe('numbers a door would wrap or ignore, and a flow or spec that is no object', () => {
  // Found by probing the library's doors: classifyFlow(null) and new Decoder(null) threw TypeErrors; buildFrame
  // wrote port 70000 as 4464 and a 70000-byte UDP payload under length fields that said 4470, threw plain Errors
  // (ipaddr's own text for a bad address); a decoder given maxTunnelDepth -1 or NaN silently opened no tunnel.
  const spec = { src: '192.0.2.1', dst: '198.51.100.2', proto: 17, srcPort: 40000, dstPort: 53, payload: new Uint8Array(8) };
  it.each<[string, () => unknown, RegExp]>([
    ['classifyFlow(null)', () => createClassifier().classifyFlow(null as never), /classifyFlow: the flow must be an object, got null/],
    ['classifyFlow(5)', () => createClassifier().classifyFlow(5 as never), /classifyFlow: the flow must be an object, got 5/],
    ['new Decoder(null)', () => new Decoder(null as never), /decoder: options must be an object, got null/],
    ['maxTunnelDepth -1', () => new Decoder({ maxTunnelDepth: -1 }), /maxTunnelDepth must be an integer in \[0, 64\], got -1/],
    ['maxTunnelDepth NaN', () => new Decoder({ maxTunnelDepth: NaN }), /maxTunnelDepth must be an integer/],
    ["maxTunnelDepth '2'", () => new Decoder({ maxTunnelDepth: '2' as never }), /maxTunnelDepth must be an integer.*a string/],
    ["vlan 'middle'", () => new Decoder({ vlan: 'middle' as never }), /vlan must be 'inner' or 'outer', got a string/],
    ['a session with a bad decoder option', () => createClassifier().session({ decoder: { maxTunnelDepth: -1 } }), /maxTunnelDepth/],
    ['buildFrame(null)', () => buildFrame(null as never), /buildFrame: options must be an object, got null/],
    ['buildFrame port 70000', () => buildFrame({ ...spec, dstPort: 70000 }), /buildFrame: dstPort must be an integer in \[0, 65535\], got 70000/],
    ['buildFrame port -1', () => buildFrame({ ...spec, srcPort: -1 }), /srcPort/],
    ['buildFrame proto 300', () => buildFrame({ ...spec, proto: 300 }), /proto must be an integer in \[0, 255\]/],
    ['buildFrame vlan 5000', () => buildFrame({ ...spec, vlan: 5000 }), /vlan must be an integer in \[0, 4095\]/],
    ['buildFrame payload a string', () => buildFrame({ ...spec, payload: 'abc' as never }), /payload must be a Uint8Array/],
    ['buildFrame 70000-byte UDP payload', () => buildFrame({ ...spec, payload: new Uint8Array(70000) }), /70008 bytes after the IPv4 header do not fit its length field \(at most 65515\)/],
    ['buildIpPacket 65528-byte IPv6 UDP payload', () => buildIpPacket({ ...spec, src: '2001:db8::1', dst: '2001:db8::2', payload: new Uint8Array(65528) }), /65536 bytes after the IPv6 header/],
    ['buildFrame families differ', () => buildFrame({ ...spec, dst: '2001:db8::2' }), /buildFrame: address families differ: 192.0.2.1 2001:db8::2/],
    ['buildFrame bad address', () => buildFrame({ ...spec, dst: 'gateway' }), /buildFrame: invalid IP address: "gateway"/],
    ['buildFrame address a number', () => buildFrame({ ...spec, dst: 5 as never }), /an address must be a string, got 5/],
  ])('%s is a typed error naming what is wrong', (_n, call, message) => {
    let e: unknown;
    try {
      call();
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(TunnelscopeError);
    expect((e as Error).message).toMatch(message);
  });

  it('the largest frames that fit are still built, their length fields true', () => {
    const ip4 = buildIpPacket({ ...spec, payload: new Uint8Array(65535 - 28) });
    expect(ip4.length).toBe(65535);
    expect((ip4[2]! << 8) | ip4[3]!).toBe(65535);
    const ip6 = buildIpPacket({ ...spec, src: '2001:db8::1', dst: '2001:db8::2', payload: new Uint8Array(65535 - 8) });
    expect((ip6[4]! << 8) | ip6[5]!).toBe(65535);
    expect(new Decoder({ maxTunnelDepth: 0, vlan: 'outer' })).toBeInstanceOf(Decoder);
  });
});

describe('calls a closed adapter or a report builder cannot serve', () => {
  // Found by probing: DatagramClassifier#inspect after close() returned undefined as for an undecided tuple (the
  // datagram neither accounted nor reported), and ReportBuilder#add(null) threw a TypeError.
  it('inspect() after close() is refused, not silently dropped', () => {
    const d = new DatagramClassifier(createClassifier());
    d.close();
    expect(() => d.inspect(new Uint8Array(8), { address: '192.0.2.1', port: 1000 }, { address: '192.0.2.2', port: 53 })).toThrow(/^inspect: the classifier is closed$/);
    expect(d.stats.datagrams).toBe(0);
  });

  it.each([null, 5, 'x'])('ReportBuilder.add(%s) is an InvalidArgumentError', async (v) => {
    const { ReportBuilder } = await import('../src/report/index.js');
    expect(() => new ReportBuilder().add(v as never)).toThrow(InvalidArgumentError);
  });
});

describe('every door with an options object refuses an option it does not know (a misspelt one was left at its default in silence)', () => {
  it('session, its flow options, the decoder, the socket adapters, the metrics server', async () => {
    const { createClassifier } = await import('../src/classify/classifier.js');
    const { Decoder } = await import('../src/trace/decode.js');
    const { DatagramClassifier, classifySocket } = await import('../src/node.js');
    const c = createClassifier();
    expect(() => c.session({ flows: {} } as never)).toThrow(/^session: unknown option "flows" \(expected flow, decoder/);
    expect(() => c.session({ flow: { idleTimeout: 5 } } as never)).toThrow(/^flow options: unknown option "idleTimeout" \(expected idleTimeoutSec, /);
    expect(() => createClassifier({ flow: { maxflows: 5 } } as never).session()).toThrow(/unknown option "maxflows"/);
    expect(() => new Decoder({ maxDepth: 2 } as never)).toThrow(/^decoder: unknown option "maxDepth"/);
    expect(() => new DatagramClassifier(c, { maxFlow: 10 } as never)).toThrow(/^DatagramClassifier: unknown option "maxFlow"/);
    const { Socket } = await import('node:net');
    expect(() => classifySocket(c, new Socket(), { timeoutMs: 5 } as never)).toThrow(/^classifySocket: unknown option "timeoutMs"/);
    const { IpfixEncoder } = await import('../src/ipfix/encoder.js');
    const { IpfixExporter } = await import('../src/ipfix/udp.js');
    expect(() => new IpfixEncoder({ domainId: 1 } as never)).toThrow(/^IPFIX: unknown option "domainId"/);
    expect(() => new IpfixExporter('127.0.0.1', 4739, { flushMS: 5 } as never)).toThrow(/^IPFIX exporter: unknown option "flushMS"/);
    // The documented options still go through.
    expect(() => c.session({ flow: { idleTimeoutSec: 5, tcpLingerSec: 1 }, records: true, decoder: { maxTunnelDepth: 2 } })).not.toThrow();
  });
});
