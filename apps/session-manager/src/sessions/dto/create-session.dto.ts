import { LatLngDto } from '@app/service-kit';
import { Type } from 'class-transformer';
import { IsDefined, IsNotEmpty, IsString, MaxLength, ValidateNested } from 'class-validator';

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

export { LatLngDto };
