import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '@app/resilience';
import { configureServiceApp, EnvValidationError } from '@app/service-kit';
import { AppModule } from './app.module';
import { loadTpgConfig } from './config/tpg.config';

async function bootstrap(): Promise<void> {
  const logger = new Logger('TaxiPartnerGateway');
  const config = loadTpgConfig(process.env);
  let embedded: EmbeddedPostgres | undefined;
  if (!config.databaseUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: '.data/taxi-partner-gateway' });
    config.databaseUrl = embedded.url;
    config.afterDatabaseClosed = () => (embedded as EmbeddedPostgres).stop();
  }
  if (config.breakersDisabled)
    logger.warn('BREAKERS_DISABLED=true: breakers pass every call (cascade benchmark only)');
  const app = await NestFactory.create(AppModule.register(config), { bodyParser: false });
  configureServiceApp(app, {
    corsOrigins: config.edge?.corsOrigins,
    shutdown: { drainTimeoutMs: config.edge?.shutdownDrainTimeoutMs },
  });
  await app.listen(config.port, '0.0.0.0');
  logger.log(`taxi-partner-gateway listening on http://127.0.0.1:${config.port} (BBD ${config.bbdUrl})`);
}

bootstrap().catch((err: unknown) => {
  if (err instanceof EnvValidationError) {
    console.error(`taxi-partner-gateway: ${err.message}`);
  } else {
    console.error('taxi-partner-gateway failed to start', err);
  }
  process.exit(1);
});
