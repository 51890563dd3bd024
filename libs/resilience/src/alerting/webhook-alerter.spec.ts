import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoggingAlerter } from './logging-alerter';
import { WebhookAlerter } from './webhook-alerter';

interface Received {
  method: string;
  url: string;
  body: unknown;
  authorization?: string;
}

function startServer(status: number): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        body: JSON.parse(raw) as unknown,
        authorization: req.headers.authorization,
      });
      res.statusCode = status;
      res.end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received }),
    ),
  );
}

const logger = () => ({ log: jest.fn(), warn: jest.fn(), error: jest.fn() });

describe('WebhookAlerter', () => {
  it('posts an Alertmanager /api/v2/alerts array', async () => {
    const { server, url, received } = await startServer(200);
    try {
      const alerter = new WebhookAlerter({
        url,
        clock: () => Date.UTC(2025, 0, 1),
        ttlMs: 60_000,
        logger: logger(),
      });
      await alerter.sendAlert('bbd-dispatch', 'circuit breaker bbd-dispatch opened', 'warning');
      expect(received).toHaveLength(1);
      expect(received[0]!.method).toBe('POST');
      expect(received[0]!.url).toBe('/api/v2/alerts');
      expect(received[0]!.body).toEqual([
        {
          labels: { alertname: 'CircuitBreakerStateChange', breaker: 'bbd-dispatch', severity: 'warning' },
          annotations: {
            summary: 'circuit breaker bbd-dispatch',
            description: 'circuit breaker bbd-dispatch opened',
          },
          startsAt: '2025-01-01T00:00:00.000Z',
          endsAt: '2025-01-01T00:01:00.000Z',
        },
      ]);
    } finally {
      server.close();
    }
  });

  it('logs and swallows HTTP errors and unreachable endpoints', async () => {
    const { server, url } = await startServer(500);
    const log = logger();
    try {
      await expect(
        new WebhookAlerter({ url, logger: log }).sendAlert('x', 'm', 'info'),
      ).resolves.toBeUndefined();
      expect(log.warn).toHaveBeenCalledWith(expect.stringContaining('HTTP 500'));
    } finally {
      server.close();
    }
    const down = logger();
    await expect(
      new WebhookAlerter({ url: 'http://127.0.0.1:1', logger: down }).sendAlert('x', 'm', 'critical'),
    ).resolves.toBeUndefined();
    expect(down.warn).toHaveBeenCalledWith(expect.stringContaining('not delivered'));
  });
});

it('never logs the path or credentials of the webhook URL, which may carry a token', async () => {
  const { server, url, received } = await startServer(500);
  const log = logger();
  try {
    const secretUrl = url.replace('http://', 'http://user:s3cret@') + '/hooks/tok-123456';
    await new WebhookAlerter({ url: secretUrl, logger: log }).sendAlert('x', 'm', 'warning');
    await new WebhookAlerter({ url: 'http://127.0.0.1:1/hooks/tok-123456', logger: log }).sendAlert(
      'x',
      'm',
      'info',
    );
    const logged = JSON.stringify(log.warn.mock.calls);
    expect(log.warn).toHaveBeenCalledTimes(2);
    expect(logged).not.toContain('tok-123456');
    expect(logged).not.toContain('s3cret');
    expect(logged).toContain('127.0.0.1');
    // Credentials in the URL travel as a Basic header, the path as given.
    expect(received[0]!.url).toBe('/hooks/tok-123456/api/v2/alerts');
    expect(received[0]!.authorization).toBe(`Basic ${Buffer.from('user:s3cret').toString('base64')}`);
  } finally {
    server.close();
  }
});

describe('LoggingAlerter', () => {
  it('logs warning via warn and info via log', () => {
    const log = logger();
    const alerter = new LoggingAlerter(log);
    alerter.sendAlert('a', 'opened', 'warning');
    alerter.sendAlert('a', 'recovered', 'info');
    expect(log.warn).toHaveBeenCalledWith(expect.stringContaining('opened'));
    expect(log.log).toHaveBeenCalledWith(expect.stringContaining('recovered'));
  });
});
