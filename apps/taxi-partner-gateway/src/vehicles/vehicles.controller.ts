import { Controller, Get, Query } from '@nestjs/common';
import { ServiceUnavailableError } from '@app/resilience';
import { BbdClient, BbdVacantVehicles } from '../clients/bbd.client';
import { VacantVehiclesQuery } from './vacant-vehicles.query';

/** `GET /vehicles/vacant` through `bbd-dispatch`; no fallback exists, so unavailable → 503. */
@Controller('vehicles')
export class VehiclesController {
  constructor(private readonly bbd: BbdClient) {}

  @Get('vacant')
  async vacant(@Query() query: VacantVehiclesQuery): Promise<BbdVacantVehicles> {
    try {
      return await this.bbd.vacantVehicles(query.lat, query.lng, query.radius);
    } catch (err: unknown) {
      const breaker = this.bbd.dispatchBreaker;
      const retryAfterMs = breaker.retryAfterMs();
      throw new ServiceUnavailableError('BBD', 'BBD is unavailable: vacant vehicles cannot be listed', {
        retry: true,
        fallbackUsed: false,
        retryAfterMs: retryAfterMs > 0 ? retryAfterMs : undefined,
        details: { breaker: breaker.name, breakerState: breaker.state },
        cause: err,
      });
    }
  }
}
