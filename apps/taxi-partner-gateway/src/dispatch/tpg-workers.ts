import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { QueueReplayer, type QueueLogger } from '@app/resilience';
import type { BbdClient } from '../clients/bbd.client';
import type { DispatchEvent, OrderOrchestratorClient } from '../clients/order-orchestrator.client';
import { isDefinitiveHttpRefusal, isPermanentBbdRefusal } from './dispatch-failure';
import type { DispatchService } from './dispatch.service';
import type { DuplicateBbdOrderCanceller } from '../manual-dispatch/duplicate-bbd-order.canceller';
import type {
  BbdCancelPayload,
  BbdCancelQueue,
  DispatchEventsOutbox,
  ManualDispatchPayload,
  ManualDispatchQueue,
} from './dispatch.types';

export interface TpgWorkersOptions {
  /** How often the replayers and the reconciler look for work (ms). */
  pollMs: number;
  /** Manual dispatch replayer: batch size and BBD calls in flight at once. */
  replayBatchSize: number;
  replayConcurrency: number;
  /** A lease must outlive the breaker's call deadline. */
  bbdLeaseMs: number;
  orchestratorLeaseMs: number;
  logger?: QueueLogger;
}

/**
 * The gateway's background work: the manual dispatch queue's replayer and the `bbd-cancel`
 * queue's (both through `bbd-dispatch`), the ordered outbox of orchestrator events (through
 * `order-orchestrator-callbacks`) and the reconciler for crash leftovers. Started after
 * bootstrap, stopped before the database closes.
 */
export class TpgWorkers implements OnApplicationBootstrap, OnModuleDestroy {
  readonly manualReplayer: QueueReplayer<ManualDispatchPayload>;
  readonly outboxReplayer: QueueReplayer<DispatchEvent>;
  readonly cancelReplayer: QueueReplayer<BbdCancelPayload>;
  private readonly logger = new Logger('TpgWorkers');
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling: Promise<unknown> | undefined;

  constructor(
    private readonly dispatches: DispatchService,
    bbd: BbdClient,
    orchestrator: OrderOrchestratorClient,
    manualQueue: ManualDispatchQueue,
    outbox: DispatchEventsOutbox,
    cancelQueue: BbdCancelQueue,
    canceller: DuplicateBbdOrderCanceller,
    private readonly options: TpgWorkersOptions,
  ) {
    this.manualReplayer = new QueueReplayer<ManualDispatchPayload>({
      queue: manualQueue,
      breaker: bbd.dispatchBreaker,
      handler: (entry, signal) => dispatches.replay(entry, signal),
      pollIntervalMs: options.pollMs,
      leaseMs: options.bbdLeaseMs,
      batchSize: options.replayBatchSize,
      concurrency: options.replayConcurrency,
      // An order BBD refused for good would be leased first again every pass and, batchSize of
      // them, starve everything behind; parked as `failed`, it waits for an operator.
      isPermanentFailure: isPermanentBbdRefusal,
      logger: options.logger,
    });
    this.outboxReplayer = new QueueReplayer<DispatchEvent>({
      queue: outbox,
      breaker: orchestrator.breaker,
      handler: (entry, signal) => orchestrator.sendDispatchEvent(entry.payload, signal),
      ordered: true,
      pollIntervalMs: options.pollMs,
      leaseMs: options.orchestratorLeaseMs,
      // A 4xx other than 408/429 will never be accepted; parking it keeps the ordered outbox moving.
      isPermanentFailure: isDefinitiveHttpRefusal,
      logger: options.logger,
    });
    this.cancelReplayer = new QueueReplayer<BbdCancelPayload>({
      queue: cancelQueue,
      breaker: bbd.dispatchBreaker,
      handler: (entry, signal) => canceller.cancelDuplicates(entry, signal),
      pollIntervalMs: options.pollMs,
      leaseMs: options.bbdLeaseMs,
      isPermanentFailure: isPermanentBbdRefusal,
      logger: options.logger,
    });
    dispatches.onOutboxWrite(() => this.outboxReplayer.kick());
  }

  onApplicationBootstrap(): void {
    this.manualReplayer.start();
    this.outboxReplayer.start();
    this.cancelReplayer.start();
    this.runReconcile();
    const every = Math.max(this.options.pollMs, 1000);
    this.reconcileTimer = setInterval(() => this.runReconcile(), every);
    this.reconcileTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.reconcileTimer);
    this.reconcileTimer = undefined;
    await Promise.all([
      this.manualReplayer.stop(),
      this.outboxReplayer.stop(),
      this.cancelReplayer.stop(),
      this.reconciling,
    ]);
  }

  private runReconcile(): void {
    if (this.reconciling) return;
    this.reconciling = this.dispatches
      .reconcile()
      .catch((err: unknown) =>
        this.logger.warn(`reconcile failed: ${err instanceof Error ? err.message : String(err)}`),
      )
      .finally(() => {
        this.reconciling = undefined;
      });
  }
}
