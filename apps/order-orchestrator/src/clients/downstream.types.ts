import type { LatLng } from '../database/orders.tables';

/** A session as the session manager answers GET /sessions/:id. */
export interface SessionView {
  id: string;
  userId: string;
  pickup: LatLng;
  dropoff: LatLng;
  expiresAt: string;
  quote: { fare: { amount: number; currency: string } };
}

/** A user as user-service answers GET /users/:id. */
export interface UserProfile {
  id: string;
  name: string;
  phone?: string;
  email?: string;
}

/** The payment processor's answer to POST /payment-links (the fields the orchestrator keeps). */
export interface PaymentLinkView {
  id: string;
  gateway: string;
  url: string;
}

/** Body of TPG's POST /dispatches. */
export interface DispatchRequest {
  orderId: string;
  pickup: LatLng;
  dropoff: LatLng;
  passenger?: { name: string; phone: string };
}

/** TPG's answer: 201 dispatched or 202 queued. */
export interface DispatchAnswer {
  id: string;
  status: 'dispatched' | 'queued';
}

/** Body of the payment processor's POST /payment-links. */
export interface PaymentLinkRequest {
  orderId: string;
  amount: number;
  currency: 'IDR';
  customer: { name: string; email: string };
  description?: string;
}
