/** Severity of a breaker alert. */
export type AlertSeverity = 'warning' | 'info' | 'critical';

/** Where breaker alerts go: `warning` when a breaker opens, `info` when it recovers (half-open → closed). */
export interface Alerter {
  sendAlert(name: string, message: string, severity: AlertSeverity): Promise<void> | void;
}

/** The slice of Nest's LoggerService the library uses. */
export interface AlertLogger {
  log(message: string, ...optionalParams: unknown[]): unknown;
  warn(message: string, ...optionalParams: unknown[]): unknown;
  error(message: string, ...optionalParams: unknown[]): unknown;
}
