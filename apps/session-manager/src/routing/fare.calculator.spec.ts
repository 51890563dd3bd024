import { computeFare } from './fare.calculator';

describe('computeFare', () => {
  const tariff = { flagFallIdr: 7000, perKmIdr: 3500, perMinuteIdr: 500, minimumFareIdr: 12000 };

  it('adds flag fall, distance and time, rounded to an integer', () => {
    expect(computeFare({ distanceMeters: 10_000, durationSeconds: 1_800 }, tariff)).toEqual({
      amount: 7000 + 35_000 + 15_000,
      currency: 'IDR',
    });
    expect(Number.isInteger(computeFare({ distanceMeters: 1234, durationSeconds: 77 }, tariff).amount)).toBe(
      true,
    );
  });

  it('never goes below the minimum fare', () => {
    expect(computeFare({ distanceMeters: 100, durationSeconds: 30 }, tariff).amount).toBe(12000);
  });
});
