/**
 * QuietClock (src/cli/live.ts): what makes a stdin capture "live" — its last packet's time within a minute of this
 * machine's clock — decides both whether a quiet input still moves capture time and how its flows end when the
 * input closes (`stop` for a live capture, `eof` for a recording). Property-tested against that one-line rule.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { QuietClock } from '../../src/cli/live.js';

const MINUTE_US = 60_000_000;

afterEach(() => {
  vi.useRealTimers();
});

describe('QuietClock', () => {
  it('is live exactly when the last packet was within a minute of the clock, and ends flows with stop then', () => {
    fc.assert(
      fc.property(
        // Away from the one-minute edge by a second both ways, so the test's own run time cannot decide it.
        fc.integer({ min: -10 * MINUTE_US, max: 10 * MINUTE_US }).filter((d) => Math.abs(Math.abs(d) - MINUTE_US) > 1_000_000),
        (offsetUs) => {
          const clock = new QuietClock(() => {});
          try {
            clock.saw(Date.now() * 1000 + offsetUs);
            const live = Math.abs(offsetUs) <= MINUTE_US;
            expect(clock.live).toBe(live);
            expect(clock.endReason).toBe(live ? 'stop' : 'eof');
          } finally {
            clock.stop();
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the last packet decides: a live capture whose last packet is a recording is a recording, and back', () => {
    const clock = new QuietClock(() => {});
    try {
      expect(clock.endReason).toBe('eof'); // no packet yet
      clock.saw(Date.now() * 1000);
      expect(clock.endReason).toBe('stop');
      clock.saw(1_700_000_000_000_000); // 2023
      expect(clock.endReason).toBe('eof');
      clock.saw(Date.now() * 1000 - 5_000_000);
      expect(clock.endReason).toBe('stop');
    } finally {
      clock.stop();
    }
  });

  it('moves a live capture time on while the input is quiet, never a recording', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance', 'Date'] });
    /** The capture times a clock hands to `advance` when its last packet was at `tsUs` and `ms` pass quietly. */
    const quietFor = (tsUs: number, ms: number): number[] => {
      const seen: number[] = [];
      const clock = new QuietClock((us) => seen.push(us), 1000);
      clock.saw(tsUs);
      vi.advanceTimersByTime(ms);
      clock.stop();
      return seen;
    };
    const t0 = Date.now() * 1000;
    // Ticks at 1 s (quiet 1 s) and 2 s (quiet 2 s): the last packet's time plus the quiet time.
    expect(quietFor(t0, 2500)).toEqual([t0 + 1_000_000, t0 + 2_000_000]);

    // A quiet spell longer than the one-minute skew: the capture was live when its last packet was read, so its time
    // keeps following the clock (a 120 s UDP idle timeout must still expire on a quiet link).
    const t1 = Date.now() * 1000;
    const long = quietFor(t1, 130_500);
    expect(long).toHaveLength(130);
    expect(long.at(-1)).toBe(t1 + 130_000_000);

    expect(quietFor(1_700_000_000_000_000, 5000)).toEqual([]);
  });
});
