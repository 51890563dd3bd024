import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '@app/resilience';
import { configureServiceApp, EnvValidationError } from '@app/service-kit';
import { AppModule } from './app.module';
import { loadOrderOrchestratorConfig } from './config/order-orchestrator.config';

async function bootstrap(): Promise<void> {
  const logger = new Logger('OrderOrchestrator');
  const config = loadOrderOrchestratorConfig(process.env);
  let embedded: EmbeddedPostgres | undefined;
  if (!config.databaseUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: '.data/order-orchestrator' });
    config.databaseUrl = embedded.url;
  }
  const app = await NestFactory.create(AppModule.register(config), { bodyParser: false });
  configureServiceApp(app, {
    corsOrigins: config.edge?.corsOrigins,
    shutdown: { drainTimeoutMs: config.edge?.shutdownDrainTimeoutMs },
  });
  if (embedded) {
    const stopEmbedded = embedded;
    process.once('exit', () => void stopEmbedded.stop());
  }
  await app.listen(config.port, '0.0.0.0');
  logger.log(
    `order-orchestrator listening on http://127.0.0.1:${config.port} (schema ${config.databaseSchema})`,
  );
}

bootstrap().catch((err: unknown) => {
  if (err instanceof EnvValidationError) {
    console.error(`order-orchestrator: ${err.message}`);
  } else {
    console.error('order-orchestrator failed to start', err);
  }
  process.exit(1);
});
