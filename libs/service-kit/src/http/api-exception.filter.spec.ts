import {
  Body,
  ConflictException,
  Controller,
  Get,
  INestApplication,
  Module,
  Param,
  Post,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Type } from 'class-transformer';
import { IsInt, IsNumber, IsObject, IsString, Max, Min, ValidateNested } from 'class-validator';
import request from 'supertest';
import { CircuitOpenError, ServiceUnavailableError } from '@app/resilience';
import { configureServiceApp } from './configure-app';

class Point {
  @IsNumber()
  @Min(-90)
  @Max(90)
  lat!: number;
}

class CreateThing {
  @IsString()
  name!: string;

  @IsInt()
  @Min(1)
  amount!: number;

  @IsObject()
  @ValidateNested()
  @Type(() => Point)
  pickup!: Point;
}

@Controller()
class ProbeController {
  @Post('things')
  create(@Body() body: CreateThing): CreateThing {
    return body;
  }

  @Get('unavailable')
  unavailable(): never {
    throw new ServiceUnavailableError('BBD', 'BBD is unavailable', {
      retryAfterMs: 12_300,
      details: { attempts: [] },
    });
  }

  @Get('open')
  open(): never {
    throw new CircuitOpenError('bbd-dispatch', 900);
  }

  @Get('database')
  database(): never {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  }

  @Get('database/:code')
  databaseCode(@Param('code') code: string): never {
    throw Object.assign(new Error(`database error ${code}`), { code });
  }

  @Get('busy')
  busy(): never {
    throw Object.assign(new ConflictException('still in progress'), { retryAfterMs: 1000 });
  }

  @Get('boom')
  boom(): never {
    throw new Error('secret detail at /srv/app.ts:12');
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

describe('configureServiceApp and ApiExceptionFilter', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ProbeModule] }).compile();
    app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
    configureServiceApp(app);
    await app.init();
  });

  afterAll(() => app.close());

  const valid = { name: 'a', amount: 2, pickup: { lat: 1 } };

  it('accepts valid input', async () => {
    await request(app.getHttpServer()).post('/things').send(valid).expect(201, valid);
  });

  it.each([
    [{ ...valid, amount: '2' }, 'amount'],
    [{ ...valid, amount: 1.5 }, 'amount'],
    [{ ...valid, pickup: { lat: 91 } }, 'pickup.lat'],
    [{ ...valid, extra: true }, 'extra'],
    [{ name: 'a', amount: 1 }, 'pickup'],
  ])('answers 400 naming the field for %j', async (body, field) => {
    const res = await request(app.getHttpServer()).post('/things').send(body).expect(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(res.body.message).toContain(field);
    expect(res.body.fields).toContain(field);
  });

  it('answers malformed JSON with 400 naming the body', async () => {
    const res = await request(app.getHttpServer())
      .post('/things')
      .set('Content-Type', 'application/json')
      .send('{"name":')
      .expect(400);
    expect(res.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'body: malformed JSON',
      fields: ['body'],
    });
  });

  it('answers bodies over 100 kB with 413', async () => {
    const res = await request(app.getHttpServer())
      .post('/things')
      .send({ ...valid, name: 'x'.repeat(110_000) })
      .expect(413);
    expect(res.body.statusCode).toBe(413);
  });

  it('maps ServiceUnavailableError to 503 with Retry-After and its details', async () => {
    const res = await request(app.getHttpServer()).get('/unavailable').expect(503);
    expect(res.headers['retry-after']).toBe('13');
    expect(res.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'BBD is unavailable',
      service: 'BBD',
      retry: true,
      fallbackUsed: false,
      attempts: [],
    });
  });

  it('maps a breaker rejection to 503 with Retry-After of at least one second', async () => {
    const res = await request(app.getHttpServer()).get('/open').expect(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body.service).toBe('bbd-dispatch');
  });

  it('maps an unreachable database to 503', async () => {
    const res = await request(app.getHttpServer()).get('/database').expect(503);
    expect(res.body.service).toBe('database');
    expect(res.headers['retry-after']).toBeDefined();
  });

  it.each(['40P01', '40001', '55P03', '08001', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])(
    'maps database error %s (retrying may succeed) to 503 with Retry-After',
    async (code) => {
      const res = await request(app.getHttpServer()).get(`/database/${code}`).expect(503);
      expect(res.body.service).toBe('database');
      expect(res.headers['retry-after']).toBeDefined();
    },
  );

  it('gives an HttpException that carries retryAfterMs its Retry-After', async () => {
    const res = await request(app.getHttpServer()).get('/busy').expect(409);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body).toMatchObject({ statusCode: 409, message: 'still in progress' });
  });

  it('hides unknown errors behind a generic 500 with a correlation id', async () => {
    const res = await request(app.getHttpServer()).get('/boom').set('x-request-id', 'req-42').expect(500);
    expect(res.body).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'internal error',
      correlationId: 'req-42',
    });
    expect(JSON.stringify(res.body)).not.toContain('secret');
  });

  it('sets security headers and no x-powered-by', async () => {
    const res = await request(app.getHttpServer()).post('/things').send(valid);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});
