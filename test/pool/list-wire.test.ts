/**
 * What a list reload costs the pool's threads. A reload of a big registration list with workers delayed verdicts
 * by ~1 s (1.5M prefixes): past the parse, the main thread and then every worker checked every value again and
 * walked the tables they had just packed. The shared views of a checked list stay checked, and a worker's view of
 * the pool's own buffer answers as the list does.
 */
import { describe, expect, it } from 'vitest';
import { isCheckedCidrMap, parseCidrList } from '../../src/lists/cidr-list.js';
import { fromWireCidr, sharedCidr, toWire } from '../../src/pool/protocol.js';
import { createClassifier } from '../../src/classify/classifier.js';
import { CidrMap } from '../../src/trie/cidr-map.js';

const text = Array.from({ length: 2000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24,org-${i % 7}`).join('\n') + '\n2001:db8::/32,v6\n';

describe('list wire between the pool and its workers', () => {
  it("the main thread's shared view of a loaded (checked) list is still checked: its values are not checked again", () => {
    const loaded = parseCidrList(text).toMap();
    expect(isCheckedCidrMap(loaded)).toBe(true);
    const view = sharedCidr(loaded)!;
    expect(view).not.toBe(loaded);
    expect(isCheckedCidrMap(view)).toBe(true);
  });

  it("a worker's view of the pool's snapshot is checked, answers as the list does, and a map built by a caller is checked first", () => {
    const c = createClassifier({});
    c.update({ registered: sharedCidr(parseCidrList(text).toMap())! });
    const w = toWire(c.lists).registered!;
    const view = fromWireCidr(w, { snapshot: true })!;
    expect(isCheckedCidrMap(view)).toBe(true);
    expect(view.lookup('10.3.7.9')).toBe('org-' + (((3 << 8) | 7) % 7));
    expect(view.lookup('2001:db8::1')).toBe('v6');
    expect(view.lookup('192.0.2.1')).toBeUndefined();
    // Built by a caller, not checked: its values are checked before it is shared.
    expect(() => sharedCidr(CidrMap.from<string>([['10.0.0.0/8', 'bad\u202evalue']]))).toThrow(/U\+202E/);
  });
});
