import { IsIn, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export const LISTABLE_STATUSES = [
  'pending',
  'claimed',
  'completed',
  'replaying',
  'replayed',
  'failed',
  'cancelled',
] as const;
export type ListableStatus = (typeof LISTABLE_STATUSES)[number];

/** `GET /manual-dispatch?status=`. */
export class ListManualDispatchQuery {
  @IsOptional()
  @IsIn(LISTABLE_STATUSES)
  status?: ListableStatus;
}

/** `POST /manual-dispatch/:id/claim`. */
export class ClaimManualDispatchDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  operator!: string;
}

/** `POST /manual-dispatch/:id/release`; the operator is optional (an admin may release any entry). */
export class ReleaseManualDispatchDto {
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  operator?: string;
}

/** `POST /manual-dispatch/:id/complete`: the vehicle the operator assigned by radio. */
export class CompleteManualDispatchDto {
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,63}$/, {
    message: 'vehicleId must be 1-64 letters, digits, space, _ . : -',
  })
  vehicleId!: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  driverName?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  operator?: string;
}
