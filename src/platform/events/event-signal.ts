import type { DatabaseHandle } from '../db/database.js';
import { EVENTS_CHANNEL } from './events.repository.js';

/** A wait for the next notice of a key, which the waiter cancels when it stops waiting. */
export interface EventWait {
  readonly arrived: Promise<void>;
  cancel(): void;
}

/**
 * Wakes those who wait for new events (the change feed's long-polls, the webhook dispatcher):
 * every instance LISTENs on EVENTS_CHANNEL, whose notices carry a tenant id (or "platform") as
 * the key: sent after a unit of work's commit (EventNotices, which also wakes this instance at
 * once), or on commit by the other writers of events. `ANY` waits for every key.
 */
export class EventSignal {
  static readonly ANY = '*';
  readonly #waiters = new Map<string, Set<() => void>>();
  #unsubscribe: (() => Promise<void>) | null = null;

  async start(database: DatabaseHandle): Promise<void> {
    this.#unsubscribe = await database.listen(EVENTS_CHANNEL, (key) => this.notify(key));
  }

  async stop(): Promise<void> {
    await this.#unsubscribe?.();
    this.#unsubscribe = null;
    for (const wake of [...this.#waiters.values()].flatMap((set) => [...set])) wake();
    this.#waiters.clear();
  }

  /** Wakes the waiters of `key` and those of every key. */
  notify(key: string): void {
    for (const chosen of [key, EventSignal.ANY]) {
      const set = this.#waiters.get(chosen);
      if (!set) continue;
      this.#waiters.delete(chosen);
      for (const wake of set) wake();
    }
  }

  /** Starts waiting for the next notice of `key` (register before reading, so none is missed). */
  next(key: string): EventWait {
    let wake = () => {};
    const arrived = new Promise<void>((resolve) => {
      wake = resolve;
    });
    let set = this.#waiters.get(key);
    if (!set) {
      set = new Set();
      this.#waiters.set(key, set);
    }
    set.add(wake);
    return {
      arrived,
      cancel: () => {
        const current = this.#waiters.get(key);
        current?.delete(wake);
        if (current?.size === 0) this.#waiters.delete(key);
        wake();
      },
    };
  }
}
