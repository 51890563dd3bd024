import { CircuitBreakerManager } from '@app/resilience';
import { Registry } from 'prom-client';
import { GatewayRefusedError, type PaymentGatewayClient } from '../clients/payment-gateway.client';
import type { GatewayName } from '../config/payment-processor.config';
import type { OrphanExpiryOutbox } from '../orphans/orphan-expiry.outbox';
import type { ProcessorSettings } from '../payment.tokens';
import type { CreatePaymentLinkDto } from './dto/create-payment-link.dto';
import type { NewLink, PaymentLinksRepository } from './payment-links.repository';
import { PaymentLinksService } from './payment-links.service';

/**
 * The service isolated from its database: a repository whose writes can fail on cue, gateways
 * that answer in memory. What it must never do is store "all gateways failed" (a key that may be
 * retried with a fresh link) while a link it made is live and recorded nowhere.
 */
describe('PaymentLinksService, recording failures', () => {
  const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };
  const dto: CreatePaymentLinkDto = {
    orderId: 'ord-1',
    amount: 25_000,
    currency: 'IDR',
    customer: { name: 'Rina', email: 'rina@example.com' },
  };

  function setup(failRecordingOf: GatewayName) {
    const manager = new CircuitBreakerManager({ logger: quiet });
    const created: string[] = [];
    const gateway = (name: GatewayName, refuses: boolean): PaymentGatewayClient => ({
      gateway: name,
      breaker: manager.getOrCreate({ name: `payment-${name}` }),
      async create(request) {
        if (refuses) throw new GatewayRefusedError(name, '503', 'not taking requests');
        created.push(`${name}:${request.reference}`);
        return { gatewayRef: `${name}-ref`, url: `https://pay.example/${name}` };
      },
      probe: jest.fn(),
      expire: jest.fn(),
    });
    const writes: string[] = [];
    const repository = {
      claimKey: jest.fn(async (_key: string, _hash: string, link: NewLink) => ({
        kind: 'claimed' as const,
        link,
      })),
      startAttempt: jest.fn(async (_lease: unknown, _seq: number, name: GatewayName) => {
        writes.push(`start ${name}`);
      }),
      finishAttempt: jest.fn(async (_linkId: string, name: GatewayName, update: { outcome: string }) => {
        if (name === failRecordingOf && update.outcome === 'success') {
          throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
        }
        writes.push(`finish ${name} ${update.outcome}`);
      }),
      recordOrphan: jest.fn(),
      complete: jest.fn(async () => void writes.push('complete')),
      fail: jest.fn(async () => void writes.push('fail')),
    };
    const outbox = { setListener: jest.fn(), kick: jest.fn() };
    const settings = {
      gateways: ['midtrans', 'xendit'],
      clock: Date.now,
      idempotencyLeaseMs: 120_000,
    } as Partial<ProcessorSettings> as ProcessorSettings;
    const service = new PaymentLinksService(
      repository as Partial<PaymentLinksRepository> as PaymentLinksRepository,
      outbox as Partial<OrphanExpiryOutbox> as OrphanExpiryOutbox,
      [gateway('midtrans', true), gateway('xendit', false)],
      new Registry(),
      settings,
    );
    return { service, repository, created, writes };
  }

  it('the last gateway made the link but recording it failed: the error, not a stored 503', async () => {
    const { service, repository, created, writes } = setup('xendit');
    await expect(service.create(dto, 'key-1')).rejects.toThrow('Connection terminated unexpectedly');
    expect(created).toHaveLength(1);
    // The key stays in progress: a retry waits for the lease, and the takeover queues the
    // recorded-as-started Xendit attempt for expiry. A stored 503 would let the retry make a second link.
    expect(repository.fail).not.toHaveBeenCalled();
    expect(repository.complete).not.toHaveBeenCalled();
    expect(writes).toEqual(['start midtrans', 'finish midtrans failure', 'start xendit']);
  });

  it('recording an earlier attempt failed: no later gateway is tried', async () => {
    const { service, repository, created } = setup('xendit');
    repository.finishAttempt.mockImplementation(async (_linkId, name, update) => {
      if (name === 'midtrans' && update.outcome === 'failure') {
        throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
      }
    });
    await expect(service.create(dto, 'key-2')).rejects.toThrow('Connection terminated unexpectedly');
    expect(created).toEqual([]);
    expect(repository.startAttempt).toHaveBeenCalledTimes(1);
    expect(repository.fail).not.toHaveBeenCalled();
  });
});
