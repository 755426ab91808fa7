import type { Queryable } from '../db/database.js';
import { notifyMany } from '../db/notify.js';
import { EVENTS_CHANNEL } from './events.repository.js';

/** What an instance does with the notices it sends: wake its own waiters, report a failed send. */
export interface EventNoticeHooks {
  /** Wakes this instance's waiters of `key` at once (its EventSignal), before the notice is sent. */
  wake(key: string): void;
  /** A notice statement failed; the waiters' safety polls find the events anyway (ADR 0012). */
  onError(error: unknown): void;
}

/**
 * Sends the EVENTS_CHANNEL notices ("tenant X has new events") of committed changes, after their
 * commit and outside their transaction (ADR 0012, amendment of issue 17): a NOTIFY inside a
 * transaction takes PostgreSQL's global notify lock and holds it across the commit's WAL flush,
 * which serializes every committing change that notifies. Here one process has one sender with at
 * most one notice statement in flight; keys arriving meanwhile go together in the next one
 * (`select pg_notify(…), pg_notify(…)`), so the lock is taken once per batch, not per change.
 *
 * A crash between a commit and its notice loses only the wake-up, never the event: the webhook
 * dispatcher looks again every SAFETY_POLL_MS and a change-feed long-poll reads again when its
 * wait ends (docs/events.md).
 */
export class EventNotices {
  readonly #pending = new Set<string>();
  #sending: Promise<void> | null = null;
  #hooks: EventNoticeHooks = { wake: () => {}, onError: () => {} };

  constructor(private readonly db: Queryable) {}

  /** Connects this instance's EventSignal and logger (app.ts). */
  attach(hooks: EventNoticeHooks): void {
    this.#hooks = hooks;
  }

  /** Announces new events of `keys` (tenant ids, or "platform"): call after the commit only. */
  send(keys: Iterable<string>): void {
    for (const key of keys) {
      this.#hooks.wake(key);
      this.#pending.add(key);
    }
    if (this.#pending.size > 0 && !this.#sending) this.#sending = this.#flush();
  }

  /** Resolves when every notice handed to `send` so far has been sent (or has failed). */
  async drain(): Promise<void> {
    while (this.#sending) await this.#sending;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#pending.size > 0) {
        const keys = [...this.#pending];
        this.#pending.clear();
        try {
          await notifyMany(this.db, EVENTS_CHANNEL, keys);
        } catch (error) {
          this.#hooks.onError(error);
        }
      }
    } finally {
      this.#sending = null;
    }
  }
}
