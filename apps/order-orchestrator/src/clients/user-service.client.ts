import type { ResilientHttpClient } from '@app/resilience';
import type { UserProfile } from './downstream.types';

/** GET /users/:id on user-service (breaker `user-service`); a 404 surfaces as HttpClientError. */
export class UserServiceClient {
  constructor(private readonly http: ResilientHttpClient) {}

  async get(id: string): Promise<UserProfile> {
    const { data } = await this.http.get<UserProfile>(`/users/${encodeURIComponent(id)}`);
    return data;
  }
}
