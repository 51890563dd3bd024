import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import {
  ClaimManualDispatchDto,
  CompleteManualDispatchDto,
  ListManualDispatchQuery,
  ReleaseManualDispatchDto,
} from './dto/manual-dispatch.dto';
import {
  ManualDispatchAuditEvent,
  ManualDispatchItem,
  ManualDispatchService,
} from './manual-dispatch.service';
import { OperatorTokenGuard } from './operator-token.guard';

/** The manual dispatch queue for operators (rate limited first, then the bearer token). */
@Controller('manual-dispatch')
@UseGuards(ThrottlerGuard, OperatorTokenGuard)
export class ManualDispatchController {
  constructor(private readonly manual: ManualDispatchService) {}

  @Get()
  async list(@Query() query: ListManualDispatchQuery): Promise<{ items: ManualDispatchItem[] }> {
    return { items: await this.manual.list(query.status) };
  }

  /** The entry's audit trail: every move with the operator (actor) who made it, oldest first. */
  @Get(':id/events')
  async events(@Param('id') id: string): Promise<{ items: ManualDispatchAuditEvent[] }> {
    return { items: await this.manual.events(id) };
  }

  @Post(':id/claim')
  @HttpCode(HttpStatus.OK)
  claim(@Param('id') id: string, @Body() body: ClaimManualDispatchDto): Promise<ManualDispatchItem> {
    return this.manual.claim(id, body.operator);
  }

  @Post(':id/release')
  @HttpCode(HttpStatus.OK)
  release(@Param('id') id: string, @Body() body: ReleaseManualDispatchDto): Promise<ManualDispatchItem> {
    return this.manual.release(id, body?.operator);
  }

  @Post(':id/complete')
  @HttpCode(HttpStatus.OK)
  complete(@Param('id') id: string, @Body() body: CompleteManualDispatchDto): Promise<ManualDispatchItem> {
    const vehicle = {
      vehicleId: body.vehicleId,
      ...(body.driverName ? { driverName: body.driverName } : {}),
    };
    return this.manual.complete(id, vehicle, body.operator);
  }
}
