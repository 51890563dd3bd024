/** A map provider answered, but without a usable route (quota, denied key, no route found). */
export class MapProviderError extends Error {
  readonly code = 'MAP_PROVIDER_ERROR' as const;

  constructor(
    readonly provider: string,
    readonly reason: string,
  ) {
    super(`${provider} gave no route: ${reason}`);
    this.name = 'MapProviderError';
  }
}
