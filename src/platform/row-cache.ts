import { LRUCache } from 'lru-cache';
import type { DatabaseHandle } from './db/database.js';

/** The channel of row change notices (migration 0018_row_notifications). */
export const ROWS_CHANNEL = 'scaikey_rows';

/** The kinds of rows the triggers report, as they name them. */
export type RowKind = 'user' | 'group' | 'ou' | 'tenant';

/** The cache key of one row. */
export const rowKey = (kind: RowKind, id: string): string => `${kind}:${id}`;

/** What a notice or a transaction's `scaikey.changed_rows` says changed: keys, or every row. */
export const EVERY_ROW = '*';

/**
 * Reads a trigger's entries (`<kind> <id> <id>…`, `;` between entries; `<kind> *` for more than 200
 * rows; `*` alone for more than a transaction could list) as cache keys, or EVERY_ROW.
 */
export function changedRowKeys(text: string | null | undefined): string[] | typeof EVERY_ROW {
  if (!text) return [];
  const keys: string[] = [];
  for (const entry of text.split(';')) {
    const [kind, ...ids] = entry.trim().split(' ');
    if (!kind) continue;
    if (kind === EVERY_ROW || ids.includes(EVERY_ROW)) return EVERY_ROW;
    for (const id of ids) if (id) keys.push(rowKey(kind as RowKind, id));
  }
  return keys;
}

/** Kept rows are shared by every request that reads them: none may change one. */
function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (inner !== null && typeof inner === 'object' && !Object.isFrozen(inner)) deepFreeze(inner);
  }
  return Object.freeze(value);
}

const DEFAULT_MAX_ROWS = 20_000;

/**
 * Hot directory rows (users, groups, OUs, tenants by id) kept in memory, so that a read by id of an
 * unchanged row needs no database round trip (docs/adr/0015-directory-row-cache.md).
 *
 * Trust comes from the database: every UPDATE and DELETE of these tables notifies ROWS_CHANNEL
 * when it commits (triggers, whatever code path wrote), and every instance drops the rows named.
 * The unit of work also drops the rows its transaction changed as soon as it commits, so the
 * writing instance never answers from a copy older than its own write. A read that overlaps a
 * change notice is answered but not kept (it may have read the row before the change). While the
 * LISTEN connection is lost the cache is bypassed and, once it is back, emptied: notices sent in
 * between are lost, so nothing kept from before can be trusted.
 */
export class RowCache {
  readonly #rows: LRUCache<string, object>;
  /** Bumped by every change: a load that saw it change is not kept. */
  #generation = 0;
  /** No notices can be heard (not started yet, or the LISTEN connection is lost): read through. */
  #deaf = true;
  #unsubscribe: (() => Promise<void>) | null = null;

  constructor(options: { maxRows?: number } = {}) {
    this.#rows = new LRUCache({ max: options.maxRows ?? DEFAULT_MAX_ROWS });
  }

  async start(database: DatabaseHandle): Promise<void> {
    this.#unsubscribe = await database.listen(
      ROWS_CHANNEL,
      (payload) => this.changed(changedRowKeys(payload)),
      {
        lost: () => {
          this.#deaf = true;
          this.changed(EVERY_ROW);
        },
        restored: () => {
          this.changed(EVERY_ROW);
          this.#deaf = false;
        },
      },
    );
    this.#deaf = false;
  }

  async stop(): Promise<void> {
    this.#deaf = true;
    this.changed(EVERY_ROW);
    await this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  /**
   * The row of `key`: the kept copy, or what `load` finds (kept unless a change arrived meanwhile).
   * Nothing is kept for a row `load` does not find.
   */
  async read<T extends object>(key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    if (this.#deaf) return load();
    const kept = this.#rows.get(key);
    if (kept !== undefined) return kept as T;
    const generation = this.#generation;
    const row = await load();
    if (row !== undefined && generation === this.#generation && !this.#deaf)
      this.#rows.set(key, deepFreeze(row));
    return row;
  }

  /** Drops the rows of `keys` (or every row), and keeps no read that overlapped the change. */
  changed(keys: readonly string[] | typeof EVERY_ROW): void {
    if (keys !== EVERY_ROW && keys.length === 0) return;
    this.#generation++;
    if (keys === EVERY_ROW) this.#rows.clear();
    else for (const key of keys) this.#rows.delete(key);
  }

  /** How many rows are kept (tests and diagnostics). */
  get size(): number {
    return this.#rows.size;
  }
}
