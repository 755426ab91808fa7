import { isId } from '../../lib/ids.js';
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
 * cached, so a new application works immediately. The hosted sign-in reads its client here too
 * (oidc-provider's adapter, the assignment check: issue 17).
 */
export class UsableClientCache {
  readonly #clients = expiringLru<string, ApplicationRow>(5_000);
  /** Bumped by every clear: a row read across one is answered, not kept (it may be older). */
  #generation = 0;

  constructor(private readonly db: Db) {}

  /** The usable application of a client id; undefined for anything that is not an application id. */
  async find(id: string): Promise<ApplicationRow | undefined> {
    if (!isId('application', id)) return undefined;
    const cached = this.#clients.get(id);
    if (cached) return cached;
    const generation = this.#generation;
    const application = await createApplicationsRepository(this.db).findUsableClient(id);
    if (application && generation === this.#generation) {
      setUntil(this.#clients, id, application, Date.now() + TTL_MS);
    }
    return application;
  }

  clear(): void {
    this.#generation++;
    this.#clients.clear();
  }
}
