import type { DatabaseHandle, Queryable } from './db/database.js';
import { notify } from './db/notify.js';

export const INVALIDATION_CHANNEL = 'scaikey_invalidate';

/**
 * Notifies every instance of a change on commit of the transaction `db` belongs to (for code that
 * runs before an `Invalidation` exists, such as bootstrap; others use `Invalidation.publish`).
 */
export async function publishInvalidation(db: Queryable, topic: string): Promise<void> {
  await notify(db, INVALIDATION_CHANNEL, topic);
}

/**
 * Cache invalidation across instances through PostgreSQL LISTEN/NOTIFY (PGlite has it too).
 * A service calls `publish(trx, topic)` inside the transaction of the change: the database delivers
 * it to every instance when (and only if) the transaction commits. It then calls `local(topic)`
 * after the commit, so this instance is consistent before it answers the request.
 */
export class Invalidation {
  readonly #handlers = new Set<(topic: string) => void>();
  #unsubscribe: (() => Promise<void>) | null = null;

  on(handler: (topic: string) => void): void {
    this.#handlers.add(handler);
  }

  async start(database: DatabaseHandle): Promise<void> {
    this.#unsubscribe = await database.listen(INVALIDATION_CHANNEL, (topic) => this.local(topic));
  }

  async stop(): Promise<void> {
    await this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  async publish(db: Queryable, topic: string): Promise<void> {
    await publishInvalidation(db, topic);
  }

  local(topic: string): void {
    for (const handler of this.#handlers) handler(topic);
  }
}
