import OpossumCircuitBreaker from 'opossum';
import { CallTimeoutError } from '../errors';
import type { GuardedCall } from './breaker.types';

/** Signal handed to calls of a breaker without callTimeoutMs: nothing ever aborts it. */
const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/** What we use of an opossum 9 circuit (its typings lag behind the library). */
interface OpossumCircuit {
  fire(...args: unknown[]): Promise<unknown>;
  on(event: 'timeout', listener: (err: unknown, latency: number, args: unknown[]) => void): unknown;
  shutdown(): void;
  readonly semaphore: { readonly count: number };
  readonly stats: Record<string, unknown>;
}

export interface BreakerExecutorOptions {
  name: string;
  callTimeoutMs?: number;
  maxConcurrent?: number;
}

// opossum calls `action.apply(context, [fn, controller])`; it must always get a promise back
// (a synchronous action returning undefined would make opossum throw on `.then`).
function runGuarded(fn: GuardedCall<unknown>, controller: AbortController | undefined): Promise<unknown> {
  const result = fn(controller === undefined ? NEVER_ABORTED : controller.signal);
  return result instanceof Promise ? result : Promise.resolve(result);
}

/**
 * opossum 9 as the executor under one breaker: per-call timeout with one AbortController per
 * call, `capacity` as the bulkhead, and its own tripping switched off (our state machine owns it).
 */
export class BreakerExecutor {
  readonly circuit: OpossumCircuit;
  readonly callTimeoutMs: number | undefined;
  readonly name: string;

  constructor(options: BreakerExecutorOptions) {
    this.callTimeoutMs = options.callTimeoutMs;
    this.name = options.name;
    // A fresh object: opossum's constructor writes its defaults into the options it is given.
    const opossumOptions = {
      name: options.name,
      timeout: options.callTimeoutMs ?? (false as const),
      capacity: options.maxConcurrent,
      errorThresholdPercentage: Number.POSITIVE_INFINITY,
      resetTimeout: 2_147_483_647,
      enableSnapshots: false,
      // opossum recomputes its stats on every failure; with percentiles that concatenates every
      // latency of the window, which turns a burst of failures quadratic.
      rollingPercentilesEnabled: false,
    };
    this.circuit = new OpossumCircuitBreaker(
      runGuarded,
      opossumOptions as never,
    ) as unknown as OpossumCircuit;
    const timeoutMs = options.callTimeoutMs ?? 0;
    const name = options.name;
    // opossum's own abortController option is per breaker and would abort every in-flight call.
    this.circuit.on('timeout', (_err, _latency, args) => {
      const controller = args[1] as AbortController | undefined;
      controller?.abort(new CallTimeoutError(name, timeoutMs));
    });
  }

  /** Free slots of the bulkhead (Number.MAX_SAFE_INTEGER when unlimited). */
  get available(): number {
    return this.circuit.semaphore.count;
  }

  /**
   * The controller of one call (its signal fires on timeout). Every call that can see its signal
   * gets its own, deadline or not: `fn` declares a parameter, or records its arguments (a jest or
   * vitest mock, whose `length` is 0). Any other `fn` is spared creating an AbortSignal (~1.6 µs on
   * Node 20) and handed a shared, never-aborted one; it still times out.
   */
  controllerForCall(fn: GuardedCall<unknown>): AbortController | undefined {
    return fn.length === 0 && (fn as { mock?: unknown }).mock === undefined
      ? undefined
      : new AbortController();
  }

  /** Starts `fn` under opossum; settle with `outcome()` to turn opossum's timeout into CallTimeoutError. */
  fire<T>(fn: GuardedCall<T>, controller: AbortController | undefined): Promise<T> {
    return this.circuit.fire(fn, controller) as Promise<T>;
  }

  /** The error a call really failed with: our CallTimeoutError when its deadline fired. */
  failureOf(err: unknown, controller: AbortController | undefined): unknown {
    if (controller !== undefined) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
      return reason instanceof CallTimeoutError ? reason : err;
    }
    // Calls without a controller (no signal parameter) still time out through opossum.
    return this.callTimeoutMs !== undefined &&
      (err as { code?: unknown } | null)?.code === 'ETIMEDOUT' &&
      OpossumCircuitBreaker.isOurError(err as Error)
      ? new CallTimeoutError(this.name, this.callTimeoutMs)
      : err;
  }

  /** Runs `fn` under the executor; a timed-out call rejects with CallTimeoutError and its signal fires. */
  run<T>(fn: GuardedCall<T>): Promise<T> {
    const controller = this.controllerForCall(fn);
    const promise = this.fire(fn, controller);
    if (this.callTimeoutMs === undefined) return promise;
    return promise.catch((err: unknown) => {
      throw this.failureOf(err, controller);
    });
  }

  /** Stops opossum's statistics timers. */
  shutdown(): void {
    this.circuit.shutdown();
  }
}
