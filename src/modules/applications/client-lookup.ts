import { isId } from '../../lib/ids.js';
import type { Queryable } from '../../platform/db/database.js';
import type { ApplicationRow } from '../../platform/db/schema.js';
import { createApplicationsRepository } from './applications.repository.js';

/**
 * What the protocols (src/protocols/) need of the applications: a client by its client_id and
 * whether a browser origin is registered. Cross-tenant on purpose: a client_id names its
 * application wherever it lives (docs/adr/0009-module-map.md).
 */

/**
 * A live, active application whose partner and tenant are live and active (the only kind that may
 * authenticate as a client); undefined for anything that is not an application id.
 */
export async function findUsableClient(db: Queryable, clientId: string): Promise<ApplicationRow | undefined> {
  if (!isId('application', clientId)) return undefined;
  return createApplicationsRepository(db).findUsableClient(clientId);
}

/**
 * Whether a usable application that signs in at `place` (a tenant, or the platform: null) lists
 * `origin` in its allowed_origins (CORS preflights, docs/security.md).
 */
export function originRegistered(
  db: Queryable,
  origin: string,
  place: { tenantId: string; partnerId: string } | null,
): Promise<boolean> {
  return createApplicationsRepository(db).originRegistered(origin, place);
}
