import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { startEmbeddedPostgres } from '@app/resilience';
import { configureServiceApp, EnvValidationError } from '@app/service-kit';
import { AppModule } from './app.module';
import { loadPaymentProcessorConfig } from './config/payment-processor.config';

async function bootstrap(): Promise<void> {
  const logger = new Logger('PaymentProcessor');
  const config = loadPaymentProcessorConfig(process.env);
  if (!config.databaseUrl) {
    const embedded = await startEmbeddedPostgres({ dataDir: '.data/payment-processor' });
    config.databaseUrl = embedded.url;
    config.afterDatabaseClosed = () => embedded.stop();
  }
  const app = await NestFactory.create(AppModule.register(config), { bodyParser: false });
  configureServiceApp(app, {
    corsOrigins: config.edge?.corsOrigins,
    shutdown: { drainTimeoutMs: config.edge?.shutdownDrainTimeoutMs },
  });
  await app.listen(config.port, '0.0.0.0');
  logger.log(
    `payment-processor listening on http://127.0.0.1:${config.port} (gateways ${config.gateways.join(' → ')}, schema ${config.databaseSchema})`,
  );
}

bootstrap().catch((err: unknown) => {
  if (err instanceof EnvValidationError) {
    console.error(`payment-processor: ${err.message}`);
  } else {
    console.error('payment-processor failed to start', err);
  }
  process.exit(1);
});
