/** How a promise settled: its value, or its rejection. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * How `promise` settled within `ms` (real time), or undefined when it had not by then; the promise
 * itself is left to settle (its rejection is observed, never unhandled). The timer does not keep
 * the process alive.
 */
export async function settleWithin<T>(promise: Promise<T>, ms: number): Promise<Settled<T> | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
    timer.unref();
  });
  try {
    return await Promise.race([
      promise.then(
        (value): Settled<T> => ({ ok: true, value }),
        (error: unknown): Settled<T> => ({ ok: false, error }),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
