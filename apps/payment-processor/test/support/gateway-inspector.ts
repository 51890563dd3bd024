import { createHash } from 'node:crypto';
import type { GatewayName } from '../../src/config/payment-processor.config';
import type { Simulators } from '../../../downstream-simulators/src/simulators';

const basic = (key: string): string => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

/**
 * Looks at the simulated gateways directly (their own APIs, not through the app) to say whether a
 * reference is payable there.
 */
export class GatewayInspector {
  constructor(private readonly sims: Simulators) {}

  /** Non-destructive where the API allows it; Nicepay without a tXid is tried with a simulated payment. */
  async payable(
    gateway: GatewayName,
    reference: string,
    hint: { tXid?: string; amount?: number } = {},
  ): Promise<boolean> {
    switch (gateway) {
      case 'midtrans': {
        const res = await fetch(`${this.sims.urls.midtrans}/v2/${reference}/status`, {
          headers: { authorization: basic('local-midtrans-server-key') },
        });
        const body = (await res.json()) as { transaction_status?: string };
        return res.status === 200 && body.transaction_status === 'pending';
      }
      case 'xendit': {
        const invoices = await this.xenditInvoices(reference);
        return invoices.some((invoice) => invoice.status === 'PENDING');
      }
      case 'nicepay': {
        if (hint.tXid !== undefined && hint.amount !== undefined) {
          const timeStamp = '20260101000000';
          const amt = String(hint.amount);
          const res = await fetch(`${this.sims.urls.nicepay}/nicepay/direct/v2/inquiry`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              timeStamp,
              iMid: 'LOCALIMID01',
              tXid: hint.tXid,
              referenceNo: reference,
              amt,
              merchantToken: createHash('sha256')
                .update(`${timeStamp}LOCALIMID01${reference}${amt}local-nicepay-merchant-key`)
                .digest('hex'),
            }),
          });
          const body = (await res.json()) as { status?: string };
          return body.status === '9';
        }
        return (await this.simulatePay('nicepay', reference)) === 200;
      }
    }
  }

  /** POST /_simulate/pay on the gateway: the gateway notifies the app's webhook. Returns the status. */
  async simulatePay(gateway: GatewayName, reference: string): Promise<number> {
    const res = await fetch(`${this.sims.urls[gateway]}/_simulate/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reference }),
    });
    await res.arrayBuffer();
    return res.status;
  }

  /** POST /_simulate/pay and return the notification the gateway sent (to replay it). */
  async payAndGetNotification(
    gateway: GatewayName,
    reference: string,
  ): Promise<{ status: number; notification: Record<string, unknown>; deliveredStatus?: number }> {
    const res = await fetch(`${this.sims.urls[gateway]}/_simulate/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reference }),
    });
    const body = (await res.json()) as { notification: Record<string, unknown>; status?: number };
    return { status: res.status, notification: body.notification, deliveredStatus: body.status };
  }

  async midtransStatus(reference: string): Promise<string | undefined> {
    const res = await fetch(`${this.sims.urls.midtrans}/v2/${reference}/status`, {
      headers: { authorization: basic('local-midtrans-server-key') },
    });
    const body = (await res.json()) as { transaction_status?: string };
    return res.status === 200 ? body.transaction_status : undefined;
  }

  async xenditInvoices(reference: string): Promise<Array<{ id: string; status: string }>> {
    const res = await fetch(
      `${this.sims.urls.xendit}/v2/invoices?external_id=${encodeURIComponent(reference)}`,
      {
        headers: { authorization: basic('local-xendit-secret-key') },
      },
    );
    return (await res.json()) as Array<{ id: string; status: string }>;
  }
}
