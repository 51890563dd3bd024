const WEBHOOK_TIMEOUT_MS = 5_000;

/** Outcome of one notification sent to the payment processor. */
export interface WebhookDelivery {
  url: string;
  delivered: boolean;
  /** HTTP status the receiver answered, when it answered. */
  status?: number;
  error?: string;
}

/** POSTs a gateway notification as JSON; never throws. */
export async function sendWebhook(
  url: string,
  payload: unknown,
  headers: Record<string, string> = {},
): Promise<WebhookDelivery> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await response.arrayBuffer();
    return { url, delivered: response.ok, status: response.status };
  } catch (error: unknown) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return {
      url,
      delivered: false,
      error: `${error instanceof Error ? error.message : String(error)}${cause}`,
    };
  }
}

/** Reads `reference` from a `/_simulate/*` body. */
export function readReference(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const reference = (body as Record<string, unknown>).reference;
  return typeof reference === 'string' && reference !== '' ? reference : undefined;
}
