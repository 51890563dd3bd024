import { Transform } from 'class-transformer';
import { IsNumber, IsOptional, Max, Min } from 'class-validator';

/** Query strings arrive as text; only plain decimal numbers become numbers, the rest fail validation. */
const toNumber = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;

/** `GET /vehicles/vacant?lat=&lng=&radius=` (radius in metres). */
export class VacantVehiclesQuery {
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'lat must be a number' })
  @Min(-90)
  @Max(90)
  lat!: number;

  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'lng must be a number' })
  @Min(-180)
  @Max(180)
  lng!: number;

  @IsOptional()
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'radius must be a number of metres' })
  @Min(1)
  @Max(20_000)
  radius?: number;
}
