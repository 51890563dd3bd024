import { settleWithin } from './settle-within';

describe('settleWithin', () => {
  it('gives the value or the rejection of a promise that settles in time', async () => {
    expect(await settleWithin(Promise.resolve(42), 50)).toEqual({ ok: true, value: 42 });
    const err = new Error('refused');
    expect(await settleWithin(Promise.reject(err), 50)).toEqual({ ok: false, error: err });
  });

  it('gives undefined once the time is up, and the late rejection stays handled', async () => {
    jest.useFakeTimers();
    try {
      let reject: (err: Error) => void = () => undefined;
      const late = new Promise<never>((_, r) => (reject = r));
      const settled = settleWithin(late, 1000);
      await jest.advanceTimersByTimeAsync(1000);
      expect(await settled).toBeUndefined();
      reject(new Error('too late'));
      await jest.advanceTimersByTimeAsync(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
