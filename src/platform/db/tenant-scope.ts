import {
  AliasNode,
  BinaryOperationNode,
  ColumnNode,
  type DeleteQueryNode,
  IdentifierNode,
  type InsertQueryNode,
  JoinNode,
  type Kysely,
  type KyselyPlugin,
  OnNode,
  type OperationNode,
  OperationNodeTransformer,
  OperatorNode,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  PrimitiveValueListNode,
  type QueryResult,
  ReferenceNode,
  type RootOperationNode,
  type SelectQueryNode,
  TableNode,
  type Transaction,
  type UnknownRow,
  type UpdateQueryNode,
  ValueListNode,
  ValueNode,
  ValuesNode,
  WhereNode,
} from 'kysely';
import type { Database } from './schema.js';

/**
 * The tables a tenant owns: each has `tenant_id not null` leading its keys. A tenant-bound handle
 * scopes every statement on them to its tenant; other tables (partners, tenants, applications,
 * admin roles, keys, outboxes) are platform tables, reached through ordinary handles.
 */
export const TENANT_TABLES: ReadonlySet<string> = new Set<keyof Database>([
  'users',
  'ous',
  'groups',
  'group_edges',
  'group_memberships',
  'group_closure',
  'group_effective_members',
  'group_member_counts',
  'user_action_tokens',
  'mfa_factors',
  'mfa_backup_codes',
  'mfa_challenges',
  'identity_providers',
  'federated_identities',
  'federation_logins',
  'saml_assertions',
  'ldap_sync_runs',
  'application_assignments',
  'tenant_counts',
  'user_sessions',
]);

const TENANT_COLUMN = 'tenant_id';

/** A statement a tenant-bound handle refuses to run (a programming error, never user input). */
export class TenantScopeViolation extends Error {
  override name = 'TenantScopeViolation';
}

declare const tenantBound: unique symbol;

/** A database handle that sees one tenant's rows only (bindTenant). */
export type TenantDb = Kysely<Database> & { readonly [tenantBound]: true };
/** A transaction of a tenant-bound handle. */
export type TenantTx = Transaction<Database> & { readonly [tenantBound]: true };
/** Either: tenant repositories accept both. */
export type TenantQueryable = TenantDb | TenantTx;

/**
 * The tenant a handle is bound to, and the name under which the table is referenced in the
 * statement (its alias, or its own name).
 */
function tenantTableReference(node: OperationNode): string | null {
  if (TableNode.is(node)) {
    const name = node.table.identifier.name;
    return TENANT_TABLES.has(name) && !node.table.schema ? name : null;
  }
  if (AliasNode.is(node) && TableNode.is(node.node) && IdentifierNode.is(node.alias)) {
    return tenantTableReference(node.node) ? node.alias.name : null;
  }
  return null;
}

class TenantScopeTransformer extends OperationNodeTransformer {
  readonly #tenantId: string;

  constructor(tenantId: string) {
    super();
    this.#tenantId = tenantId;
  }

  #predicate(reference: string): OperationNode {
    return BinaryOperationNode.create(
      ReferenceNode.create(ColumnNode.create(TENANT_COLUMN), TableNode.create(reference)),
      OperatorNode.create('='),
      ValueNode.create(this.#tenantId),
    );
  }

  #where<T extends { where?: WhereNode }>(node: T, tables: readonly OperationNode[]): T {
    let where = node.where;
    for (const table of tables) {
      const reference = tenantTableReference(table);
      if (!reference) continue;
      const predicate = this.#predicate(reference);
      where = where ? WhereNode.cloneWithOperation(where, 'And', predicate) : WhereNode.create(predicate);
    }
    return where === node.where ? node : { ...node, where };
  }

  /** A joined tenant table is scoped in its ON clause, so that outer joins keep their meaning. */
  #joins(joins: readonly JoinNode[] | undefined): readonly JoinNode[] | undefined {
    if (!joins) return joins;
    let changed = false;
    const scoped = joins.map((join) => {
      const reference = tenantTableReference(join.table);
      if (!reference) return join;
      changed = true;
      const predicate = this.#predicate(reference);
      if (!join.on) {
        // A cross or lateral join without ON: the predicate becomes its ON clause.
        return JoinNode.createWithOn(
          join.joinType === 'CrossJoin' ? 'InnerJoin' : join.joinType,
          join.table,
          predicate,
        );
      }
      return { ...join, on: OnNode.cloneWithOperation(join.on, 'And', predicate) };
    });
    return changed ? scoped : joins;
  }

  protected override transformSelectQuery(node: SelectQueryNode): SelectQueryNode {
    const transformed = super.transformSelectQuery(node);
    const scoped = this.#where(transformed, transformed.from?.froms ?? []);
    const joins = this.#joins(scoped.joins);
    return joins === scoped.joins ? scoped : { ...scoped, joins };
  }

  protected override transformUpdateQuery(node: UpdateQueryNode): UpdateQueryNode {
    const transformed = super.transformUpdateQuery(node);
    for (const update of transformed.updates ?? []) {
      if (ColumnNode.is(update.column) && update.column.column.name === TENANT_COLUMN) {
        throw new TenantScopeViolation('A tenant-bound handle never changes a row’s tenant_id');
      }
    }
    const tables = [...(transformed.table ? [transformed.table] : []), ...(transformed.from?.froms ?? [])];
    const scoped = this.#where(transformed, tables);
    const joins = this.#joins(scoped.joins);
    return joins === scoped.joins ? scoped : { ...scoped, joins };
  }

  protected override transformDeleteQuery(node: DeleteQueryNode): DeleteQueryNode {
    const transformed = super.transformDeleteQuery(node);
    const tables = [...transformed.from.froms, ...(transformed.using?.tables ?? [])];
    const scoped = this.#where(transformed, tables);
    const joins = this.#joins(scoped.joins);
    return joins === scoped.joins ? scoped : { ...scoped, joins };
  }

  protected override transformInsertQuery(node: InsertQueryNode): InsertQueryNode {
    const transformed = super.transformInsertQuery(node);
    if (!transformed.into || !tenantTableReference(transformed.into)) return transformed;
    const columns = transformed.columns ?? [];
    const index = columns.findIndex((column) => column.column.name === TENANT_COLUMN);
    const values = transformed.values;
    if (index >= 0) {
      // Given explicitly: it must be this tenant (a literal value), or come from a scoped select.
      if (values && ValuesNode.is(values)) {
        for (const row of values.values) this.#assertOwnTenant(row, index);
      }
      return transformed;
    }
    if (!values || !ValuesNode.is(values)) {
      throw new TenantScopeViolation(
        `An insert into ${transformed.into.table.identifier.name} from a query must select tenant_id`,
      );
    }
    return {
      ...transformed,
      columns: [...columns, ColumnNode.create(TENANT_COLUMN)],
      values: ValuesNode.create(
        values.values.map((row) =>
          PrimitiveValueListNode.is(row)
            ? PrimitiveValueListNode.create([...row.values, this.#tenantId])
            : ValueListNode.create([...row.values, ValueNode.create(this.#tenantId)]),
        ),
      ),
    };
  }

  #assertOwnTenant(row: OperationNode, index: number): void {
    let value: unknown;
    if (PrimitiveValueListNode.is(row)) value = row.values[index];
    else if (ValueListNode.is(row)) {
      const cell = row.values[index];
      if (!cell || !ValueNode.is(cell)) return;
      value = cell.value;
    } else return;
    if (value !== this.#tenantId) {
      throw new TenantScopeViolation('A tenant-bound handle writes rows of its own tenant only');
    }
  }
}

/**
 * Scopes every statement built with the query builder to one tenant: reads, updates and deletes
 * of tenant tables get `tenant_id = <tenant>` (in WHERE, or in the ON clause of a join), inserts
 * get the column filled (or checked), and a change of `tenant_id` is refused. Raw `sql` fragments
 * are not rewritten: they are allowed only in repositories and platform/db (biome.json), which
 * write the predicate themselves. ADR 0010.
 */
export class TenantScopePlugin implements KyselyPlugin {
  readonly #transformer: TenantScopeTransformer;

  constructor(readonly tenantId: string) {
    this.#transformer = new TenantScopeTransformer(tenantId);
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/** The tenant a bound handle is bound to. */
const boundTenants = new WeakMap<object, string>();

/** A handle (database or transaction) that sees and writes only `tenantId`'s rows of tenant tables. */
export function bindTenant(db: Transaction<Database>, tenantId: string): TenantTx;
export function bindTenant(db: Kysely<Database>, tenantId: string): TenantDb;
export function bindTenant(db: Kysely<Database>, tenantId: string): TenantQueryable {
  const already = boundTenants.get(db);
  if (already === tenantId) return db as TenantDb;
  if (already !== undefined) {
    throw new TenantScopeViolation('A tenant-bound handle cannot be bound to another tenant');
  }
  const bound = db.withPlugin(new TenantScopePlugin(tenantId));
  boundTenants.set(bound, tenantId);
  return bound as TenantQueryable;
}

/** The tenant a handle is bound to, or undefined for an ordinary handle. */
export function boundTenantOf(db: object): string | undefined {
  return boundTenants.get(db);
}

/** The tenant of a bound handle (repositories use it for raw SQL and for cache keys). */
export function boundTenantId(db: TenantQueryable): string {
  const tenantId = boundTenants.get(db);
  if (tenantId === undefined) throw new TenantScopeViolation('The handle is not bound to a tenant');
  return tenantId;
}

/**
 * Runs `work` in a transaction of a bound handle; the transaction is bound to the same tenant
 * (Kysely hands plugins on to its transactions).
 */
export function tenantTransaction<T>(db: TenantDb, work: (trx: TenantTx) => Promise<T>): Promise<T> {
  const tenantId = boundTenantId(db);
  return db.transaction().execute((trx) => {
    boundTenants.set(trx, tenantId);
    return work(trx as TenantTx);
  });
}
