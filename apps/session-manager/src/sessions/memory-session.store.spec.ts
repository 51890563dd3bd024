import { MemorySessionStore } from './memory-session.store';
import type { Session } from './session.types';

const session = (id: string, expiresAtMs: number): Session => ({
  id,
  userId: 'u-1',
  pickup: { lat: 0, lng: 0 },
  dropoff: { lat: 0, lng: 0 },
  createdAt: new Date(0).toISOString(),
  expiresAt: new Date(expiresAtMs).toISOString(),
  quote: {
    distanceMeters: 0,
    durationSeconds: 0,
    fare: { amount: 1, currency: 'IDR' },
    provider: 'estimate',
  },
});

describe('MemorySessionStore', () => {
  it('serves a session until its expiry, by the injected clock', async () => {
    let now = 1_000;
    const store = new MemorySessionStore(() => now);
    await store.save(session('a', 2_000));
    expect((await store.get('a'))?.id).toBe('a');
    now = 1_999;
    expect(await store.get('a')).toBeDefined();
    now = 2_000;
    expect(await store.get('a')).toBeUndefined();
    expect(await store.get('unknown')).toBeUndefined();
  });

  it('sweeps expired sessions on write so memory stays bounded', async () => {
    let now = 0;
    const store = new MemorySessionStore(() => now);
    for (let i = 0; i < 100; i++) await store.save(session(`s${i}`, now + 10));
    now = 11;
    await store.save(session('fresh', now + 10));
    expect(store.size).toBe(1);
  });
});
