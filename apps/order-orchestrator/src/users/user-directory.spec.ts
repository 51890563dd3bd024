import { HttpClientError, HttpConnectionError, ServiceUnavailableError, StaleCache } from '@app/resilience';
import { PassThroughBreaker } from '../../../../libs/resilience/src/http/testing/breaker.doubles';
import type { UserProfile } from '../clients/downstream.types';
import type { UserServiceClient } from '../clients/user-service.client';
import { UnknownUserError, UserDirectory } from './user-directory';

const alice: UserProfile = { id: 'u-alice', name: 'Alice', email: 'alice@example.com', phone: '+62811' };

function setup() {
  let now = 0;
  const answers: Array<UserProfile | Error> = [];
  const client = {
    get: jest.fn(async () => {
      const next = answers.shift();
      if (next === undefined || next instanceof Error) throw next ?? new Error('no answer scripted');
      return next;
    }),
  } as unknown as UserServiceClient & { get: jest.Mock };
  const cache = new StaleCache<UserProfile>({ name: 'users', clock: () => now });
  const directory = new UserDirectory(client, new PassThroughBreaker('user-service'), cache, {
    freshTtlMs: 1000,
    staleTtlMs: 10_000,
  });
  return { directory, client, answers, advance: (ms: number) => (now += ms) };
}

describe('UserDirectory', () => {
  it('serves the stale copy on a plain failure (not only when the breaker is open)', async () => {
    const { directory, answers, advance } = setup();
    answers.push(alice, new HttpConnectionError('user-service', 'refused', false));
    expect(await directory.get('u-alice')).toEqual({ user: alice, stale: false });
    advance(1500);
    expect(await directory.get('u-alice')).toEqual({ user: alice, stale: true });
  });

  it('does not cover a 404 with a stale copy', async () => {
    const { directory, answers, advance } = setup();
    answers.push(alice, new HttpClientError('user-service', 404, {}));
    await directory.get('u-alice');
    advance(1500);
    await expect(directory.get('u-alice')).rejects.toBeInstanceOf(UnknownUserError);
    expect(await directory.isCached('u-alice')).toBe(false);
  });

  it('is unavailable when nothing is cached and user-service fails', async () => {
    const { directory, answers } = setup();
    answers.push(new HttpConnectionError('user-service', 'timeout', true));
    await expect(directory.get('u-bob')).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(await directory.isCached('u-bob')).toBe(false);
  });
});
