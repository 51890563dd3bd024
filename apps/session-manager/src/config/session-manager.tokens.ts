/** The typed SessionManagerConfig. */
export const SESSION_MANAGER_CONFIG = Symbol('SESSION_MANAGER_CONFIG');
/** The app's clock (`() => number`, ms). */
export const SESSION_MANAGER_CLOCK = Symbol('SESSION_MANAGER_CLOCK');
