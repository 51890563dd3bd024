import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
  Post,
} from '@nestjs/common';
import { CreatePaymentLinkDto } from './dto/create-payment-link.dto';
import type { PaymentLinkCreated, PaymentLinkView } from './payment-link.types';
import { PaymentLinksService } from './payment-links.service';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

@Controller('payment-links')
export class PaymentLinksController {
  constructor(private readonly service: PaymentLinksService) {}

  /** Creates (or replays) the payment link of an order; `Idempotency-Key` defaults to the orderId. */
  @Post()
  @HttpCode(HttpStatus.CREATED)
  create(
    @Body() dto: CreatePaymentLinkDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ): Promise<PaymentLinkCreated> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: 'Idempotency-Key: must be 1-200 printable ASCII characters',
        fields: ['Idempotency-Key'],
      });
    }
    return this.service.create(dto, idempotencyKey ?? dto.orderId);
  }

  @Get(':id')
  async find(@Param('id') id: string): Promise<PaymentLinkView> {
    const link = await this.service.find(id);
    if (!link) {
      throw new NotFoundException({
        statusCode: 404,
        error: 'Not Found',
        message: `payment link ${id} not found`,
      });
    }
    return link;
  }
}
