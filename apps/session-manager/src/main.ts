import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { configureServiceApp, EnvValidationError } from '@app/service-kit';
import { AppModule } from './app.module';
import { loadSessionManagerConfig } from './config/session-manager.config';

async function bootstrap(): Promise<void> {
  const logger = new Logger('SessionManager');
  const config = loadSessionManagerConfig(process.env);
  const app = await NestFactory.create(AppModule.register(config), { bodyParser: false });
  configureServiceApp(app, {
    corsOrigins: config.edge?.corsOrigins,
    shutdown: { drainTimeoutMs: config.edge?.shutdownDrainTimeoutMs },
  });
  await app.listen(config.port, '0.0.0.0');
  logger.log(
    `session-manager listening on http://127.0.0.1:${config.port} (sessions in ${config.redisUrl ? 'Redis' : 'process memory'})`,
  );
}

bootstrap().catch((err: unknown) => {
  if (err instanceof EnvValidationError) {
    console.error(`session-manager: ${err.message}`);
  } else {
    console.error('session-manager failed to start', err);
  }
  process.exit(1);
});
