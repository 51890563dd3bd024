import { LatLngDto } from '@app/service-kit';
import { Type } from 'class-transformer';
import {
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';

/** A pickup or drop-off point, optionally with the address the passenger gave. */
export class PlaceDto extends LatLngDto {
  @IsOptional()
  @IsString()
  @MaxLength(500)
  address?: string;
}

export class PassengerDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @IsString()
  @Matches(/^\+?[0-9 ()-]{4,32}$/, { message: 'phone must be a phone number' })
  phone!: string;
}

/** `POST /dispatches`. */
export class CreateDispatchDto {
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, {
    message: 'orderId must be 1-128 characters of letters, digits, _ . : -',
  })
  orderId!: string;

  @IsObject()
  @ValidateNested()
  @Type(() => PlaceDto)
  pickup!: PlaceDto;

  @IsObject()
  @ValidateNested()
  @Type(() => PlaceDto)
  dropoff!: PlaceDto;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => PassengerDto)
  passenger?: PassengerDto;
}
