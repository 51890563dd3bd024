import { Logger } from '@nestjs/common';
import type { AlertLogger, AlertSeverity, Alerter } from './alerter';

export interface WebhookAlerterOptions {
  /** Alertmanager base URL (…/api/v2/alerts is appended unless the URL already ends with it). */
  url: string;
  /** Extra labels on every alert (e.g. service, env). */
  labels?: Record<string, string>;
  /** Request timeout in ms; default 5000. */
  timeoutMs?: number;
  /** How long an alert stays active in Alertmanager unless renewed; default 5 minutes. */
  ttlMs?: number;
  logger?: AlertLogger;
  clock?: () => number;
  fetch?: typeof fetch;
}

/** One alert in Alertmanager's POST /api/v2/alerts body. */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/**
 * Posts each alert to Alertmanager (`/api/v2/alerts`, a JSON array). Failures are logged and
 * swallowed: alerting must never break the breaker it reports on.
 */
export class WebhookAlerter implements Alerter {
  private readonly endpoint: string;
  private readonly logger: AlertLogger;
  private readonly clock: () => number;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: WebhookAlerterOptions) {
    if (typeof options.url !== 'string' || options.url === '')
      throw new TypeError('WebhookAlerter: url is required');
    const base = options.url.replace(/\/+$/, '');
    this.endpoint = base.endsWith('/api/v2/alerts') ? base : `${base}/api/v2/alerts`;
    this.logger = options.logger ?? new Logger('WebhookAlerter');
    this.clock = options.clock ?? Date.now;
    this.doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** The Alertmanager payload for one alert. */
  buildAlerts(name: string, message: string, severity: AlertSeverity): AlertmanagerAlert[] {
    const now = this.clock();
    return [
      {
        labels: { ...this.options.labels, alertname: 'CircuitBreakerStateChange', breaker: name, severity },
        annotations: { summary: `circuit breaker ${name}`, description: message },
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + (this.options.ttlMs ?? 300_000)).toISOString(),
      },
    ];
  }

  async sendAlert(name: string, message: string, severity: AlertSeverity): Promise<void> {
    try {
      const res = await this.doFetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(this.buildAlerts(name, message, severity)),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
      if (!res.ok) this.logger.warn(`alert for ${name} rejected by ${this.endpoint}: HTTP ${res.status}`);
      await res.arrayBuffer().catch(() => undefined);
    } catch (err: unknown) {
      this.logger.warn(
        `alert for ${name} not delivered to ${this.endpoint}: ${(err as Error)?.message ?? String(err)}`,
      );
    }
  }
}
