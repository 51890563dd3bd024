import { hashString } from '../common/deterministic.util';
import type { DownstreamDefinition } from '../http/http.types';
import { nestError } from './nest-error.util';

const FIRST_NAMES = [
  'Budi',
  'Siti',
  'Agus',
  'Dewi',
  'Rina',
  'Andi',
  'Putri',
  'Joko',
  'Ayu',
  'Rizky',
  'Indah',
  'Fajar',
];
const LAST_NAMES = [
  'Santoso',
  'Wijaya',
  'Pratama',
  'Lestari',
  'Saputra',
  'Kusuma',
  'Hidayat',
  'Nugroho',
  'Rahmawati',
];
const TIERS = ['bronze', 'silver', 'gold', 'platinum'] as const;

/** A user profile as the simulated user-service answers it. */
export interface UserProfile {
  id: string;
  name: string;
  phone: string;
  email: string;
  tier: (typeof TIERS)[number];
}

/** The deterministic catalogue: every `u-…` id exists unless it contains `never`. */
export function userProfile(id: string, seed: number): UserProfile | undefined {
  if (!/^u-.+/.test(id) || id.includes('never')) return undefined;
  const h = hashString(`${seed}:${id}`);
  const first = FIRST_NAMES[h % FIRST_NAMES.length];
  const last = LAST_NAMES[Math.floor(h / FIRST_NAMES.length) % LAST_NAMES.length];
  const digits = String(h).padStart(10, '0').slice(-9);
  const local = id.toLowerCase().replace(/[^a-z0-9]+/g, '.');
  return {
    id,
    name: `${first} ${last}`,
    phone: `+628${digits}`,
    email: `${first.toLowerCase()}.${local}@example.co.id`,
    tier: TIERS[(h >>> 8) % TIERS.length],
  };
}

/** `GET /users/:id` (route `get-user`). */
export function createUserServiceSimulator(seed: number): DownstreamDefinition {
  return {
    errorResponse: (status, _route, message) => nestError(status, message),
    routes: [
      {
        name: 'get-user',
        method: 'GET',
        path: '/users/:id',
        handle: ({ params }) => {
          const profile = userProfile(params.id, seed);
          return profile ? { status: 200, body: profile } : nestError(404, `user ${params.id} not found`);
        },
      },
    ],
  };
}
