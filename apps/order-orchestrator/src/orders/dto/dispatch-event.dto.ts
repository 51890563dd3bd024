import {
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { DISPATCH_EVENT_STATUSES, type DispatchEventStatus } from '../order-status';

/** Body of POST /internal/dispatch-events (sent by TPG). */
export class DispatchEventDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  orderId!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  dispatchId!: string;

  @IsIn(DISPATCH_EVENT_STATUSES)
  status!: DispatchEventStatus;

  /** Assigned vehicle as TPG describes it; stored as given. */
  @IsOptional()
  @IsObject()
  vehicle?: Record<string, unknown>;

  /** Optional monotonic sequence per dispatch: an event older than one applied is ignored. */
  @IsOptional()
  @IsInt()
  @Min(0)
  // Stored as bigint: beyond 2^53 it is neither exact here nor storable there.
  @Max(Number.MAX_SAFE_INTEGER)
  sequence?: number;
}
