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
