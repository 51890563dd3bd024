/** One request of a load run and how it ended. */
export interface LoadOutcome {
  key: string;
  /** HTTP status, or 0 when the connection failed (`error` says how). */
  status: number;
  retryAfter: string | null;
  body: unknown;
  error?: string;
  startedAt: number;
  elapsedMs: number;
}

/** A closed-loop load: `concurrency` workers each send one request after the other until stopped. */
export interface LoadRun {
  outcomes: LoadOutcome[];
  /** Stops the workers and waits for their last requests. */
  stop(): Promise<LoadOutcome[]>;
}

/** Starts `concurrency` workers calling `send(n)` (n = a global sequence number) back to back. */
export function startLoad(
  concurrency: number,
  send: (n: number) => Promise<LoadOutcome>,
  pauseMs = 5,
): LoadRun {
  const outcomes: LoadOutcome[] = [];
  let running = true;
  let sequence = 0;
  const worker = async (): Promise<void> => {
    while (running) {
      sequence += 1;
      outcomes.push(await send(sequence));
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  const workers = Array.from({ length: concurrency }, () => worker());
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(workers);
      return outcomes;
    },
  };
}

/** fetch with a JSON body, never throwing: a failed connection is status 0. */
export async function sendJson(
  key: string,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 15_000,
): Promise<LoadOutcome> {
  const startedAt = Date.now();
  try {
    const res = await fetch(url, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Keeps the raw text: a non-JSON answer is itself a finding.
    }
    return {
      key,
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: parsed,
      startedAt,
      elapsedMs: Date.now() - startedAt,
    };
  } catch (err: unknown) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return {
      key,
      status: 0,
      retryAfter: null,
      body: undefined,
      error: cause ?? (err instanceof Error ? err.message : String(err)),
      startedAt,
      elapsedMs: Date.now() - startedAt,
    };
  }
}

/** Polls `check` every 25 ms until true or `timeoutMs` passed; resolves with the elapsed ms. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Counts outcomes by status (0 = connection failure). */
export function countByStatus(outcomes: LoadOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[outcome.status] = (counts[outcome.status] ?? 0) + 1;
  return counts;
}
