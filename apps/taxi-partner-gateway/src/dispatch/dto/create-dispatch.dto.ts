import { Type } from 'class-transformer';
import {
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

export class LatLngDto {
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-90)
  @Max(90)
  lat!: number;

  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-180)
  @Max(180)
  lng!: number;

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
  @Type(() => LatLngDto)
  pickup!: LatLngDto;

  @IsObject()
  @ValidateNested()
  @Type(() => LatLngDto)
  dropoff!: LatLngDto;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => PassengerDto)
  passenger?: PassengerDto;
}
