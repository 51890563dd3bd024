import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

/** Largest page of GET /orders?userId=. */
export const MAX_HISTORY_PAGE = 100;
export const DEFAULT_HISTORY_PAGE = 20;

/** Query of GET /orders: `userId` (required) and `limit` (1-100, default 20). */
export class ListOrdersQuery {
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  @Matches(/^[\x21-\x7e]+$/, { message: 'userId must be visible ASCII characters' })
  userId!: string;

  /** Decimal digits only (no `0x10`, `1e2`, spaces): parsed by the controller. */
  @IsOptional()
  @IsString()
  @Matches(/^(?:[1-9][0-9]?|100)$/, { message: `limit must be an integer from 1 to ${MAX_HISTORY_PAGE}` })
  limit?: string;
}
