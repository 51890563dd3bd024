import { HttpClientError, HttpConnectionError, HttpServerError } from '@app/resilience';
import { isPermanent } from './order-outboxes';

describe('outbox failure classification', () => {
  it.each([400, 404, 422])('gives up on a %i: it will never be accepted', (status) => {
    expect(isPermanent(new HttpClientError('payment-processor', status, {}))).toBe(true);
  });

  it.each([408, 409, 429])('retries a %i: the receiver asks to come back later', (status) => {
    expect(isPermanent(new HttpClientError('payment-processor', status, {}))).toBe(false);
  });

  it('retries server and connection failures', () => {
    expect(isPermanent(new HttpServerError('taxipartnergateway', 503, {}))).toBe(false);
    expect(isPermanent(new HttpConnectionError('taxipartnergateway', 'refused', false))).toBe(false);
  });
});
