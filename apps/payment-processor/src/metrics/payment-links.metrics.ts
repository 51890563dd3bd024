import { Inject, Injectable } from '@nestjs/common';
import { Gauge, Registry } from 'prom-client';
import { LINK_STATUSES } from '../database/payment.tables';
import { PaymentLinksRepository } from '../payment-links/payment-links.repository';
import { PAYMENT_REGISTRY } from '../payment.tokens';

/** payment_links{status}: read from Postgres at scrape time, so every replica reports the truth. */
@Injectable()
export class PaymentLinksMetrics {
  constructor(repository: PaymentLinksRepository, @Inject(PAYMENT_REGISTRY) registry: Registry) {
    new Gauge({
      name: 'payment_links',
      help: 'Payment links by status',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const counts = await repository.countByStatus().catch(() => undefined);
        // Database unreachable: keep the last values rather than report zeros.
        if (!counts) return;
        for (const status of LINK_STATUSES) this.set({ status }, counts[status] ?? 0);
      },
    });
  }
}
