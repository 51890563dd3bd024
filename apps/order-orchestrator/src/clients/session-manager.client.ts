import { isHttpClientError, type ResilientHttpClient } from '@app/resilience';
import type { SessionView } from './downstream.types';

/** GET /sessions/:id on the session manager (breaker `session-manager`). */
export class SessionManagerClient {
  constructor(private readonly http: ResilientHttpClient) {}

  /** The session, or undefined when the session manager says it is unknown or expired (404). */
  async get(id: string): Promise<SessionView | undefined> {
    try {
      const { data } = await this.http.get<SessionView>(`/sessions/${encodeURIComponent(id)}`);
      return data;
    } catch (err: unknown) {
      if (isHttpClientError(err) && err.status === 404) return undefined;
      throw err;
    }
  }
}
