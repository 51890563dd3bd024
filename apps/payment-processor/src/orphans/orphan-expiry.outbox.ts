import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  DeferredQueue,
  QueueReplayer,
  ReplayDeferred,
  type DeferredQueueEntry,
  type KyselyLike,
} from '@app/resilience';
import { Counter, Registry } from 'prom-client';
import type { GatewayName } from '../config/payment-processor.config';
import { PAYMENT_DATABASE, type PaymentDatabase } from '../database/payment-database';
import {
  errorText,
  UnresolvableOrphanError,
  type ExpiryOutcome,
  type OrphanExpiry,
  type PaymentGatewayClient,
} from '../clients/payment-gateway.client';
import {
  PAYMENT_GATEWAY_CLIENTS,
  PAYMENT_REGISTRY,
  PROCESSOR_SETTINGS,
  type ProcessorSettings,
} from '../payment.tokens';

/** Outcome label of payment_orphan_expiries_total. */
export type OrphanExpiryMetricOutcome = ExpiryOutcome | 'retry' | 'unresolvable';

/** Told when an orphan's fate is known (the links repository updates its rows). */
export interface OrphanListener {
  onOrphanClosed(orphan: OrphanExpiry, outcome: ExpiryOutcome): Promise<void>;
  /** The gateway id recorded for the orphan since it was queued, if any. */
  gatewayRefOf(orphan: OrphanExpiry): Promise<string | null>;
  /** Whether the request that made the attempt may still record its outcome (its row says `started`). */
  attemptInFlight(orphan: OrphanExpiry): Promise<boolean>;
  /** Records a gateway id learnt while expiring. */
  rememberGatewayRef(orphan: OrphanExpiry, gatewayRef: string): Promise<void>;
}

/** Not settled inside the grace period (absent, or its id not known yet): a request in flight may yet land or record it. */
function notSettled(orphan: OrphanExpiry, why: string): ReplayDeferred {
  return new ReplayDeferred(
    `${orphan.gateway}: ${orphan.reference} ${why}; checking again until the grace period ends`,
  );
}

/**
 * Durable expiry of superseded gateway links: one DeferredQueue per gateway
 * (`orphan-expiry-<gateway>-outbox`), replayed through that gateway's breaker until the gateway
 * confirms. Entries are independent, so the replayer runs unordered: one orphan waiting out its
 * grace period must not hold the others back.
 */
@Injectable()
export class OrphanExpiryOutbox implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('OrphanExpiryOutbox');
  private readonly queues = new Map<GatewayName, DeferredQueue<OrphanExpiry>>();
  private readonly replayers = new Map<GatewayName, QueueReplayer<OrphanExpiry>>();
  private readonly expiries: Counter<'gateway' | 'outcome'>;
  private listener: OrphanListener | undefined;

  constructor(
    @Inject(PAYMENT_DATABASE) database: PaymentDatabase,
    @Inject(PAYMENT_GATEWAY_CLIENTS) private readonly clients: PaymentGatewayClient[],
    @Inject(PAYMENT_REGISTRY) registry: Registry,
    @Inject(PROCESSOR_SETTINGS) private readonly settings: ProcessorSettings,
  ) {
    this.expiries = new Counter({
      name: 'payment_orphan_expiries_total',
      help: 'Expiry attempts of superseded gateway links, by gateway and outcome',
      labelNames: ['gateway', 'outcome'],
      registers: [registry],
    });
    for (const client of clients) {
      const queue = new DeferredQueue<OrphanExpiry>({
        name: `orphan-expiry-${client.gateway}-outbox`,
        db: database,
        clock: settings.clock,
        registry,
      });
      this.queues.set(client.gateway, queue);
      this.replayers.set(
        client.gateway,
        new QueueReplayer<OrphanExpiry>({
          queue,
          breaker: client.breaker,
          handler: (entry, signal) => this.expire(client, entry, signal),
          clock: settings.clock,
          pollIntervalMs: settings.orphanReplayIntervalMs,
          batchSize: 50,
          concurrency: 4,
          ordered: false,
          isPermanentFailure: (err) => err instanceof UnresolvableOrphanError,
        }),
      );
    }
  }

  setListener(listener: OrphanListener): void {
    this.listener = listener;
  }

  /** Queues the orphan (idempotent per gateway and reference); pass the caller's transaction. */
  async enqueue(orphan: OrphanExpiry, trx?: KyselyLike): Promise<void> {
    const queue = this.queues.get(orphan.gateway);
    if (!queue) throw new Error(`no orphan-expiry queue for gateway ${orphan.gateway}`);
    await queue.enqueue(
      { key: `${orphan.gateway}:${orphan.reference}`, payload: orphan, reason: orphan.reason },
      trx,
    );
  }

  /** Asks the gateway's replayer to run now (after the enqueue has committed). */
  kick(gateway: GatewayName): void {
    this.replayers.get(gateway)?.kick();
  }

  /** One pass of every replayer (tests and shutdown drains). */
  async drainOnce(): Promise<void> {
    await Promise.all([...this.replayers.values()].map((replayer) => replayer.drainOnce()));
  }

  /** Entries of one gateway's queue (tests and operators). */
  entries(gateway: GatewayName): Promise<DeferredQueueEntry<OrphanExpiry>[]> {
    return this.queues.get(gateway)?.list({ limit: 1000 }) ?? Promise.resolve([]);
  }

  onApplicationBootstrap(): void {
    for (const replayer of this.replayers.values()) replayer.start();
  }

  /** Replayers stop first, before the breakers and the database go away. */
  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.replayers.values()].map((replayer) => replayer.stop()));
    for (const queue of this.queues.values()) queue.detachMetrics();
  }

  private withinGrace(orphan: OrphanExpiry): boolean {
    return this.settings.clock() - orphan.foundAtMs < this.settings.orphanGraceMs;
  }

  private async expire(
    client: PaymentGatewayClient,
    entry: DeferredQueueEntry<OrphanExpiry>,
    signal: AbortSignal,
  ): Promise<ExpiryOutcome | ReplayDeferred> {
    const listener = this.listener;
    const recorded = entry.payload.gatewayRef ?? (await listener?.gatewayRefOf(entry.payload)) ?? null;
    const orphan: OrphanExpiry = { ...entry.payload, gatewayRef: recorded };
    let outcome: ExpiryOutcome;
    try {
      outcome = await client.expire(orphan, signal, async (gatewayRef) => {
        await listener?.rememberGatewayRef(orphan, gatewayRef);
      });
    } catch (err: unknown) {
      if (
        err instanceof UnresolvableOrphanError &&
        this.withinGrace(orphan) &&
        (await listener?.attemptInFlight(orphan))
      ) {
        // The request that made the link was taken over while slow, not dead, and may record its
        // id yet (a Nicepay tXid): ask again until the grace period ends, then give up loudly.
        // The gateway answered, so this is no failure of the gateway's breaker.
        this.expiries.inc({ gateway: client.gateway, outcome: 'retry' });
        return notSettled(orphan, `cannot be expired yet (${err.message})`);
      }
      if (err instanceof UnresolvableOrphanError) {
        this.expiries.inc({ gateway: client.gateway, outcome: 'unresolvable' });
        this.logger.error(`orphan ${orphan.gateway}:${orphan.reference} cannot be expired: ${err.message}`);
      } else {
        this.expiries.inc({ gateway: client.gateway, outcome: 'retry' });
      }
      throw err;
    }
    if (outcome === 'absent' && this.withinGrace(orphan)) {
      this.expiries.inc({ gateway: client.gateway, outcome: 'retry' });
      return notSettled(orphan, 'not found yet');
    }
    this.expiries.inc({ gateway: client.gateway, outcome });
    if (outcome === 'paid') {
      this.logger.error(
        `orphan ${orphan.gateway}:${orphan.reference} (order ${orphan.orderId}) was paid: refund needed`,
      );
    } else {
      this.logger.log(`orphan ${orphan.gateway}:${orphan.reference} ${outcome}`);
    }
    await this.listener?.onOrphanClosed(orphan, outcome).catch((err: unknown) => {
      this.logger.warn(
        `recording the fate of ${orphan.gateway}:${orphan.reference} failed: ${errorText(err)}`,
      );
    });
    return outcome;
  }
}
