import { Controller, Get, HttpCode, HttpStatus, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { CircuitBreakerManager } from '@app/resilience';
import { SERVICE_KIT_OPTIONS, ServiceKitOptions } from '../service-kit.options';

/** Liveness, readiness (system of record reachable) and the breakers' states. */
@Controller()
export class HealthController {
  constructor(
    private readonly breakers: CircuitBreakerManager,
    @Inject(SERVICE_KIT_OPTIONS) private readonly options: ServiceKitOptions,
  ) {}

  @Get('health/live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('health/ready')
  async ready(@Res({ passthrough: true }) response: Response): Promise<Record<string, unknown>> {
    const checks = await this.runChecks();
    const ready = Object.values(checks).every((check) => check.up);
    const breakers = this.breakers.list().map(({ name, state }) => ({ name, state }));
    const degraded = breakers.some((breaker) => breaker.state !== 'closed');
    response.status(ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return {
      status: ready ? (degraded ? 'degraded' : 'ok') : 'unavailable',
      service: this.options.service,
      checks,
      breakers,
    };
  }

  @Get('breakers')
  @HttpCode(HttpStatus.OK)
  list(): unknown[] {
    return this.breakers.list().map(({ name, state, counts, config, retryAfterMs }) => ({
      name,
      state,
      counts,
      config,
      retryAfterMs,
    }));
  }

  private async runChecks(): Promise<Record<string, { up: boolean; error?: string }>> {
    const entries = await Promise.all(
      Object.entries(this.options.readiness ?? {}).map(async ([name, check]) => {
        try {
          return [name, { up: await check() }] as const;
        } catch (err: unknown) {
          return [name, { up: false, error: err instanceof Error ? err.message : String(err) }] as const;
        }
      }),
    );
    return Object.fromEntries(entries);
  }
}
