import type {
  OrderDispatch,
  OrderPayment,
  OrderRow,
  OrderStatus,
  OrderUser,
} from '../database/orders.tables';

/** An order as the API shows it. */
export interface OrderView {
  id: string;
  status: OrderStatus;
  userId: string;
  sessionId: string;
  paymentMethod: string;
  fare: { amount: number; currency: string };
  user: OrderUser;
  payment: OrderPayment | null;
  dispatch: OrderDispatch;
  degraded: string[];
  vehicle?: unknown;
  createdAt: string;
  updatedAt: string;
}

/** The row as the API shows it; a degradation repaired since (by an outbox) is no longer listed. */
export function toOrderView(row: OrderRow): OrderView {
  const payment = row.payment as OrderPayment | null;
  const dispatch = row.dispatch as OrderDispatch;
  const degraded = (row.degraded as string[]).filter(
    (reason) =>
      !(reason === 'payment-processor' && payment !== null) &&
      !(reason === 'taxipartnergateway' && dispatch.status !== 'pending'),
  );
  return {
    id: row.id,
    status: row.status,
    userId: row.user_id,
    sessionId: row.session_id,
    paymentMethod: row.payment_method,
    fare: row.fare as { amount: number; currency: string },
    user: row.user_info as OrderUser,
    payment,
    dispatch,
    degraded,
    ...(row.vehicle === null ? {} : { vehicle: row.vehicle }),
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
