import { call, type SystemHarness } from './harness';
import type { OrderAnswer, OrderLoad } from './order-load';

const MIDTRANS_AUTH = `Basic ${Buffer.from('local-midtrans-server-key:').toString('base64')}`;
const XENDIT_AUTH = `Basic ${Buffer.from('local-xendit-secret-key:').toString('base64')}`;

/** Losses and duplicates found by the end-of-run checks (each entry names the order). */
export interface Findings {
  orders: number;
  dispatches: number;
  paymentLinks: number;
  bbdOrders: number;
  losses: string[];
  duplicates: string[];
}

/**
 * Payable transactions for one payment-link reference at Midtrans and Xendit (the gateways that
 * can be asked by our reference; Nicepay can only be asked by its tXid, see README).
 */
export async function payableAt(sys: SystemHarness, reference: string): Promise<string[]> {
  const payable: string[] = [];
  const midtrans = await call<{ transaction_status?: string }>(
    'GET',
    `${sys.downstreamUrl('midtrans')}/v2/${encodeURIComponent(reference)}/status`,
    undefined,
    { authorization: MIDTRANS_AUTH },
  );
  if (midtrans.status === 200 && midtrans.body.transaction_status === 'pending') payable.push('midtrans');
  const xendit = await call<Array<{ status: string }>>(
    'GET',
    `${sys.downstreamUrl('xendit')}/v2/invoices?external_id=${encodeURIComponent(reference)}`,
    undefined,
    { authorization: XENDIT_AUTH },
  );
  if (xendit.status === 200 && Array.isArray(xendit.body))
    for (const invoice of xendit.body) if (invoice.status === 'PENDING') payable.push('xendit');
  return payable;
}

/**
 * Waits until every order answered 2xx is settled (dispatched at BBD or driver assigned by an
 * operator; an online one has its payment link), then checks that each order, dispatch and
 * payment link exists exactly once, and that no BBD order belongs to an order we never got.
 */
export async function checkEveryAnswer(
  sys: SystemHarness,
  load: OrderLoad,
  options: { settleMs: number; manuallyAssigned?: ReadonlySet<string>; bbdOrdersLost?: boolean },
): Promise<Findings> {
  const accepted = load.accepted;
  const orchestrator = sys.url('order-orchestrator');
  const final = new Map<string, OrderAnswer>();
  const deadline = Date.now() + options.settleMs;
  const settled = (o: OrderAnswer, method: string) =>
    ['dispatched', 'driver_assigned', 'completed'].includes(o.status) &&
    (method === 'cash' || o.payment !== null);
  for (;;) {
    for (const outcome of accepted) {
      if (final.has(outcome.order.id) && settled(final.get(outcome.order.id)!, outcome.paymentMethod))
        continue;
      const res = await call<OrderAnswer>('GET', `${orchestrator}/orders/${outcome.order.id}`).catch(
        () => undefined,
      );
      if (res?.status === 200) final.set(outcome.order.id, res.body);
    }
    const open = accepted.filter(
      (o) => !final.has(o.order.id) || !settled(final.get(o.order.id)!, o.paymentMethod),
    );
    if (open.length === 0 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  const losses: string[] = [];
  const duplicates: string[] = [];
  const ids = new Set<string>();
  for (const outcome of accepted) {
    const id = outcome.order.id;
    if (ids.has(id)) duplicates.push(`order ${id} answered for two idempotency keys`);
    ids.add(id);
    const order = final.get(id);
    if (!order)
      losses.push(`order ${id} (key ${outcome.idempotencyKey}) answered 2xx but GET /orders/${id} fails`);
    else if (!settled(order, outcome.paymentMethod))
      losses.push(
        `order ${id} never settled: status ${order.status}, payment ${JSON.stringify(order.payment)}`,
      );
  }

  const rows = await sys
    .db()
    .query<{ idempotency_key: string; n: string }>(
      `select idempotency_key, count(*) as n from "${sys.schema('order-orchestrator')}".orders group by 1 having count(*) > 1`,
    );
  for (const row of rows.rows)
    duplicates.push(`${row.n} order rows for idempotency key ${row.idempotency_key}`);

  const bbd = await sys.bbdOrders();
  const byPartner = new Map<string, number>();
  for (const o of bbd) byPartner.set(o.partnerOrderId, (byPartner.get(o.partnerOrderId) ?? 0) + 1);
  let dispatches = 0;
  let links = 0;
  for (const [id, order] of final) {
    const n = byPartner.get(id) ?? 0;
    if (n > 1) duplicates.push(`order ${id} reached BBD ${n} times`);
    const manual = options.manuallyAssigned?.has(id) ?? false;
    if (n === 0 && !manual && !options.bbdOrdersLost)
      losses.push(`order ${id} (${order.status}) never reached BBD`);
    if (order.dispatch.dispatchId) {
      const d = await call<{ orderId: string }>(
        'GET',
        `${sys.url('taxi-partner-gateway')}/dispatches/${order.dispatch.dispatchId}`,
      );
      if (d.status !== 200 || d.body.orderId !== id)
        losses.push(`dispatch ${order.dispatch.dispatchId} of order ${id}: GET → ${d.status}`);
      else dispatches++;
    } else if (order.status !== 'dispatch_pending') {
      losses.push(`order ${id} is ${order.status} without a dispatchId`);
    }
    if (order.payment) {
      const link = await call<{ orderId: string; gateway: string; status: string }>(
        'GET',
        `${sys.url('payment-processor')}/payment-links/${order.payment.linkId}`,
      );
      if (link.status !== 200 || link.body.orderId !== id)
        losses.push(`payment link ${order.payment.linkId} of order ${id}: GET → ${link.status}`);
      else links++;
      const payable = await payableAt(sys, order.payment.linkId);
      const expected = order.payment.gateway === 'nicepay' ? [] : [order.payment.gateway];
      if (payable.length > expected.length)
        duplicates.push(
          `payment link ${order.payment.linkId} payable at ${payable.join('+')} (link says ${order.payment.gateway})`,
        );
      else if (JSON.stringify(payable) !== JSON.stringify(expected) && !options.bbdOrdersLost)
        losses.push(
          `payment link ${order.payment.linkId} not payable at ${order.payment.gateway} (payable: ${payable.join('+') || 'none'})`,
        );
    }
  }
  const known = new Set(final.keys());
  const strangers = bbd.filter((o) => !known.has(o.partnerOrderId) && !o.partnerOrderId.startsWith('probe-'));
  for (const s of strangers)
    duplicates.push(`BBD order ${s.orderId} for unknown partnerOrderId ${s.partnerOrderId}`);
  return { orders: final.size, dispatches, paymentLinks: links, bbdOrders: bbd.length, losses, duplicates };
}

/** Waits until no outbox or queue of any running service holds pending, claimed, replaying or failed entries. */
export async function waitForDrainedQueues(sys: SystemHarness, timeoutMs: number): Promise<string[]> {
  const services = ['order-orchestrator', 'taxi-partner-gateway', 'payment-processor'] as const;
  const deadline = Date.now() + timeoutMs;
  let busy: string[] = [];
  for (;;) {
    busy = (
      await Promise.all(services.map((s) => sys.busyQueues(s).catch(() => [`${s}: /metrics failed`])))
    ).flat();
    if (busy.length === 0 || Date.now() > deadline) return busy;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
