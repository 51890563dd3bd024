import { createHash, randomUUID } from 'node:crypto';
import {
  ConflictException,
  Inject,
  Injectable,
  Logger,
  UnprocessableEntityException,
  type OnModuleInit,
} from '@nestjs/common';
import {
  failover,
  isAllProvidersFailedError,
  isBreakerRejection,
  ServiceUnavailableError,
  type Breaker,
  type FailoverAttempt,
  type FailoverProvider,
  type GuardedCall,
  type UnknownOutcomeResolution,
} from '@app/resilience';
import { Registry } from 'prom-client';
import {
  classifyCreateFailure,
  errorText,
  type ExpiryOutcome,
  type GatewayLink,
  type GatewayLinkRequest,
  type OrphanExpiry,
  type PaymentGatewayClient,
} from '../clients/payment-gateway.client';
import type { GatewayName } from '../config/payment-processor.config';
import { OrphanExpiryOutbox } from '../orphans/orphan-expiry.outbox';
import {
  PAYMENT_GATEWAY_CLIENTS,
  PAYMENT_REGISTRY,
  PROCESSOR_SETTINGS,
  type ProcessorSettings,
} from '../payment.tokens';
import type { CreatePaymentLinkDto } from './dto/create-payment-link.dto';
import type { AttemptView, PaymentLinkCreated, PaymentLinkView } from './payment-link.types';
import { isLeaseLostError, PaymentLinksRepository } from './payment-links.repository';

/**
 * 409 for a key another request holds. `Retry-After: 1`: a live request answers within seconds
 * (a crashed one's key is taken over when its lease runs out), and a client that polls faster only
 * competes with that request for the database.
 */
function keyInProgress(): ConflictException {
  return Object.assign(
    new ConflictException({
      statusCode: 409,
      error: 'Conflict',
      message: 'a request with this Idempotency-Key is in progress; retry shortly for its answer',
    }),
    { retryAfterMs: 1000 },
  );
}

/** Message of the 503 when no gateway took the link (fixed by the contract). */
export const ALL_GATEWAYS_FAILED = 'all payment gateways failed';

/**
 * Creates payment links: one Idempotency-Key → one link id → one reference at every gateway,
 * gateways tried in order through failover(); an attempt whose outcome is unknown is resolved by
 * asking the gateway, and anything that may be live there is expired through the durable outbox.
 */
@Injectable()
export class PaymentLinksService implements OnModuleInit {
  private readonly logger = new Logger('PaymentLinksService');

  constructor(
    private readonly repository: PaymentLinksRepository,
    private readonly outbox: OrphanExpiryOutbox,
    @Inject(PAYMENT_GATEWAY_CLIENTS) private readonly clients: PaymentGatewayClient[],
    @Inject(PAYMENT_REGISTRY) private readonly registry: Registry,
    @Inject(PROCESSOR_SETTINGS) private readonly settings: ProcessorSettings,
  ) {}

  onModuleInit(): void {
    this.outbox.setListener({
      onOrphanClosed: (orphan, outcome) => this.onOrphanClosed(orphan, outcome),
      gatewayRefOf: (orphan) => this.repository.attemptGatewayRef(orphan.reference, orphan.gateway),
      attemptInFlight: async (orphan) =>
        (await this.repository.attemptOutcome(orphan.reference, orphan.gateway)) === 'started',
      rememberGatewayRef: (orphan, gatewayRef) =>
        this.repository.setAttemptGatewayRef(
          orphan.reference,
          orphan.gateway,
          gatewayRef,
          this.settings.clock(),
        ),
    });
  }

  /** POST /payment-links. */
  async create(dto: CreatePaymentLinkDto, idempotencyKey: string): Promise<PaymentLinkCreated> {
    const request: GatewayLinkRequest = {
      reference: newLinkId(),
      orderId: dto.orderId,
      amount: dto.amount,
      customer: { name: dto.customer.name, email: dto.customer.email },
      ...(dto.description !== undefined ? { description: dto.description } : {}),
    };
    const claim = await this.repository.claimKey(
      idempotencyKey,
      requestHash(dto),
      {
        id: request.reference,
        orderId: request.orderId,
        amount: request.amount,
        customer: request.customer,
        description: request.description,
      },
      this.settings.clock(),
      this.settings.idempotencyLeaseMs,
    );
    switch (claim.kind) {
      case 'mismatch':
        throw new UnprocessableEntityException({
          statusCode: 422,
          error: 'Unprocessable Entity',
          message: 'Idempotency-Key was already used with a different request body',
        });
      case 'in_progress':
        throw keyInProgress();
      case 'stored':
        return claim.body as PaymentLinkCreated;
      case 'claimed':
        try {
          return await this.runFailover(idempotencyKey, request);
        } catch (err: unknown) {
          if (!isLeaseLostError(err)) throw err;
          // Outlived its lease and was taken over: the request that holds the key now answers.
          this.logger.warn(`link ${request.reference} (order ${request.orderId}): ${err.message}`);
          throw keyInProgress();
        }
      default: {
        const unreachable: never = claim;
        throw new Error(`unexpected claim ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** GET /payment-links/:id. */
  find(id: string): Promise<PaymentLinkView | undefined> {
    return this.repository.findLink(id);
  }

  private async runFailover(key: string, request: GatewayLinkRequest): Promise<PaymentLinkCreated> {
    const abort = new AbortController();
    const byName = new Map(this.clients.map((client) => [client.gateway, client]));
    const providers: FailoverProvider<GatewayLink>[] = this.settings.gateways.map((gateway, index) => {
      const client = byName.get(gateway) as PaymentGatewayClient;
      return {
        name: gateway,
        breaker: this.recordingBreaker(client, { key, linkId: request.reference }, index, abort),
        call: (signal) => client.create(request, signal),
        classify: classifyCreateFailure,
        resolveUnknown: (err) => this.resolveUnknown(client, request, err, abort),
      };
    });
    try {
      const result = await failover(providers, {
        group: 'payment-gateways',
        registry: this.registry,
        clock: this.settings.clock,
        signal: abort.signal,
        logger: this.logger,
      });
      const attempts = result.attempts.map(toAttemptView);
      const body: PaymentLinkCreated = {
        id: request.reference,
        orderId: request.orderId,
        amount: request.amount,
        currency: 'IDR',
        gateway: result.provider as GatewayName,
        url: result.value.url,
        status: 'pending',
        attempts,
      };
      await this.repository.complete(
        key,
        request.reference,
        { gateway: body.gateway, gatewayRef: result.value.gatewayRef, url: result.value.url },
        attempts,
        body,
        this.settings.clock(),
      );
      return body;
    } catch (err: unknown) {
      if (!isAllProvidersFailedError(err)) throw err;
      const attempts = err.attempts.map(toAttemptView);
      const body = { statusCode: 503, error: 'Service Unavailable', message: ALL_GATEWAYS_FAILED, attempts };
      await this.repository.fail(key, request.reference, attempts, body, this.settings.clock());
      this.logger.warn(`link ${request.reference} (order ${request.orderId}): ${ALL_GATEWAYS_FAILED}`);
      throw new ServiceUnavailableError('payment-gateways', ALL_GATEWAYS_FAILED, {
        retryAfterMs: err.retryAfterMs,
        details: { attempts },
        cause: err,
      });
    }
  }

  /**
   * The gateway's breaker, writing the attempt row before the call and its outcome after, so a
   * crash mid-call leaves a durable trace of what may be live at the gateway.
   */
  private recordingBreaker(
    client: PaymentGatewayClient,
    held: { key: string; linkId: string },
    seq: number,
    abort: AbortController,
  ): Breaker {
    const inner = client.breaker;
    const repository = this.repository;
    const clock = this.settings.clock;
    const linkId = held.linkId;
    const lease = { ...held, leaseMs: this.settings.idempotencyLeaseMs };
    const stopOn = (err: unknown): never => {
      // Without the attempt rows a later link could not be proven unique: stop the failover.
      abort.abort(err);
      throw err;
    };
    return {
      get name() {
        return inner.name;
      },
      get state() {
        return inner.state;
      },
      get counts() {
        return inner.counts;
      },
      retryAfterMs: () => inner.retryAfterMs(),
      async execute<T>(fn: GuardedCall<T>): Promise<T> {
        await repository.startAttempt(lease, seq, client.gateway, clock()).catch(stopOn);
        let value: T;
        try {
          value = await inner.execute(fn);
        } catch (err: unknown) {
          const outcome = isBreakerRejection(err)
            ? 'rejected'
            : classifyCreateFailure(err) === 'unknown'
              ? 'unknown'
              : 'failure';
          await repository
            .finishAttempt(linkId, client.gateway, { outcome, error: errorText(err) }, clock())
            .catch(stopOn);
          throw err;
        }
        const link = value as unknown as GatewayLink;
        await repository
          .finishAttempt(
            linkId,
            client.gateway,
            { outcome: 'success', gatewayRef: link.gatewayRef, url: link.url },
            clock(),
          )
          .catch(stopOn);
        return value;
      },
    };
  }

  /**
   * After a timeout or reset: ask the gateway. Payable → use it. Anything else that may exist
   * (absent now, unusable, or the gateway cannot say) → durable expiry entry first, then move on.
   */
  private async resolveUnknown(
    client: PaymentGatewayClient,
    request: GatewayLinkRequest,
    cause: unknown,
    abort: AbortController,
  ): Promise<UnknownOutcomeResolution<GatewayLink>> {
    if (abort.signal.aborted) throw abort.signal.reason;
    const clock = this.settings.clock;
    let detail: string;
    let gatewayRef: string | null = null;
    try {
      const probe = await client.probe(request);
      switch (probe.state) {
        case 'payable':
          await this.repository
            .finishAttempt(
              request.reference,
              client.gateway,
              { outcome: 'success', gatewayRef: probe.link.gatewayRef, url: probe.link.url },
              clock(),
            )
            .catch((err: unknown) => {
              abort.abort(err);
              throw err;
            });
          return { outcome: 'found', value: probe.link };
        case 'closed':
          await this.repository.finishAttempt(
            request.reference,
            client.gateway,
            {
              outcome: 'failure',
              error: `${errorText(cause)}; at the gateway: ${probe.detail}`,
              gatewayStatus: 'expired',
            },
            clock(),
          );
          return { outcome: 'absent' };
        case 'absent':
          detail = 'absent when asked';
          break;
        case 'unusable':
          detail = probe.detail;
          gatewayRef = probe.gatewayRef ?? null;
          break;
        default: {
          const unreachable: never = probe;
          throw new Error(`unexpected probe ${JSON.stringify(unreachable)}`);
        }
      }
    } catch (probeErr: unknown) {
      if (abort.signal.aborted) throw probeErr;
      detail = `status unknown: ${errorText(probeErr)}`;
    }
    const orphan: OrphanExpiry = {
      gateway: client.gateway,
      reference: request.reference,
      gatewayRef,
      amount: request.amount,
      orderId: request.orderId,
      customer: request.customer,
      ...(request.description !== undefined ? { description: request.description } : {}),
      reason: `unknown outcome (${errorText(cause)}); ${detail}`,
      foundAtMs: clock(),
    };
    try {
      await this.repository.recordOrphan(orphan, `${errorText(cause)}; ${detail}`, clock());
    } catch (err: unknown) {
      abort.abort(err);
      throw err;
    }
    this.outbox.kick(client.gateway);
    return { outcome: 'absent' };
  }

  private async onOrphanClosed(orphan: OrphanExpiry, outcome: ExpiryOutcome): Promise<void> {
    const now = this.settings.clock();
    if (outcome === 'paid') {
      this.logger.error(
        `superseded ${orphan.gateway} link for ${orphan.reference} (order ${orphan.orderId}) was paid: flagged needs_refund`,
      );
      await this.repository.flagNeedsRefund(orphan.reference, orphan.gateway, now);
      return;
    }
    await this.repository.markOrphanClosed(orphan.reference, orphan.gateway, now);
  }
}

/** A fresh link id: the reference sent to every gateway (≤ 40 characters, Nicepay's limit). */
export function newLinkId(): string {
  return `pl_${randomUUID().replace(/-/g, '')}`;
}

/** Hash of the request's meaning (field order fixed), to tell a replay from a different body. */
export function requestHash(dto: CreatePaymentLinkDto): string {
  const canonical = JSON.stringify([
    dto.orderId,
    dto.amount,
    dto.currency,
    dto.customer.name,
    dto.customer.email,
    dto.description ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

function toAttemptView(attempt: FailoverAttempt): AttemptView {
  return {
    gateway: attempt.provider as GatewayName,
    outcome: attempt.outcome,
    ...(attempt.error !== undefined ? { error: attempt.error } : {}),
    ...(attempt.unknownOutcome ? { unknownOutcome: true } : {}),
  };
}
