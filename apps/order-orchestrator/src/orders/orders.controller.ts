import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Res,
} from '@nestjs/common';
import { CreateOrderDto } from './dto/create-order.dto';
import { DispatchEventDto } from './dto/dispatch-event.dto';
import type { OrderPayment } from '../database/orders.tables';
import type { OrderView } from './order.view';
import { OrdersService } from './orders.service';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** The order API: take an order, read it, make its payment link, hear from TPG. */
@Controller()
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post('orders')
  @HttpCode(HttpStatus.CREATED)
  async create(
    @Body() body: CreateOrderDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) response: { setHeader(name: string, value: string): unknown },
  ): Promise<OrderView> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new BadRequestException({
        message: 'Idempotency-Key: must be 1-200 visible ASCII characters',
        fields: ['Idempotency-Key'],
      });
    }
    const { order, replayed } = await this.orders.create(body, idempotencyKey);
    if (replayed) response.setHeader('Idempotent-Replayed', 'true');
    return order;
  }

  @Get('orders/:id')
  get(@Param('id') id: string): Promise<OrderView> {
    return this.orders.get(id);
  }

  @Post('orders/:id/payment-link')
  @HttpCode(HttpStatus.CREATED)
  paymentLink(@Param('id') id: string): Promise<OrderPayment> {
    return this.orders.paymentLink(id);
  }

  @Post('internal/dispatch-events')
  @HttpCode(HttpStatus.NO_CONTENT)
  async dispatchEvent(@Body() body: DispatchEventDto): Promise<void> {
    await this.orders.applyDispatchEvent(body);
  }
}
