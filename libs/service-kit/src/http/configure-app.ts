import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { ApiExceptionFilter } from './api-exception.filter';
import { answerClientErrorsAsJson, DEFAULT_MAX_BODY_DEPTH, hostileInputGuard } from './hostile-input';
import {
  enableGracefulShutdown,
  type GracefulShutdownOptions,
  type ShutdownDrain,
} from './graceful-shutdown';
import { createValidationPipe } from './validation';

export interface ServiceAppOptions {
  /** Largest JSON body accepted; larger → 413. */
  bodyLimit?: string;
  /** Origins allowed by CORS; CORS stays off when empty or undefined. */
  corsOrigins?: string[];
  /**
   * Bounded drain on SIGTERM/SIGINT (see enableGracefulShutdown); default on with its defaults.
   * `false` keeps Nest's plain shutdown hooks.
   */
  shutdown?: GracefulShutdownOptions | false;
  /** Deepest JSON nesting accepted (deeper → 400 naming the field). Default 16. */
  maxBodyDepth?: number;
}

interface BodyParserError {
  type?: string;
  status?: number;
}

/**
 * Applies the edge every service shares: security headers, a bounded JSON body parser whose
 * errors are answered in Nest's shape, strict validation, the global filter and shutdown hooks.
 * Create the app with `{ bodyParser: false }` so this parser is the only one.
 */
export function configureServiceApp(
  app: INestApplication,
  options: ServiceAppOptions = {},
): ShutdownDrain | undefined {
  const limit = options.bodyLimit ?? '100kb';
  const expressApp = app as NestExpressApplication;
  // First, so that every request (even one refused by the parser) counts as in flight.
  const drain = options.shutdown === false ? undefined : enableGracefulShutdown(app, options.shutdown);
  expressApp.disable('x-powered-by');
  expressApp.use(helmet());
  expressApp.use(express.json({ limit, strict: true }));
  expressApp.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const parserError = err as BodyParserError;
    if (parserError?.type === 'entity.too.large') {
      res.status(413).json({
        statusCode: 413,
        error: 'Payload Too Large',
        message: `body: larger than ${limit}`,
        fields: ['body'],
      });
      return;
    }
    if (parserError?.type === 'entity.parse.failed') {
      res
        .status(400)
        .json({ statusCode: 400, error: 'Bad Request', message: 'body: malformed JSON', fields: ['body'] });
      return;
    }
    if (parserError?.type === 'encoding.unsupported' || parserError?.type === 'charset.unsupported') {
      res.status(415).json({
        statusCode: 415,
        error: 'Unsupported Media Type',
        message: 'body: unsupported encoding',
        fields: ['body'],
      });
      return;
    }
    next(err);
  });
  expressApp.use(hostileInputGuard(options.maxBodyDepth ?? DEFAULT_MAX_BODY_DEPTH));
  answerClientErrorsAsJson(app.getHttpServer());
  if (options.corsOrigins !== undefined && options.corsOrigins.length > 0) {
    app.enableCors({ origin: options.corsOrigins });
  }
  app.useGlobalFilters(new ApiExceptionFilter());
  app.useGlobalPipes(createValidationPipe());
  if (!drain) app.enableShutdownHooks();
  return drain;
}
