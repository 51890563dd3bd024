import { call, type HttpAnswer, type SystemHarness } from './harness';

/** The parts of the orchestrator's order answer the suites check. */
export interface OrderAnswer {
  id: string;
  status: string;
  userId: string;
  sessionId: string;
  user: { id: string; name: string; stale: boolean };
  payment: { linkId: string; gateway: string; url: string } | null;
  dispatch: { status: 'dispatched' | 'queued' | 'pending'; dispatchId?: string };
  degraded: string[];
}

export interface SessionAnswer {
  id: string;
  quote: { provider: string; fare: { amount: number; currency: string } };
}

/** What one logical order of the load ended as. */
export interface OrderOutcome {
  index: number;
  idempotencyKey: string;
  paymentMethod: 'online' | 'cash';
  /** Last HTTP status of POST /orders (0: no answer at all). */
  status: number;
  order?: OrderAnswer;
  session?: SessionAnswer;
}

export interface OrderLoadOptions {
  /** Distinct users the load cycles through (small, so the user cache holds them all). */
  users?: number;
  /** How long one logical request keeps retrying (network errors, 5xx) with the same key. */
  retryForMs?: number;
  /** Prefix of user ids and idempotency keys, unique per run. */
  runId: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Places orders the way a client does: POST /sessions, then POST /orders with an
 * Idempotency-Key, retrying a failed try (no answer or 5xx) with the same key. Counts every
 * request and every 2xx answer, and keeps each order answered 2xx for the final checks.
 */
export class OrderLoad {
  requests = 0;
  answers2xx = 0;
  readonly outcomes: OrderOutcome[] = [];
  private next = 0;

  constructor(
    private readonly sys: SystemHarness,
    private readonly options: OrderLoadOptions,
  ) {}

  /** Orders answered 2xx. */
  get accepted(): Array<OrderOutcome & { order: OrderAnswer }> {
    return this.outcomes.filter((o): o is OrderOutcome & { order: OrderAnswer } => o.order !== undefined);
  }

  /** Places `count` orders, `concurrency` at a time; resolves with their outcomes. */
  async run(count: number, concurrency: number): Promise<OrderOutcome[]> {
    const indexes = Array.from({ length: count }, () => this.next++);
    const results: OrderOutcome[] = [];
    let cursor = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (cursor < indexes.length) {
          const index = indexes[cursor++];
          results.push(await this.placeOne(index));
        }
      }),
    );
    return results.sort((a, b) => a.index - b.index);
  }

  userId(index: number): string {
    return `u-${this.options.runId}-${index % (this.options.users ?? 10)}`;
  }

  private async placeOne(index: number): Promise<OrderOutcome> {
    const userId = this.userId(index);
    const paymentMethod = index % 2 === 0 ? 'online' : 'cash';
    const outcome: OrderOutcome = {
      index,
      idempotencyKey: `${this.options.runId}-order-${index}`,
      paymentMethod,
      status: 0,
    };
    this.outcomes.push(outcome);
    const lat = -6.2 + (index % 50) * 0.001;
    const session = await this.retrying(() =>
      call<SessionAnswer>('POST', `${this.sys.url('session-manager')}/sessions`, {
        userId,
        pickup: { lat, lng: 106.816 },
        dropoff: { lat: lat - 0.03, lng: 106.84 },
      }),
    );
    if (!session || session.status !== 201) return outcome;
    outcome.session = session.body;
    const answer = await this.retrying(() =>
      call<OrderAnswer>(
        'POST',
        `${this.sys.url('order-orchestrator')}/orders`,
        { sessionId: session.body.id, userId, paymentMethod },
        { 'idempotency-key': outcome.idempotencyKey },
      ),
    );
    outcome.status = answer?.status ?? 0;
    if (answer && answer.status >= 200 && answer.status < 300) outcome.order = answer.body;
    return outcome;
  }

  /** One logical request: tries until a non-5xx answer or retryForMs has passed. */
  private async retrying<T>(attempt: () => Promise<HttpAnswer<T>>): Promise<HttpAnswer<T> | undefined> {
    const deadline = Date.now() + (this.options.retryForMs ?? 0);
    let last: HttpAnswer<T> | undefined;
    for (;;) {
      this.requests++;
      try {
        last = await attempt();
        if (last.status >= 200 && last.status < 300) this.answers2xx++;
        if (last.status < 500) return last;
      } catch {
        last = undefined;
      }
      if (Date.now() >= deadline) return last;
      await sleep(100);
    }
  }
}
