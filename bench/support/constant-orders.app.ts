/**
 * The ceiling for `POST /orders` on this machine: a NestJS app (same platform-express stack,
 * global ValidationPipe and the orchestrator's own DTO) answering the route with a constant 201 body.
 * Port: BENCH_BASELINE_PORT. Readiness: GET /health/live.
 */
import 'reflect-metadata';
import { Body, Controller, Get, HttpCode, Module, Post, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CreateOrderDto } from '../../apps/order-orchestrator/src/orders/dto/create-order.dto';

const ANSWER = {
  id: 'ord_constant',
  status: 'dispatched',
  userId: 'u-1',
  sessionId: 'ses_constant',
  fare: { amount: 25000, currency: 'IDR' },
  user: { id: 'u-1', name: 'Constant Rider', stale: false },
  payment: { linkId: 'pl_constant', gateway: 'midtrans', url: 'http://127.0.0.1/pay' },
  dispatch: { status: 'dispatched', dispatchId: 'dsp_constant' },
  degraded: [],
};

@Controller()
class ConstantOrdersController {
  @Post('orders')
  @HttpCode(201)
  create(@Body() _body: CreateOrderDto): typeof ANSWER {
    return ANSWER;
  }

  @Get('health/live')
  live(): { status: string } {
    return { status: 'ok' };
  }
}

@Module({ controllers: [ConstantOrdersController] })
class ConstantOrdersModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(ConstantOrdersModule, { logger: ['error'] });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  await app.listen(Number(process.env.BENCH_BASELINE_PORT ?? 0), '127.0.0.1');
}

void main();
