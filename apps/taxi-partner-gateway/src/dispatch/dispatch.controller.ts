import {
  Body,
  ConflictException,
  Controller,
  Get,
  NotFoundException,
  Param,
  Post,
  Res,
} from '@nestjs/common';
import { ServiceUnavailableError } from '@app/resilience';
import type { BbdTracking } from '../clients/bbd.client';
import { BbdClient } from '../clients/bbd.client';
import { DispatchService } from './dispatch.service';
import type { DispatchView } from './dispatch.types';
import { CreateDispatchDto } from './dto/create-dispatch.dto';

/** `POST /dispatches`, `GET /dispatches/:id`, `GET /dispatches/:id/tracking`. */
@Controller('dispatches')
export class DispatchController {
  constructor(
    private readonly dispatches: DispatchService,
    private readonly bbd: BbdClient,
  ) {}

  /** 201 dispatched (or already assigned), 202 queued for manual dispatch. */
  @Post()
  async create(
    @Body() body: CreateDispatchDto,
    @Res({ passthrough: true }) res: { status(code: number): unknown },
  ): Promise<DispatchView> {
    const dispatch = await this.dispatches.create(body);
    res.status(dispatch.status === 'queued' || dispatch.status === 'pending' ? 202 : 201);
    return this.dispatches.view(dispatch);
  }

  @Get(':id')
  async get(@Param('id') id: string): Promise<DispatchView> {
    return this.dispatches.view(await this.find(id));
  }

  /** Position from BBD through `bbd-tracking`; 503 when BBD tracking is unavailable. */
  @Get(':id/tracking')
  async tracking(
    @Param('id') id: string,
  ): Promise<{ dispatchId: string; orderId: string; tracking: BbdTracking }> {
    const dispatch = await this.find(id);
    if (!dispatch.bbdOrderId) {
      throw new ConflictException({
        statusCode: 409,
        error: 'Conflict',
        message: `dispatch ${id} is ${dispatch.status}, not on BBD: no tracking`,
      });
    }
    try {
      const tracking = await this.bbd.tracking(dispatch.bbdOrderId);
      return { dispatchId: dispatch.id, orderId: dispatch.orderId, tracking };
    } catch (err: unknown) {
      const breaker = this.bbd.trackingBreaker;
      throw new ServiceUnavailableError('BBD', 'BBD tracking is unavailable', {
        retry: true,
        fallbackUsed: false,
        retryAfterMs: breaker.retryAfterMs() > 0 ? breaker.retryAfterMs() : undefined,
        details: { breaker: breaker.name, breakerState: breaker.state },
        cause: err,
      });
    }
  }

  private async find(id: string) {
    const dispatch = /^[0-9a-f-]{36}$/i.test(id) ? await this.dispatches.get(id) : undefined;
    if (!dispatch) {
      throw new NotFoundException({
        statusCode: 404,
        error: 'Not Found',
        message: `dispatch ${id} not found`,
      });
    }
    return dispatch;
  }
}
