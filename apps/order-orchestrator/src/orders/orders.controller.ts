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
  Query,
  Res,
} from '@nestjs/common';
import { CreateOrderDto } from './dto/create-order.dto';
import { DispatchEventDto } from './dto/dispatch-event.dto';
import { DEFAULT_HISTORY_PAGE, ListOrdersQuery } from './dto/list-orders.query';
import { OrderHistory, type OrderHistoryPage } from './order-history';
import type { OrderPayment } from '../database/orders.tables';
import type { OrderView } from './order.view';
import { OrdersService } from './orders.service';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** The order API: take an order, read it, make its payment link, hear from TPG. */
@Controller()
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    private readonly history: OrderHistory,
  ) {}

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

  /** Order history, newest first; from the read replica when configured (header X-Read-Source says which). */
  @Get('orders')
  async list(
    @Query() query: ListOrdersQuery,
    @Res({ passthrough: true }) response: { setHeader(name: string, value: string): unknown },
  ): Promise<OrderHistoryPage> {
    const { source, ...page } = await this.history.list(
      query.userId,
      query.limit === undefined ? DEFAULT_HISTORY_PAGE : Number(query.limit),
    );
    response.setHeader('X-Read-Source', source);
    return page;
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
