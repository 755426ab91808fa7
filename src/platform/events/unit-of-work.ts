import type { RawBuilder } from 'kysely';
import type { Db, Queryable, Tx } from '../db/database.js';
import { executePrepared } from '../db/prepared.js';
import { bindTenant, type TenantDb, type TenantTx } from '../db/tenant-scope.js';
import type { AuditOrigin } from '../http.js';
import type { Invalidation } from '../invalidation.js';
import type { Mailer, MailMessage } from '../mail/mailer.js';
import { changedRowKeys, type RowCache } from '../row-cache.js';
import type { AuditEvent } from './audit-log.js';
import { EventNotices } from './event-notices.js';
import { eventNoticeKeys, statementWrites, writeCollected } from './events.repository.js';

/**
 * One change in progress: its transaction and the side effects it collects. Nothing leaves before
 * the change commits, and everything the change caused leaves with it (ADR 0012).
 */
export interface Work<Q extends Queryable = Tx> {
  /** The transaction; a tenant unit of work's is bound to its tenant (tenant-scope.ts). */
  readonly db: Q;
  /** Who makes the change and from where. */
  readonly origin: AuditOrigin;
  /**
   * Records an audit entry; a successful one is also the change's domain event in the outbox
   * (type = action), which webhooks and the change feed read.
   */
  audit(event: AuditEvent): void;
  /** Caches that depend on `topic` are dropped on every instance when the change commits. */
  invalidate(topic: string): void;
  /** Queues a mail in the mail outbox (same transaction); delivery starts after the commit. */
  mail(message: MailMessage): Promise<void>;
  /** Runs `effect` after the commit (in-process effects only; never for another instance). */
  afterCommit(effect: () => void): void;
}

/**
 * A change that is one statement (UnitOfWork.statementInTenant), built by a repository: its CTEs,
 * among them `source`, which returns a row only when the change happened; the final select, which
 * answers one row; and the audit entries (domain events) the change causes when it happens.
 */
export interface StatementChange<Row> {
  ctes: RawBuilder<unknown>[];
  source: string;
  select: RawBuilder<Row>;
  events: AuditEvent[];
  /** Whether the change happened, from the answered row. */
  happened(row: Row): boolean;
  /**
   * Cached rows (row-cache keys) the statement may change: dropped here once it has run. Their
   * triggers' notice reaches the other instances, but this one must not answer from an older copy
   * meanwhile (the transaction's `scaikey.changed_rows` ends with the statement).
   */
  changedRows?: string[];
}

class CollectingWork<Q extends Queryable> implements Work<Q> {
  readonly events: AuditEvent[] = [];
  readonly topics = new Set<string>();
  readonly effects: (() => void)[] = [];
  mailed = false;

  constructor(
    readonly db: Q,
    readonly origin: AuditOrigin,
    private readonly mailer: Mailer,
  ) {}

  // Issue 17: the "new events" notices leave after the commit, one sender per unit of work
  // (one per process in the app); app.ts attaches the EventSignal and drains it on close.
  #notices: EventNotices | undefined;
  get notices(): EventNotices {
    this.#notices ??= new EventNotices(this.db);
    return this.#notices;
  }

  audit(event: AuditEvent): void {
    this.events.push(event);
  }

  invalidate(topic: string): void {
    this.topics.add(topic);
  }

  async mail(message: MailMessage): Promise<void> {
    await this.mailer.enqueue(this.db, message);
    this.mailed = true;
  }

  afterCommit(effect: () => void): void {
    this.effects.push(effect);
  }
}

/**
 * Opens the transaction of a change, hands out its (tenant-bound) handle and collects audit
 * entries, domain events, cache invalidations and mail; writes them in the same transaction just
 * before it commits (one statement), and after the commit makes this instance consistent at once
 * (the invalidation NOTIFY reaches the other instances), starts mail delivery and announces the
 * new events (EventNotices, outside the transaction).
 */
export class UnitOfWork {
  constructor(
    private readonly db: Db,
    private readonly invalidation: Invalidation,
    private readonly mailer: Mailer,
    private readonly rows: RowCache | null = null,
  ) {}

  // Issue 17: the "new events" notices leave after the commit, one sender per unit of work
  // (one per process in the app); app.ts attaches the EventSignal and drains it on close.
  #notices: EventNotices | undefined;
  get notices(): EventNotices {
    this.#notices ??= new EventNotices(this.db);
    return this.#notices;
  }

  /** A unit of work on platform tables (partners, tenants, applications, roles). */
  run<T>(origin: AuditOrigin, work: (work: Work<Tx>) => Promise<T>): Promise<T> {
    return this.#run((trx) => trx, origin, work);
  }

  /** A unit of work in one tenant: its handle sees and writes that tenant's rows only. */
  inTenant<T>(tenantId: string, origin: AuditOrigin, work: (work: Work<TenantTx>) => Promise<T>): Promise<T> {
    return this.#run((trx) => bindTenant(trx, tenantId), origin, work);
  }

  /**
   * Issue 17: a tenant change that is ONE statement, without BEGIN/COMMIT (a statement is its own
   * transaction): the change's CTEs, then its audit and outbox rows as CTEs that write only when
   * the change happened (events.repository statementWrites), run as a prepared statement. All or
   * nothing as with `inTenant`; for changes with no invalidation, mail or after-commit effect
   * (cached rows it changes are named in `changedRows`).
   */
  async statementInTenant<Row>(
    tenantId: string,
    origin: AuditOrigin,
    build: (db: TenantDb) => StatementChange<Row>,
  ): Promise<Row> {
    const change = build(bindTenant(this.db, tenantId));
    let row: Row | undefined;
    try {
      [row] = await executePrepared(this.db, statementWrites(origin, change.events, change));
    } finally {
      // Also when it failed: the statement may have committed before its answer was lost.
      if (change.changedRows) this.rows?.changed(change.changedRows);
    }
    if (row === undefined) throw new Error('statementInTenant: the statement answered no row');
    if (change.happened(row)) this.notices.send(eventNoticeKeys(change.events));
    return row;
  }

  async #run<Q extends Queryable, T>(
    handle: (trx: Tx) => Q,
    origin: AuditOrigin,
    body: (work: Work<Q>) => Promise<T>,
  ): Promise<T> {
    let collected: CollectingWork<Q> | undefined;
    let changedRows: string | null = null;
    const result = await this.db.transaction().execute(async (trx) => {
      const work = new CollectingWork(handle(trx), origin, this.mailer);
      const value = await body(work);
      changedRows = await writeCollected(trx, origin, work.events, [...work.topics]);
      collected = work;
      return value;
    });
    // The rows this change wrote are dropped here before anything else runs; the other instances
    // drop them when the triggers' notice reaches them.
    this.rows?.changed(changedRowKeys(changedRows));
    if (collected) {
      for (const topic of collected.topics) this.invalidation.local(topic);
      for (const effect of collected.effects) effect();
      if (collected.mailed) void this.mailer.flush();
      this.notices.send(eventNoticeKeys(collected.events));
    }
    return result;
  }
}
