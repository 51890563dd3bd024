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
  /** What logs show of the endpoint: its origin only, since a path or credentials may carry a token. */
  private readonly shownEndpoint: string;
  /** Basic credentials given in the URL, sent as a header (fetch refuses URLs with credentials). */
  private readonly authorization: string | undefined;
  /** Strings never to log: the URL as given and the endpoint, path included. */
  private readonly secrets: string[];
  private readonly clock: () => number;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: WebhookAlerterOptions) {
    if (typeof options.url !== 'string' || options.url === '')
      throw new TypeError('WebhookAlerter: url is required');
    const { url, authorization } = splitCredentials(options.url.replace(/\/+$/, ''));
    this.endpoint = url.endsWith('/api/v2/alerts') ? url : `${url}/api/v2/alerts`;
    this.authorization = authorization;
    this.shownEndpoint = originOf(this.endpoint);
    this.secrets = [options.url, this.endpoint].filter((s) => s !== this.shownEndpoint);
    this.logger = options.logger ?? new Logger('WebhookAlerter');
    this.clock = options.clock ?? Date.now;
    this.doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  private redact(text: string): string {
    return this.secrets.reduce((out, secret) => out.split(secret).join(this.shownEndpoint), text);
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
        headers: {
          'content-type': 'application/json',
          ...(this.authorization ? { authorization: this.authorization } : {}),
        },
        body: JSON.stringify(this.buildAlerts(name, message, severity)),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
      if (!res.ok)
        this.logger.warn(`alert for ${name} rejected by ${this.shownEndpoint}: HTTP ${res.status}`);
      await res.arrayBuffer().catch(() => undefined);
    } catch (err: unknown) {
      this.logger.warn(
        `alert for ${name} not delivered to ${this.shownEndpoint}: ${this.redact((err as Error)?.message ?? String(err))}`,
      );
    }
  }
}

function splitCredentials(raw: string): { url: string; authorization?: string } {
  try {
    const parsed = new URL(raw);
    if (parsed.username === '' && parsed.password === '') return { url: raw };
    const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
    parsed.username = '';
    parsed.password = '';
    return {
      url: parsed.toString().replace(/\/+$/, ''),
      authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
    };
  } catch {
    return { url: raw };
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(unparsable alert webhook URL)';
  }
}
