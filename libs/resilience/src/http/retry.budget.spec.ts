import { RetryBudget } from './retry.budget';

describe('RetryBudget', () => {
  it('allows minRetries at no volume, then ratio × requests more', () => {
    let now = 0;
    const budget = new RetryBudget({ clock: () => now });
    expect([1, 2, 3, 4].map(() => budget.tryAcquireRetry())).toEqual([true, true, true, false]);
    for (let i = 0; i < 10; i++) budget.recordRequest();
    expect(budget.tryAcquireRetry()).toBe(true); // 4 ≤ 0.2×10 + 3
    expect(budget.tryAcquireRetry()).toBe(true); // 5 ≤ 5
    expect(budget.tryAcquireRetry()).toBe(false);
    now += 30_000;
    expect(budget.totals()).toEqual({ requests: 10, retries: 5 });
  });

  it('forgets buckets that slide out of the window', () => {
    let now = 0;
    const budget = new RetryBudget({ clock: () => now, windowMs: 60_000, buckets: 6 });
    for (let i = 0; i < 50; i++) budget.recordRequest();
    now = 30_000;
    for (let i = 0; i < 50; i++) budget.recordRequest();
    expect(budget.totals().requests).toBe(100);
    now = 60_000; // the first bucket [0, 10 s) has left the window
    expect(budget.totals().requests).toBe(50);
    now = 90_000;
    expect(budget.totals().requests).toBe(0);
  });

  it('rejects invalid options', () => {
    expect(() => new RetryBudget({ ratio: -1 })).toThrow(/ratio/);
    expect(() => new RetryBudget({ buckets: 0 })).toThrow(/buckets/);
  });
});
