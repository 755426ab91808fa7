import { expiringLru, setUntil } from '../../lib/lru.js';
import type { Db } from '../../platform/db/database.js';
import type { ApplicationRow } from '../../platform/db/schema.js';
import { createApplicationsRepository } from './applications.repository.js';

const TTL_MS = 30_000;

/**
 * Usable clients (live, active applications of live, active partners and tenants) by id, kept a
 * short while: the token endpoint and the token verifier look one up on every grant or new token,
 * and that join costs more than the RSA signature. Emptied on every invalidation (application,
 * tenant, partner changes, on this instance at once and on others by NOTIFY); unknown ids are not
 * cached, so a new application works immediately.
 */
export class UsableClientCache {
  readonly #clients = expiringLru<string, ApplicationRow>(5_000);

  constructor(private readonly db: Db) {}

  async find(id: string): Promise<ApplicationRow | undefined> {
    const cached = this.#clients.get(id);
    if (cached) return cached;
    const application = await createApplicationsRepository(this.db).findUsableClient(id);
    if (application) setUntil(this.#clients, id, application, Date.now() + TTL_MS);
    return application;
  }

  clear(): void {
    this.#clients.clear();
  }
}
