import type { DownstreamName } from '../common/downstream.types';

export const FAULT_MODES = ['error', 'latency', 'hang', 'reset', 'refuse', 'flaky'] as const;

/** How a downstream misbehaves; see the README for what a client sees in each mode. */
export type FaultMode = (typeof FAULT_MODES)[number];

/** The body of `PUT /faults/:downstream`. */
export interface FaultSpec {
  mode: FaultMode;
  /** HTTP status for `error` and the failing share of `flaky` (default 503). */
  status?: number;
  /** Delay before the normal answer, for `latency`. */
  latencyMs?: number;
  /** Share of requests that fail, 0..1, for `flaky`. */
  failureRate?: number;
  /** A route name of the downstream (e.g. `create-order`) or a path prefix starting with `/`. */
  route?: string;
}

/** A fault in force, as `GET /faults` lists it. */
export interface ActiveFault extends FaultSpec {
  downstream: DownstreamName;
  /** ISO time (simulator clock) the fault was set. */
  since: string;
}

/** Raised for an invalid fault spec; `field` is the offending field. */
export class FaultSpecError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'FaultSpecError';
  }
}
