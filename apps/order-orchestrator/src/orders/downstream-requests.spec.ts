import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { CreatePaymentLinkDto } from '../../../payment-processor/src/payment-links/dto/create-payment-link.dto';
import { CreateDispatchDto } from '../../../taxi-partner-gateway/src/dispatch/dto/create-dispatch.dto';
import type { SessionView, UserProfile } from '../clients/downstream.types';
import { toDispatchRequest, toPaymentRequest } from './orders.service';

/**
 * Whatever user-service answers, the requests built for TPG and the payment processor pass their
 * own validation: a refusal there is permanent and would leave the order undelivered.
 */
describe('requests built for TPG and the payment processor', () => {
  const session: SessionView = {
    id: 'ses_1',
    userId: 'u-1',
    pickup: { lat: -6.2, lng: 106.816 },
    dropoff: { lat: -6.25, lng: 106.85 },
    expiresAt: '2026-11-27T10:00:00.000Z',
    quote: { fare: { amount: 42_000, currency: 'IDR' } },
  };
  const users: Array<[string, UserProfile]> = [
    [
      'an ordinary user',
      { id: 'u-1', name: 'Siti Rahma', phone: '+6281234567890', email: 'siti@example.com' },
    ],
    ['a name of 500 characters', { id: 'u-2', name: 'N'.repeat(500), phone: '+6281234567890' }],
    ['an empty name', { id: 'u-3', name: '', phone: '+6281234567890', email: 'x@example.com' }],
    ['a blank name', { id: 'u-4', name: '   ', phone: '+6281234567890' }],
    ['an invalid email', { id: 'u-5', name: 'Budi', phone: '+6281234567890', email: 'not an email' }],
    ['an id that makes no address', { id: '...', name: 'Ayu', phone: '+62812', email: '@' }],
    ['a long id', { id: 'x'.repeat(128), name: 'Wati' }],
    ['an odd phone', { id: 'u-6', name: 'Dewi', phone: 'call me' }],
  ];

  it.each(users)('%s: TPG would take the dispatch request', async (_label, user) => {
    const dto = plainToInstance(CreateDispatchDto, toDispatchRequest('ord-1', session, user));
    expect(await validate(dto, { whitelist: true, forbidNonWhitelisted: true })).toEqual([]);
  });

  it.each(users)('%s: the payment processor would take the link request', async (_label, user) => {
    const dto = plainToInstance(CreatePaymentLinkDto, toPaymentRequest('ord-1', session, user));
    expect(await validate(dto, { whitelist: true, forbidNonWhitelisted: true })).toEqual([]);
  });

  it('keeps a usable name and email as they are', () => {
    const user = users[0][1];
    expect(toDispatchRequest('ord-1', session, user).passenger).toEqual({
      name: 'Siti Rahma',
      phone: '+6281234567890',
    });
    expect(toPaymentRequest('ord-1', session, user).customer).toEqual({
      name: 'Siti Rahma',
      email: 'siti@example.com',
    });
  });
});
