import { Type } from 'class-transformer';
import {
  IsDefined,
  IsNotEmpty,
  IsNumber,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

/** A point given by the client; latitude in [-90, 90], longitude in [-180, 180]. */
export class LatLngDto {
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-90)
  @Max(90)
  lat!: number;

  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-180)
  @Max(180)
  lng!: number;
}

/** Body of POST /sessions. */
export class CreateSessionDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  userId!: string;

  @IsDefined()
  @ValidateNested()
  @Type(() => LatLngDto)
  pickup!: LatLngDto;

  @IsDefined()
  @ValidateNested()
  @Type(() => LatLngDto)
  dropoff!: LatLngDto;
}
