/** Socket address handling (src/node/address.ts): mapped/zoned/unknown addresses, and which local address a datagram reached. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { NetworkInterfaceInfo } from 'node:os';
import { LocalAddresses, parseSockAddr, sameFamily } from '../../src/node/address.js';

function iface(address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo {
  return { address, family, internal, netmask: '', mac: '00:00:00:00:00:00', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) } as NetworkInterfaceInfo;
}
const HOST = {
  lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
  eth0: [iface('192.0.2.2', 'IPv4'), iface('2001:db8::2', 'IPv6'), iface('fe80::1', 'IPv6')],
};
const MULTI = { ...HOST, eth1: [iface('198.51.100.7', 'IPv4'), iface('2001:db8:1::7', 'IPv6')] };

const p = (t: string) => parseSockAddr(t)!;

describe('parseSockAddr', () => {
  it('reads IPv4-mapped IPv6 as IPv4, drops zones, canonicalises, rejects the rest', () => {
    expect(parseSockAddr('::ffff:127.0.0.1')).toMatchObject({ v: 4, text: '127.0.0.1' });
    expect(parseSockAddr('::FFFF:7f00:1')).toMatchObject({ v: 4, text: '127.0.0.1' });
    expect(parseSockAddr('fe80::1%eth0')).toMatchObject({ v: 6, text: 'fe80::1' });
    expect(parseSockAddr('2001:DB8:0:0:0:0:0:1')).toMatchObject({ v: 6, text: '2001:db8::1' });
    for (const bad of [undefined, null, '', 'localhost', '1.2.3', '::g', '1.2.3.4:80', 'x'.repeat(100)]) expect(parseSockAddr(bad as string)).toBeNull();
  });

  it('property: never throws on any text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => void parseSockAddr(s)), { numRuns: 5000 });
  });

  it('sameFamily never pairs two families: the unknown or other-family end becomes unspecified', () => {
    expect(sameFamily(p('::1'), null).map((a) => a.text)).toEqual(['::1', '::']);
    expect(sameFamily(p('::ffff:10.0.0.1'), p('::')).map((a) => a.text)).toEqual(['10.0.0.1', '0.0.0.0']);
    expect(sameFamily(null, p('10.0.0.2')).map((a) => a.text)).toEqual(['0.0.0.0', '10.0.0.2']);
    expect(sameFamily(null, null).map((a) => a.text)).toEqual(['0.0.0.0', '0.0.0.0']);
  });
});

describe('LocalAddresses', () => {
  it('a socket bound to one address: that address, whatever the peer', () => {
    const l = new LocalAddresses('10.1.1.1', undefined, HOST);
    expect(l.forPeer(p('203.0.113.9')).text).toBe('10.1.1.1');
    expect(l.forPeer(p('127.0.0.1')).text).toBe('10.1.1.1');
    expect(() => new LocalAddresses('10.1.1.1', '10.9.9.9', HOST)).toThrow(/bound to 10.1.1.1/);
  });

  it('0.0.0.0 without localAddress: loopback peers reached 127.0.0.1, others the host address', () => {
    const l = new LocalAddresses('0.0.0.0', undefined, HOST);
    expect(l.forPeer(p('127.0.0.5')).text).toBe('127.0.0.1');
    expect(l.forPeer(p('203.0.113.9')).text).toBe('192.0.2.2');
    expect(l.forPeer(p('169.254.3.3')).text).toBe('0.0.0.0');
  });

  it(':: (dual stack): both families, each with its own rule', () => {
    const l = new LocalAddresses('::', undefined, HOST);
    expect(l.forPeer(p('::ffff:203.0.113.9')).text).toBe('192.0.2.2');
    expect(l.forPeer(p('2001:db8:9::9')).text).toBe('2001:db8::2');
    expect(l.forPeer(p('::1')).text).toBe('::1');
    expect(l.forPeer(p('fe80::99')).text).toBe('::');
  });

  it('a host with several addresses of a family is ambiguous: attach must be told (or told to match none)', () => {
    expect(() => new LocalAddresses('0.0.0.0', undefined, MULTI)).toThrow(/several IPv4 addresses \(192\.0\.2\.2, 198\.51\.100\.7\)/);
    expect(() => new LocalAddresses('::', '198.51.100.7', MULTI)).toThrow(/several IPv6 addresses/);
    const l = new LocalAddresses('::', ['198.51.100.7', '::'], MULTI);
    expect(l.forPeer(p('203.0.113.9')).text).toBe('198.51.100.7');
    expect(l.forPeer(p('127.0.0.1')).text).toBe('198.51.100.7'); // the embedder said so, for every peer of the family
    expect(l.forPeer(p('2001:db8:9::9')).text).toBe('::');
    expect(() => new LocalAddresses('::', ['10.0.0.1', '10.0.0.2'], MULTI)).toThrow(/two IPv4 addresses/);
    expect(() => new LocalAddresses('0.0.0.0', 'nope', MULTI)).toThrow(/not an IP address/);
  });
});
