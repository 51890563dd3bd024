import type { ResilientHttpClient } from '@app/resilience';
import type { PaymentLinkRequest, PaymentLinkView } from './downstream.types';

/**
 * POST /payment-links on the payment processor, Idempotency-Key = order id, so a retry from the
 * outbox returns the link already made. `guarded` runs through the `payment-processor` breaker;
 * `unguarded` is for the outbox replayer, which already runs each call through that breaker.
 */
export class PaymentProcessorClient {
  constructor(
    private readonly guarded: ResilientHttpClient,
    private readonly unguarded: ResilientHttpClient,
  ) {}

  createLink(request: PaymentLinkRequest): Promise<PaymentLinkView> {
    return this.send(this.guarded, request);
  }

  createLinkUnguarded(request: PaymentLinkRequest, signal: AbortSignal): Promise<PaymentLinkView> {
    return this.send(this.unguarded, request, signal);
  }

  private async send(
    http: ResilientHttpClient,
    request: PaymentLinkRequest,
    signal?: AbortSignal,
  ): Promise<PaymentLinkView> {
    const { data } = await http.post<PaymentLinkView>('/payment-links', request, {
      headers: { 'Idempotency-Key': request.orderId },
      signal,
    });
    return { id: data.id, gateway: data.gateway, url: data.url };
  }
}
