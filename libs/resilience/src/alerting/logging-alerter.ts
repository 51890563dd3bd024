import { Logger } from '@nestjs/common';
import type { AlertLogger, AlertSeverity, Alerter } from './alerter';

/** Default alerter: writes each alert to the logger (warn for warning/critical, log for info). */
export class LoggingAlerter implements Alerter {
  constructor(private readonly logger: AlertLogger = new Logger('CircuitBreakerAlert')) {}

  sendAlert(name: string, message: string, severity: AlertSeverity): void {
    const line = `[${severity}] ${name}: ${message}`;
    if (severity === 'info') this.logger.log(line);
    else if (severity === 'warning') this.logger.warn(line);
    else this.logger.error(line);
  }
}
