import { mayAdvance, orderStatusOfDispatch, orderStatusOfEvent } from './order-status';

describe('order status rules', () => {
  it('moves forward only', () => {
    expect(mayAdvance({ status: 'dispatch_pending', lastSequence: null }, { status: 'dispatched' })).toBe(
      true,
    );
    expect(mayAdvance({ status: 'dispatched', lastSequence: null }, { status: 'driver_assigned' })).toBe(
      true,
    );
    expect(mayAdvance({ status: 'driver_assigned', lastSequence: null }, { status: 'dispatched' })).toBe(
      false,
    );
    expect(mayAdvance({ status: 'dispatched', lastSequence: null }, { status: 'dispatched' })).toBe(false);
  });

  it('never leaves a terminal status', () => {
    expect(mayAdvance({ status: 'cancelled', lastSequence: null }, { status: 'completed' })).toBe(false);
    expect(mayAdvance({ status: 'completed', lastSequence: null }, { status: 'cancelled' })).toBe(false);
  });

  it('ignores an event older by sequence than one applied', () => {
    expect(
      mayAdvance({ status: 'dispatched', lastSequence: 5 }, { status: 'driver_assigned', sequence: 4 }),
    ).toBe(false);
    expect(
      mayAdvance({ status: 'dispatched', lastSequence: 5 }, { status: 'driver_assigned', sequence: 6 }),
    ).toBe(true);
  });

  it('maps TPG names to order statuses', () => {
    expect(orderStatusOfEvent('queued')).toBe('awaiting_manual_dispatch');
    expect(orderStatusOfEvent('driver_assigned')).toBe('driver_assigned');
    expect(orderStatusOfDispatch('pending')).toBe('dispatch_pending');
    expect(orderStatusOfDispatch('queued')).toBe('awaiting_manual_dispatch');
  });
});
