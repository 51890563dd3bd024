import { HttpClientError, type DeferredQueueEntry } from '@app/resilience';
import { Registry } from 'prom-client';
import type { BbdClient, BbdOrder } from '../clients/bbd.client';
import type { BbdCancelPayload } from '../dispatch/dispatch.types';
import {
  DUPLICATE_BBD_ORDERS_CANCELLED,
  DUPLICATE_BBD_ORDERS_KEPT,
  DuplicateBbdOrderCanceller,
} from './duplicate-bbd-order.canceller';

/** BBD's orders for the partnerOrderId, and the cancels it was asked for. */
class FakeBbd {
  orders: BbdOrder[] = [];
  cancelled: string[] = [];
  refuseCancel = new Set<string>();

  async findByPartnerOrderIdWithin(): Promise<BbdOrder[]> {
    return this.orders;
  }

  async cancelOrderWithin(orderId: string): Promise<BbdOrder> {
    if (this.refuseCancel.has(orderId))
      throw new HttpClientError('bbd', 409, { error: { code: 'ORDER_COMPLETED' } });
    this.cancelled.push(orderId);
    const order = this.orders.find((o) => o.orderId === orderId);
    if (!order) throw new Error(`unknown ${orderId}`);
    return { ...order, status: 'cancelled' };
  }
}

const order = (orderId: string, status: string): BbdOrder => ({
  orderId,
  partnerOrderId: 'o-1',
  status,
  vehicle: null,
});
const entry = {
  payload: { dispatchId: 'd-1', partnerOrderId: 'o-1' },
} as DeferredQueueEntry<BbdCancelPayload>;

describe('DuplicateBbdOrderCanceller', () => {
  let bbd: FakeBbd;
  let registry: Registry;
  let canceller: DuplicateBbdOrderCanceller;

  beforeEach(() => {
    bbd = new FakeBbd();
    registry = new Registry();
    canceller = new DuplicateBbdOrderCanceller(bbd as unknown as BbdClient, registry);
  });

  async function counted(name: string): Promise<Record<string, number>> {
    const metric = await registry.getSingleMetric(name)?.get();
    return Object.fromEntries(
      (metric?.values ?? []).map((v) => [String(v.labels.bbd_status ?? ''), v.value]),
    );
  }

  it('cancels only BBD orders before pickup; an on-trip or completed one is kept, reported and counted', async () => {
    bbd.orders = [
      order('B-search', 'searching'),
      order('B-assigned', 'driver_assigned'),
      order('B-trip', 'on_trip'),
      order('B-done', 'completed'),
      order('B-gone', 'cancelled'),
    ];
    expect(await canceller.cancelDuplicates(entry, new AbortController().signal)).toEqual({
      cancelled: ['B-search', 'B-assigned'],
      onTrip: ['B-trip'],
      completed: ['B-done'],
    });
    // The BBD taxi on trip carries the passenger: cancelling it would leave them on the road.
    expect(bbd.cancelled).toEqual(['B-search', 'B-assigned']);
    expect(await counted(DUPLICATE_BBD_ORDERS_CANCELLED)).toEqual({ '': 2 });
    expect(await counted(DUPLICATE_BBD_ORDERS_KEPT)).toEqual({ on_trip: 1, completed: 1, unknown: 0 });
  });

  it('a trip that ended between lookup and cancel (409) is kept as completed; an unknown status is not cancelled', async () => {
    bbd.orders = [order('B-raced', 'driver_assigned'), order('B-new', 'arrived_at_pickup')];
    bbd.refuseCancel.add('B-raced');
    expect(await canceller.cancelDuplicates(entry, new AbortController().signal)).toEqual({
      cancelled: [],
      onTrip: [],
      completed: ['B-raced'],
    });
    expect(bbd.cancelled).toEqual([]);
    expect(await counted(DUPLICATE_BBD_ORDERS_KEPT)).toEqual({ on_trip: 0, completed: 1, unknown: 1 });
  });
});
