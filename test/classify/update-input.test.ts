/**
 * `update()` and `createClassifier()` check their list inputs with the documented typed errors (issue 18, defect 8):
 * `update(null)`, `{registered: [[1, 2]]}` and `{registered: {entries: 5}}` threw plain TypeErrors, and a prefix with
 * no registrant or an object as registrant was accepted (an `undefined` registrant in verdicts). A rejected update
 * leaves the previous lists in force.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import { CidrError, InvalidArgumentError, TunnelscopeError } from '../../src/errors.js';
import { parseCidrList } from '../../src/lists/cidr-list.js';
import { CidrMap } from '../../src/trie/cidr-map.js';
import { sharedLists } from '../../src/pool/protocol.js';

const BAD: [string, unknown, RegExp][] = [
  ['null', null, /^lists: expected an object/],
  ['undefined', undefined, /^lists: expected an object/],
  ['a number', 5, /^lists: expected an object/],
  ['an array', [['10.0.0.0/8', 'a']], /^lists: expected an object/],
  ['registered: [[1, 2]]', { registered: [[1, 2]] }, /^registered entry 1: the entry must be a string, got 1$/],
  ['registered: { entries: 5 }', { registered: { entries: 5 } }, /^registered: \{ entries \} must be an iterable/],
  ['registered: a string', { registered: '10.0.0.0/8' }, /^registered: expected a list/],
  ['a prefix with no registrant', { registered: [['10.0.0.0/8']] }, /^registered entry 1: expected an \[entry, value\] pair/],
  ['an object as registrant', { registered: [['10.0.0.0/8', { id: 1 }]] }, /^registered entry 1: the value must be a string, got Object$/],
  ['undefined as registrant', { registered: [['192.0.2.0/24', 'ok'], ['10.0.0.0/8', undefined]] }, /^registered entry 2: the value must be a string, got undefined$/],
  ['a registrant with ESC', { registered: [['10.0.0.0/8', 'acme\x1b[31m']] }, /^registered entry 1: value "acme\\u001b\[31m": control, bidi-formatting or invisible character U\+001B/],
  ['a provider with a bidi override', { vpnDomains: [['nordvpn.com', 'Nord\u202eNPV']] }, /^vpnDomains entry 1: value "Nord\\u202eNPV"/],
  ['an endpoint entry that is null', { vpnEndpoints: [null] }, /^vpnEndpoints entry 1: expected an \[entry, value\] pair, got null$/],
  ['a domain entry that is a number', { vpnDomains: [[7, 'x']] }, /^vpnDomains entry 1: the entry must be a string/],
  ['names that are not strings', { names: { registered: 5 } }, /^lists: names.registered must be a string/],
  ['a built map with a non-string value', { registered: CidrMap.from([['10.0.0.0/8', 42 as unknown as string]]) }, /^registered entry 1: the value must be a string, got 42$/],
];

describe('update() refuses bad list input with typed errors and keeps the previous lists', () => {
  for (const [name, input, message] of BAD) {
    it(name, () => {
      const c = createClassifier({ registered: [['203.0.113.0/24', 'acme']] });
      let e: unknown;
      try {
        c.update(input as never);
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).code).toBe('TS_INVALID_ARG');
      expect((e as Error).message).toMatch(message);
      expect(c.listVersion).toBe(1);
      expect(c.lists.registered!.lookup('203.0.113.9')).toBe('acme');
      // createClassifier checks the same way
      if (input !== undefined) expect(() => createClassifier(input as never)).toThrow(InvalidArgumentError);
    });
  }

  it('bad prefixes are still CidrErrors', () => {
    expect(() => createClassifier().update({ registered: [['10.0.0.0/33', 'x']] })).toThrow(CidrError);
  });

  it('property: any input is accepted or refused with a TunnelscopeError, never a TypeError', () => {
    const pair = fc.oneof(fc.tuple(fc.constantFrom('10.0.0.0/8', 'nordvpn.com', '::/0', 'x'), fc.oneof(fc.string(), fc.anything())), fc.anything());
    const list = fc.oneof(fc.anything(), fc.array(pair, { maxLength: 4 }), fc.record({ entries: fc.oneof(fc.anything(), fc.array(pair, { maxLength: 4 })) }));
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.record({ registered: list, vpnEndpoints: list, vpnDomains: list, names: fc.anything() }, { requiredKeys: [] })), (input) => {
        const c = createClassifier();
        try {
          c.update(input as never);
        } catch (e) {
          expect(e).toBeInstanceOf(TunnelscopeError);
          expect(c.listVersion).toBe(1);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('a map the list loader built', () => {
  it('goes into service without a second check of its values, unless its default value would fail that check', () => {
    const ok = parseCidrList('10.0.0.0/8,acme\n192.0.2.0/24\n', { defaultValue: 'unlisted' }).toMap();
    expect(createClassifier({ registered: ok }).lists.registered).toBe(ok);
    // The scanner checks the values it reads; the default value is the caller's and is checked here as before.
    const bad = parseCidrList('10.0.0.0/8,acme\n192.0.2.0/24\n', { defaultValue: 'x\x1b[2J' }).toMap();
    expect(() => createClassifier({ registered: bad })).toThrow(/^registered entry 2: value "x\\u001b\[2J": control, bidi-formatting or invisible character U\+001B/);
  });
});

describe('a list given as undefined is left out, as in createClassifier; a misspelt list is refused', () => {
  // Found by `c.update({ registered: undefined })` from an embedder's `{ registered: config.registered }`: the
  // registered list was dropped (every registered VPN became unregistered), while createClassifier reads an
  // undefined list as one left out.
  const fresh = () => createClassifier({ registered: [['203.0.113.0/24', 'acme']], vpnEndpoints: [['198.51.100.0/24', 'corp']], vpnDomains: [['nordvpn.com', 'Nord']] });

  it('update({ list: undefined }) keeps each list in force; null removes it', () => {
    for (const k of ['registered', 'vpnEndpoints', 'vpnDomains'] as const) {
      const c = fresh();
      const before = c.lists[k];
      expect(c.update({ [k]: undefined })).toBe(2);
      expect(c.lists[k], k).toBe(before);
      c.update({ [k]: null });
      expect(c.lists[k], k).toBeNull();
    }
  });

  it("the pool's shared-list step keeps undefined lists out too (pool.update goes through it)", () => {
    const out = sharedLists({ registered: undefined, vpnEndpoints: undefined, vpnDomains: [['a.example', 'A']] });
    const c = fresh();
    c.update(out);
    expect(c.lists.registered!.lookup('203.0.113.9')).toBe('acme');
    expect(c.lists.vpnEndpoints!.lookup('198.51.100.1')).toBe('corp');
    expect(sharedLists({ registered: null }).registered).toBeNull();
  });

  it('update() refuses a key that is no list, and changes nothing', () => {
    const c = fresh();
    expect(() => c.update({ registred: [['10.0.0.0/8', 'x']] } as never)).toThrow(/^lists: unknown key "registred" \(expected registered, vpnEndpoints, vpnDomains, names, version\)$/);
    expect(c.listVersion).toBe(1);
    expect(c.update({ registered: [['10.0.0.0/8', 'x']], names: { registered: 'r.txt' }, version: 7 })).toBe(7);
  });
});

describe('createClassifier and createClassifierPool refuse an option they do not know', () => {
  it('a misspelt list (registred) is refused, not silently left out (every registered VPN would be unregistered)', () => {
    expect(() => createClassifier({ registred: [['10.0.0.0/8', 'acme']] } as never)).toThrow(/createClassifier: unknown option "registred" \(expected registered, /);
    expect(() => createClassifier({ companionWindow: 5 } as never)).toThrow(InvalidArgumentError);
    // Every documented option is taken.
    const c = createClassifier({ registered: [], vpnEndpoints: null, vpnDomains: undefined, names: {}, version: 3, flow: {}, companionWindowS: 1, sslVpnEspPorts: [4500], sideConnectionWindowS: 1 });
    expect(c.listVersion).toBe(3);
  });
  it('the pool checks its own options and the classifier\'s', async () => {
    const { createClassifierPool } = await import('../../src/pool/pool.js');
    expect(() => createClassifierPool({ worker: 2 } as never)).toThrow(/createClassifierPool: unknown option "worker" \(expected .*workers/);
    expect(() => createClassifierPool({ registred: [] } as never)).toThrow(InvalidArgumentError);
  });
});
