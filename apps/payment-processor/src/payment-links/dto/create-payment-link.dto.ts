import { Type } from 'class-transformer';
import {
  IsDefined,
  IsEmail,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsPositive,
  IsString,
  Matches,
  Max,
  MaxLength,
  ValidateNested,
} from 'class-validator';

/** Largest amount accepted (IDR, no minor unit): well inside JS safe integers and gateway limits. */
export const MAX_AMOUNT_IDR = 999_999_999_999;

export class CustomerDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @IsEmail()
  @MaxLength(254)
  email!: string;
}

/** Body of POST /payment-links. */
export class CreatePaymentLinkDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  @Matches(/^[\w.~:-]+$/, { message: 'orderId may contain letters, digits and _ . ~ : - only' })
  orderId!: string;

  @IsInt()
  @IsPositive()
  @Max(MAX_AMOUNT_IDR)
  amount!: number;

  @IsIn(['IDR'])
  currency!: 'IDR';

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => CustomerDto)
  customer!: CustomerDto;

  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}
