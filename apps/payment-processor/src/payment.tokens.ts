import type { Clock } from '@app/resilience';
import type { PaymentProcessorConfig } from './config/payment-processor.config';

/** The typed config with a clock always set. */
export type ProcessorSettings = PaymentProcessorConfig & { clock: Clock };

/** ProcessorSettings. */
export const PROCESSOR_SETTINGS = Symbol('PAYMENT_PROCESSOR_SETTINGS');
/** The app's own prom-client Registry. */
export const PAYMENT_REGISTRY = Symbol('PAYMENT_REGISTRY');
/** PaymentGatewayClient[] in PAYMENT_GATEWAYS order. */
export const PAYMENT_GATEWAY_CLIENTS = Symbol('PAYMENT_GATEWAY_CLIENTS');
