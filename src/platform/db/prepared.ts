import type { Compilable, CompiledQuery, RawBuilder } from 'kysely';
import type { Queryable } from './database.js';
import { boundTenantOf, type TenantQueryable, TenantScopeViolation } from './tenant-scope.js';

/**
 * A query that Kysely builds and compiles once, then runs with new argument values.
 *
 * Building a query with Kysely allocates and freezes a tree of nodes and compiles it to SQL on
 * every call: about a tenth of the server's CPU on a read-by-id route under load (measured with
 * the bench's tenants.get-by-id). Hot-path lookups whose shape never changes use this instead:
 * `build` receives one distinct marker per argument; the compiled SQL is kept, and each call
 * substitutes its arguments at the positions where the markers were bound. Both databases get
 * the same SQL, as with any Kysely query; PostgreSQL also keeps it as a named prepared statement.
 */
const statementNames = new Map<string, string>();

/**
 * The statement name of a prepared query's SQL. On PostgreSQL the pool runs these as named
 * prepared statements (database.ts): each connection parses and plans them once, not per call.
 */
export function preparedStatementName(sqlText: string): string | undefined {
  return statementNames.get(sqlText);
}

/** Where a prepared query's parameter comes from: an argument, or the handle's bound tenant. */
const TENANT_POSITION = -1;

export function preparedQuery<Args extends unknown[], Row>(
  arity: Args['length'],
  build: (db: Queryable | TenantQueryable, ...markers: Args) => Compilable<Row>,
): (db: Queryable | TenantQueryable, ...args: Args) => Promise<Row[]> {
  let compiled: CompiledQuery<Row> | null = null;
  let positions: number[] = [];
  return async (db, ...args) => {
    if (!compiled) {
      const markers = Array.from({ length: arity }, (_, index) => `\u0000prepared-argument-${index}\u0000`);
      const query = build(db, ...(markers as Args)).compile();
      // A tenant-bound handle (tenant-scope.ts) adds its tenant as a parameter: each call then
      // takes it from the handle it runs on, so one statement serves every tenant.
      const tenant = boundTenantOf(db);
      positions = query.parameters.map((value) => {
        const index = markers.indexOf(value as string);
        if (index >= 0) return index;
        if (tenant !== undefined && value === tenant) return TENANT_POSITION;
        throw new Error(`preparedQuery: a parameter is not an argument: ${String(value)}`);
      });
      compiled = query;
      if (!statementNames.has(query.sql)) statementNames.set(query.sql, `scaikey_${statementNames.size + 1}`);
    }
    const query = compiled;
    const tenant = boundTenantOf(db);
    const result = await db.executeQuery<Row>({
      ...query,
      parameters: positions.map((index) => {
        if (index !== TENANT_POSITION) return args[index];
        if (tenant === undefined)
          throw new TenantScopeViolation('This prepared query needs a tenant-bound handle');
        return tenant;
      }),
    });
    return result.rows;
  };
}

/**
 * Runs a query built per call (its values differ, its SQL text does not) as a named prepared
 * statement on PostgreSQL, like a `preparedQuery`: for statements whose text comes from a small
 * fixed set of shapes only, since each new text is one more statement kept by every connection.
 */
export async function executePrepared<Row>(db: Queryable, query: RawBuilder<Row>): Promise<Row[]> {
  const compiled = query.compile(db);
  if (!statementNames.has(compiled.sql))
    statementNames.set(compiled.sql, `scaikey_${statementNames.size + 1}`);
  return (await db.executeQuery<Row>(compiled)).rows;
}
