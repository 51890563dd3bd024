import { loadSimulatorsConfig, SimulatorsConfigError } from './config/simulators.config';
import { startSimulators } from './simulators';

/** Starts every simulator on the ports from the environment; stops on SIGTERM/SIGINT. */
async function bootstrap(): Promise<void> {
  let config: ReturnType<typeof loadSimulatorsConfig>;
  try {
    config = loadSimulatorsConfig(process.env);
  } catch (error: unknown) {
    if (error instanceof SimulatorsConfigError) {
      console.error(`[downstream-simulators] invalid configuration: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const simulators = await startSimulators({
    ...config,
    logger: {
      info: (message) => console.log(`[downstream-simulators] ${message}`),
      warn: (message) => console.warn(`[downstream-simulators] ${message}`),
    },
  });
  const shutdown = (signal: string): void => {
    console.log(`[downstream-simulators] ${signal} received, stopping`);
    simulators.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

bootstrap().catch((error: unknown) => {
  console.error(
    `[downstream-simulators] failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
