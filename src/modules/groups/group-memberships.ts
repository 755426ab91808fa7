import { sql } from 'kysely';
import type { Queryable } from '../../platform/db/database.js';

export interface UserGroupMembershipRow {
  group_id: string;
  name: string;
  membership_type: 'DIRECT' | 'INHERITED';
}

/**
 * The groups a user belongs to, inherited ones included (decisions.md, "Groups"): every live group
 * the user is an effective member of, `DIRECT` where the user is a direct member, else `INHERITED`
 * (a member of a group nested in it). Ordered by name. Empty for an unknown or deleted user.
 * Served by the maintained closure (group_effective_members_user_idx): no recursion at read time.
 */
export async function userGroupMemberships(
  db: Queryable,
  tenantId: string,
  userId: string,
): Promise<UserGroupMembershipRow[]> {
  return (await db
    .selectFrom('group_effective_members as e')
    .innerJoin('groups as g', (join) =>
      join.onRef('g.tenant_id', '=', 'e.tenant_id').onRef('g.id', '=', 'e.group_id'),
    )
    .select(['g.id as group_id', 'g.name'])
    .select((eb) =>
      eb
        .case()
        .when(
          eb.exists(
            eb
              .selectFrom('group_memberships as m')
              .select('m.user_id')
              .where('m.tenant_id', '=', tenantId)
              .whereRef('m.group_id', '=', 'e.group_id')
              .where('m.user_id', '=', userId),
          ),
        )
        .then(sql<'DIRECT'>`'DIRECT'`)
        .else(sql<'INHERITED'>`'INHERITED'`)
        .end()
        .as('membership_type'),
    )
    .where('e.tenant_id', '=', tenantId)
    .where('e.user_id', '=', userId)
    .where('g.deleted_at', 'is', null)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('users as u')
          .select('u.id')
          .where('u.tenant_id', '=', tenantId)
          .where('u.id', '=', userId)
          .where('u.deleted_at', 'is', null),
      ),
    )
    .orderBy(sql`lower(g.name)`)
    .orderBy('g.id')
    .execute()) as UserGroupMembershipRow[];
}

/**
 * The ids of the users in a group, as a subquery for `where('u.id', 'in', ...)`: its direct
 * members, or with `effective` every user reachable through nested groups too. It does not filter
 * deleted users (the outer users query does). A deleted or unknown group has no members.
 */
export function usersInGroupSubquery(
  db: Queryable,
  tenantId: string,
  groupId: string,
  options: { effective: boolean },
) {
  // Both tables have (tenant_id, group_id, user_id) leading their primary key; the cast only
  // gives Kysely one static shape for the two.
  const table = (options.effective ? 'group_effective_members' : 'group_memberships') as 'group_memberships';
  return db
    .selectFrom(table)
    .select('user_id')
    .where('tenant_id', '=', tenantId)
    .where('group_id', '=', groupId);
}
