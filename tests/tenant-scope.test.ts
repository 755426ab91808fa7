import { describe, expect, it } from 'vitest';
import { newId } from '../src/lib/ids.js';
import { bindTenant, TenantScopeViolation, tenantTransaction } from '../src/platform/db/tenant-scope.js';
import { createTenant, insertUser } from './helpers/factories.js';
import { useTestApp } from './helpers/test-app.js';

// Issue 12: the tenant-bound handle (ADR 0010) scopes every builder statement on a tenant table.
describe('tenant-bound database handle', () => {
  const t = useTestApp();

  it('adds the tenant predicate to reads, joins, subqueries, updates and deletes', () => {
    const db = bindTenant(t.database.db, 'tnt_a');
    const select = db
      .selectFrom('users as u')
      .leftJoin('ous', 'ous.id', 'u.ou_id')
      .where('u.id', 'in', (sub) => sub.selectFrom('group_memberships').select('user_id'))
      .select(['u.id', 'ous.name'])
      .compile();
    expect(select.sql).toContain('"u"."tenant_id" = $');
    expect(select.sql).toMatch(/left join "ous" on "ous"\."id" = "u"\."ou_id" and "ous"\."tenant_id" = \$/);
    expect(select.sql).toContain('"group_memberships"."tenant_id" = $');
    expect(select.parameters.filter((value) => value === 'tnt_a')).toHaveLength(3);

    const update = db.updateTable('users').set({ display_name: 'x' }).where('id', '=', 'u1').compile();
    expect(update.sql).toContain('"users"."tenant_id" = $');
    const remove = db.deleteFrom('groups').where('id', '=', 'g1').compile();
    expect(remove.sql).toContain('"groups"."tenant_id" = $');
    // A platform table is left as it is.
    const tenants = db.selectFrom('tenants').selectAll().compile();
    expect(tenants.sql).not.toContain('tenant_id');
  });

  it('fills tenant_id on insert and refuses another tenant or a change of tenant', () => {
    const db = bindTenant(t.database.db, 'tnt_a');
    const insert = db
      .insertInto('group_memberships')
      .values({ group_id: 'g', user_id: 'u' } as never)
      .compile();
    expect(insert.sql).toContain('"tenant_id"');
    expect(insert.parameters).toContain('tnt_a');
    expect(() =>
      db
        .insertInto('group_memberships')
        .values({ tenant_id: 'tnt_b', group_id: 'g', user_id: 'u' } as never)
        .compile(),
    ).toThrow(TenantScopeViolation);
    expect(() => db.updateTable('users').set({ tenant_id: 'tnt_b' }).compile()).toThrow(TenantScopeViolation);
    expect(() => bindTenant(db, 'tnt_b')).toThrow(TenantScopeViolation);
  });

  it('sees only its tenant’s rows on the database, also inside a transaction', async () => {
    const [a, b] = [await createTenant(t), await createTenant(t)];
    const mine = await insertUser(t, a.id, { email: `mine-${newId('user')}@example.com` });
    const theirs = await insertUser(t, b.id, { email: `theirs-${newId('user')}@example.com` });
    const db = bindTenant(t.database.db, a.id);
    const ids = (await db.selectFrom('users').select('id').execute()).map((row) => row.id);
    expect(ids).toContain(mine.id);
    expect(ids).not.toContain(theirs.id);
    await tenantTransaction(db, async (trx) => {
      const result = await trx.updateTable('users').set({ display_name: 'changed' }).execute();
      expect(Number(result[0]?.numUpdatedRows)).toBe(ids.length);
      const found = await trx.selectFrom('users').where('id', '=', theirs.id).select('id').executeTakeFirst();
      expect(found).toBeUndefined();
    });
    const other = await t.database.db
      .selectFrom('users')
      .where('id', '=', theirs.id)
      .select('display_name')
      .executeTakeFirstOrThrow();
    expect(other.display_name).toBeNull();
  });
});
