/** The typed OrderOrchestratorConfig. */
export const ORCHESTRATOR_CONFIG = Symbol('ORCHESTRATOR_CONFIG');
/** The app's clock (`() => number`, ms). */
export const ORCHESTRATOR_CLOCK = Symbol('ORCHESTRATOR_CLOCK');
/** The orchestrator's Database (schema `orders` by default). */
export const ORCHESTRATOR_DATABASE = Symbol('ORCHESTRATOR_DATABASE');
/** The read replica's Database (same schema), or null when DATABASE_REPLICA_URL is unset. */
export const ORCHESTRATOR_REPLICA_DATABASE = Symbol('ORCHESTRATOR_REPLICA_DATABASE');
