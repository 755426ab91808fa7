import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preparedQuery } from '../src/platform/db/prepared.js';
import { createTenant } from './helpers/factories.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

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
