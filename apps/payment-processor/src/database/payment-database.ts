import type { Database } from '@app/resilience';
import type { Transaction } from 'kysely';
import type { PaymentTables } from './payment.tables';

/** Injection token of the service's Database. */
export const PAYMENT_DATABASE = Symbol('PAYMENT_DATABASE');

export type PaymentDatabase = Database<PaymentTables>;
export type PaymentTransaction = Transaction<PaymentTables>;
