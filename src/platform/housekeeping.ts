import type { FastifyBaseLogger } from 'fastify';

/** One periodic clean-up: returns how many rows it removed (for the log line). */
export interface HousekeepingTask {
  name: string;
  /** How often it runs on each instance. */
  everyMs: number;
  run(): Promise<number>;
}

/**
 * Periodic clean-ups (expired challenges, audit retention, …) on every instance. Each task is an
 * idempotent batch of deletes, so two instances running one at the same time only share the work.
 * Tasks never overlap themselves on one instance, errors are logged and retried on the next tick,
 * and `runAll()` lets tests and the CLI run every task at once instead of waiting for a timer.
 */
export class Housekeeping {
  readonly #tasks: HousekeepingTask[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #running = new Map<string, Promise<number>>();

  constructor(private readonly log: FastifyBaseLogger) {}

  register(task: HousekeepingTask): void {
    this.#tasks.push(task);
  }

  start(): void {
    for (const task of this.#tasks) {
      const timer = setInterval(() => void this.#runOne(task), task.everyMs);
      timer.unref();
      this.#timers.push(timer);
    }
  }

  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
    await Promise.allSettled(this.#running.values());
  }

  /** Runs every task (or the named ones) now; resolves with the rows each removed. */
  async runAll(names?: readonly string[]): Promise<Record<string, number>> {
    const chosen = this.#tasks.filter((task) => !names || names.includes(task.name));
    const counts = await Promise.all(chosen.map((task) => this.#runOne(task)));
    return Object.fromEntries(chosen.map((task, index) => [task.name, counts[index] ?? 0]));
  }

  #runOne(task: HousekeepingTask): Promise<number> {
    const running = this.#running.get(task.name);
    if (running) return running;
    const run = task
      .run()
      .then((removed) => {
        if (removed > 0) this.log.info({ task: task.name, removed }, 'housekeeping removed expired rows');
        return removed;
      })
      .catch((error) => {
        this.log.error({ err: error, task: task.name }, 'housekeeping task failed');
        return 0;
      })
      .finally(() => this.#running.delete(task.name));
    this.#running.set(task.name, run);
    return run;
  }
}

/** How many rows one delete of a clean-up removes at most (short statements: PGlite has one connection). */
export const PURGE_BATCH = 500;

/**
 * Runs `deleteBatch` (one bounded delete, answering how many rows it removed) until a batch
 * removes fewer than `size` rows, at most `maxBatches` times per run (a large backlog goes over
 * several runs instead of holding the database for long); answers the total removed.
 */
export async function deleteInBatches(
  deleteBatch: (size: number) => Promise<number>,
  { size = PURGE_BATCH, maxBatches = 20 }: { size?: number; maxBatches?: number } = {},
): Promise<number> {
  let total = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const removed = await deleteBatch(size);
    total += removed;
    if (removed < size) break;
  }
  return total;
}
