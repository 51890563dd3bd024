import type { ResilientHttpClient } from '@app/resilience';
import type { DispatchAnswer, DispatchRequest } from './downstream.types';

/**
 * POST /dispatches on the Taxi Partner Gateway (same orderId → same dispatch). `guarded` runs
 * through the `taxipartnergateway` breaker; `unguarded` is for the outbox replayer, which runs
 * each call through that breaker itself.
 */
export class TpgClient {
  constructor(
    private readonly guarded: ResilientHttpClient,
    private readonly unguarded: ResilientHttpClient,
  ) {}

  dispatch(request: DispatchRequest): Promise<DispatchAnswer> {
    return this.send(this.guarded, request);
  }

  dispatchUnguarded(request: DispatchRequest, signal: AbortSignal): Promise<DispatchAnswer> {
    return this.send(this.unguarded, request, signal);
  }

  private async send(
    http: ResilientHttpClient,
    request: DispatchRequest,
    signal?: AbortSignal,
  ): Promise<DispatchAnswer> {
    const { status, data } = await http.post<{ id: string; status?: string }>('/dispatches', request, {
      signal,
    });
    // 202 means TPG queued it for an operator; 201 means BBD took it.
    return { id: data.id, status: status === 202 || data.status === 'queued' ? 'queued' : 'dispatched' };
  }
}
