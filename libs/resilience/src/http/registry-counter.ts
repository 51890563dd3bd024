import { Counter, Registry } from 'prom-client';

/** The counter of that name in `registry`, created on first use so several clients can share one registry. */
export function registryCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}
