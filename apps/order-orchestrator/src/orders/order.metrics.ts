import { Counter, type Registry } from 'prom-client';
import type { OrderStatus } from '../database/orders.tables';

function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
): Counter<L> {
  return (
    (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Counter<L>({ name, help, labelNames, registers: [registry] })
  );
}

/** orders_total{status} and order_degraded_answers_total{reason}. */
export class OrderMetrics {
  private readonly orders: Counter<'status'>;
  private readonly degraded: Counter<'reason'>;

  constructor(registry: Registry) {
    this.orders = counter(registry, 'orders_total', 'Orders taken, by the status answered', ['status']);
    this.degraded = counter(
      registry,
      'order_degraded_answers_total',
      'POST /orders answers served degraded, by the dependency that was missing',
      ['reason'],
    );
  }

  taken(status: OrderStatus, degraded: string[]): void {
    this.orders.inc({ status });
    for (const reason of degraded) this.degraded.inc({ reason });
  }
}
