import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { CircuitBreakerManager } from '../breaker/circuit-breaker-manager';
import type { CircuitBreaker } from '../breaker/circuit-breaker';
import { InjectBreaker, getBreakerToken } from './inject-breaker.decorator';
import { ResilienceModule } from './resilience.module';

@Injectable()
class BbdClient {
  constructor(@InjectBreaker('bbd-dispatch') readonly breaker: CircuitBreaker) {}
}

@Module({
  imports: [ResilienceModule.forFeature(['bbd-dispatch'])],
  providers: [BbdClient],
  exports: [BbdClient],
})
class DispatchModule {}

const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };

describe('ResilienceModule', () => {
  it('forRoot provides the manager globally; forFeature + @InjectBreaker give a class its breaker', async () => {
    const registry = new Registry();
    const ref = await Test.createTestingModule({
      imports: [
        ResilienceModule.forRoot({
          registry,
          logger,
          breakerOverrides: { 'bbd-dispatch': { timeoutMs: 2000 } },
        }),
        DispatchModule,
      ],
    }).compile();
    const manager = ref.get(CircuitBreakerManager);
    const client = ref.get(BbdClient);
    expect(client.breaker).toBe(manager.get('bbd-dispatch'));
    expect(ref.get(getBreakerToken('bbd-dispatch'), { strict: false })).toBe(client.breaker);
    expect(client.breaker.timeoutMs).toBe(2000);
    expect(client.breaker.maxRequests).toBe(3);
    expect(manager.registry).toBe(registry);
    expect(await registry.metrics()).toContain('circuit_breaker_state{name="bbd-dispatch"} 0');
    await ref.close();
  });

  it('forRootAsync builds the options from a factory', async () => {
    const ref = await Test.createTestingModule({
      imports: [ResilienceModule.forRootAsync({ useFactory: () => ({ logger, clock: () => 42 }) })],
    }).compile();
    const manager = ref.get(CircuitBreakerManager);
    expect(manager.clock()).toBe(42);
    expect(manager.getOrCreate(manager.configFor('user-service')).name).toBe('user-service');
    await ref.close();
  });
});
