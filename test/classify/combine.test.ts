import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { combine } from '../../src/classify/combine.js';
import type { Evidence, Strength } from '../../src/detect/types.js';

const ev = (source: string, strength: Strength, rule = `${source}.r`, packet = 0, protocol = source): Evidence => ({
  source,
  protocol,
  strength,
  rule,
  reason: 'test',
  packet,
});

describe('combine (evidence → verdict table)', () => {
  it('no evidence is not VPN', () => {
    expect(combine([]).isVpn).toBe(false);
  });
  it('one strong structural item decides alone, final', () => {
    const c = combine([ev('wireguard', 'strong')]);
    expect(c).toMatchObject({ isVpn: true, protocol: 'wireguard', confidence: 0.95, final: true });
  });
  it('strong + corroboration of the same protocol raises confidence', () => {
    expect(combine([ev('wireguard', 'strong'), ev('wireguard', 'medium', 'wg.init')]).confidence).toBe(0.99);
    expect(combine([ev('wireguard', 'strong'), ev('vpn-endpoints', 'medium')]).confidence).toBe(0.99);
  });
  it('a name bound by a DNS answer corroborates structure but never decides alone; weak bindings count for nothing', () => {
    const bound = (strength: Strength): Evidence => ({ ...ev('vpn-domains', strength, 'dns-binding.list', 0, 'vpn-provider'), kind: 'name' });
    expect(combine([bound('medium')]).isVpn).toBe(false);
    expect(combine([ev('wireguard', 'medium', 'wg.init'), bound('medium')])).toMatchObject({ isVpn: true, protocol: 'wireguard', confidence: 0.9 });
    expect(combine([ev('wireguard', 'medium', 'wg.init'), bound('weak')]).isVpn).toBe(false);
    expect(combine([ev('wireguard', 'strong'), bound('medium')]).confidence).toBe(0.99);
    expect(combine([ev('wireguard', 'strong'), bound('weak')]).confidence).toBe(0.95);
    // An SNI or Host on the list still decides alone (it is the flow's own statement).
    expect(combine([{ ...ev('vpn-domains', 'medium', 'sni.list', 0, 'vpn-provider'), kind: 'name' }]).isVpn).toBe(true);
  });
  it('a lone medium structural item does not decide', () => {
    expect(combine([ev('openvpn', 'medium')]).isVpn).toBe(false);
  });
  it('two medium items of one protocol from different rules decide; one rule twice does not', () => {
    expect(combine([ev('openvpn', 'medium', 'a', 0), ev('openvpn', 'medium', 'b', 0)])).toMatchObject({ isVpn: true, confidence: 0.85 });
    expect(combine([ev('openvpn', 'medium', 'a', 0), ev('openvpn', 'medium', 'a', 1)]).isVpn).toBe(false);
  });
  it('a refining protocol (tailscale, cloudflare-warp) wins over wireguard at equal strength', () => {
    expect(combine([ev('wireguard', 'strong'), ev('tailscale', 'strong')]).protocol).toBe('tailscale');
    expect(combine([ev('cloudflare-warp', 'strong'), ev('wireguard', 'strong')]).protocol).toBe('cloudflare-warp');
  });
  it('two medium items of different protocols do not corroborate each other', () => {
    expect(combine([ev('openvpn', 'medium'), ev('wireguard', 'medium')]).isVpn).toBe(false);
  });
  it('the same medium item twice is one item', () => {
    expect(combine([ev('openvpn', 'medium', 'a', 0), ev('openvpn', 'medium', 'a', 0)]).isVpn).toBe(false);
  });
  it('list hits decide alone (operator statements)', () => {
    expect(combine([ev('vpn-endpoints', 'medium', 'endpoint.list', 0, 'vpn-endpoint')])).toMatchObject({ isVpn: true, confidence: 0.75 });
    expect(combine([ev('vpn-domains', 'medium', 'sni.list', 0, 'vpn-provider')])).toMatchObject({ isVpn: true, confidence: 0.7 });
  });
  it('medium structure + list hit decides with the structural protocol', () => {
    expect(combine([ev('openvpn', 'medium'), ev('vpn-endpoints', 'medium')])).toMatchObject({ isVpn: true, protocol: 'openvpn', confidence: 0.9 });
  });
  it('weak items never decide, however many', () => {
    expect(combine([ev('a', 'weak'), ev('b', 'weak'), ev('vpn-domains', 'weak', 'dns.list')]).isVpn).toBe(false);
  });
  it('registration items never make a flow VPN', () => {
    expect(combine([ev('registered', 'medium', 'registered.prefix')]).isVpn).toBe(false);
    expect(combine([ev('registered', 'strong', 'registered.prefix')]).isVpn).toBe(false);
  });
  it('property: VPN iff (strong) or (list) or (two same-protocol medium); deterministic under reordering', () => {
    const item = fc.record({
      source: fc.constantFrom('wireguard', 'openvpn', 'ike', 'vpn-endpoints', 'vpn-domains', 'registered'),
      strength: fc.constantFrom<Strength>('strong', 'medium', 'weak'),
      rule: fc.constantFrom('r1', 'r2'),
      packet: fc.integer({ min: 0, max: 2 }),
    });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 8 }), (raw) => {
        const items = raw.map((r) => ev(r.source, r.strength, r.rule, r.packet));
        const c = combine(items);
        const structural = items.filter((e) => !['vpn-endpoints', 'vpn-domains', 'registered'].includes(e.source));
        const hasStrong = structural.some((e) => e.strength === 'strong');
        const hasList = items.some((e) => (e.source === 'vpn-endpoints' || e.source === 'vpn-domains') && e.strength !== 'weak');
        const meds = structural.filter((e) => e.strength === 'medium');
        const twoMed = [...new Set(meds.map((e) => e.protocol))].some(
          (p) => new Set(meds.filter((e) => e.protocol === p).map((e) => e.rule)).size >= 2,
        );
        expect(c.isVpn).toBe(hasStrong || hasList || twoMed);
        const r = combine([...items].reverse());
        expect(r.isVpn).toBe(c.isVpn);
        expect(r.protocol).toBe(c.protocol);
        expect(r.confidence).toBe(c.confidence);
      }),
      { numRuns: 500 },
    );
  });

  it('property: the protocol two medium rules corroborate is the one a per-protocol set of rules gives (oracle)', () => {
    const REFINES: Record<string, string> = { tailscale: 'wireguard', 'cloudflare-warp': 'wireguard', pulse: 'ipsec' };
    const prefer = (a: string, b: string): boolean => (REFINES[a] === b ? true : REFINES[b] === a ? false : a < b);
    // The rule as first written: distinct medium rules collected per protocol, protocols weighed in first-seen order.
    const oracle = (items: readonly Evidence[]): string | null => {
      const keys = new Map<string, Set<string>>();
      for (const e of items) {
        if (e.source === 'registered' || e.source === 'vpn-endpoints' || e.kind === 'list' || e.rule === 'dns-binding.list') continue;
        if (e.source === 'vpn-domains' || e.kind === 'name' || e.source === 'companion' || e.kind === 'relation') continue;
        if (e.strength !== 'medium') continue;
        if (!keys.has(e.protocol)) keys.set(e.protocol, new Set());
        keys.get(e.protocol)!.add(e.rule);
      }
      let two: string | null = null;
      for (const [p, set] of keys) if (set.size >= 2 && (two === null || prefer(p, two))) two = p;
      return two;
    };
    const item = fc.record({
      source: fc.constantFrom('wireguard', 'openvpn', 'ike', 'vpn-endpoints', 'vpn-domains', 'companion', 'registered'),
      protocol: fc.constantFrom('wireguard', 'tailscale', 'cloudflare-warp', 'ipsec', 'pulse', 'openvpn'),
      strength: fc.constantFrom<Strength>('medium', 'medium', 'weak', 'strong'),
      rule: fc.constantFrom('r1', 'r2', 'r3', 'dns-binding.list'),
      kind: fc.constantFrom<'name' | 'list' | 'relation' | null>(null, 'name', 'list', 'relation'),
    });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 16 }), (raw) => {
        const items: Evidence[] = raw.map((r) => (r.kind ? { ...ev(r.source, r.strength, r.rule, 0, r.protocol), kind: r.kind } : ev(r.source, r.strength, r.rule, 0, r.protocol)));
        const c = combine(items);
        const two = oracle(items);
        // Only the medium-pair row can name `two`'s protocol at 0.85; everything above it is unchanged by it.
        if (c.confidence === 0.85) expect(c.protocol).toBe(two);
        else if (!c.final && c.confidence < 0.85) expect(two).toBeNull();
      }),
      { numRuns: 3000 },
    );
  });
});
