import { IsIn, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import type { PaymentMethod } from '../../database/orders.tables';

/** Body of POST /orders. */
export class CreateOrderDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  sessionId!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  userId!: string;

  @IsIn(['online', 'cash'])
  paymentMethod!: PaymentMethod;
}
