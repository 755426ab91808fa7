import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/platform/db/database.js';
import { preparedQuery } from '../src/platform/db/prepared.js';
import { createTenant } from './helpers/factories.js';
import { createTestDatabase, onPostgres, useTestApp } from './helpers/test-app.js';

const t = useTestApp();

describe('preparedQuery', () => {
  it('runs the query compiled once with each call’s arguments, in any order of use', async () => {
    const a = await createTenant(t, { name: 'Prepared A' });
    const b = await createTenant(t, { name: 'Prepared B' });
    // The second argument is bound before the first: positions, not order, decide.
    const byNameAndId = preparedQuery(2, (db, id: string, name: string) =>
      db.selectFrom('tenants').select(['id', 'name']).where('name', '=', name).where('id', '=', id),
    );
    expect(await byNameAndId(t.database.db, a.id, 'Prepared A')).toEqual([{ id: a.id, name: 'Prepared A' }]);
    expect(await byNameAndId(t.database.db, b.id, 'Prepared B')).toEqual([{ id: b.id, name: 'Prepared B' }]);
    expect(await byNameAndId(t.database.db, a.id, 'Prepared B')).toEqual([]);
    // Inside a transaction too.
    await t.database.db.transaction().execute(async (trx) => {
      expect(await byNameAndId(trx, b.id, 'Prepared B')).toHaveLength(1);
    });
  });

  it('refuses a query that binds a value that is not one of its arguments', async () => {
    const withLiteral = preparedQuery(1, (db, id: string) =>
      db.selectFrom('tenants').select('id').where('id', '=', id).where('status', '=', 'ACTIVE'),
    );
    await expect(withLiteral(t.database.db, 'ten_x')).rejects.toThrow(/not an argument: ACTIVE/);
  });
});

describe.runIf(onPostgres)('prepared queries on PostgreSQL', () => {
  it('run as named prepared statements, parsed once per connection', async () => {
    const spec = await createTestDatabase();
    // One connection, so the session that prepared is the session asked.
    const handle = await openDatabase(
      { kind: 'postgres', url: spec.env.DATABASE_URL as string },
      { poolSize: 1 },
    );
    try {
      const byId = preparedQuery(1, (db, id: string) =>
        db.selectFrom('tenants').select('name').where('id', '=', id).where('slug', 'is not', null),
      );
      expect(await byId(handle.db, 'tnt_00000000000000000000')).toEqual([]);
      expect(await byId(handle.db, 'tnt_00000000000000000001')).toEqual([]);
      const statements = await sql<{ name: string; statement: string }>`
        select name, statement from pg_prepared_statements`.execute(handle.db);
      const mine = statements.rows.filter((row) => row.statement.includes('"slug" is not null'));
      expect(mine).toHaveLength(1);
      expect(mine[0]?.name).toMatch(/^scaikey_\d+$/);
    } finally {
      await handle.close();
      await spec.drop();
    }
  });
});
