import { IsNumber, Max, Min } from 'class-validator';

/** A point given by a client: latitude in [-90, 90], longitude in [-180, 180]. */
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
