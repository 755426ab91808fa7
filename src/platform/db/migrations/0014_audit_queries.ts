import { type Kysely, sql } from 'kysely';

/**
 * The audit log API (issue 14): indexes for its filters and its keyset paging.
 *
 * Every list is newest first (`created_at desc, id desc`) and a deep page is read after a position
 * (the keyset cursor), so each index a filter uses ends with `created_at desc, id desc`: the
 * filter, the order and the position are one index range, whatever the page.
 *
 * - `audit_events_created_idx`: the unfiltered list of a super_admin and the export.
 * - `audit_events_tenant_created_idx` replaces `audit_events_tenant_idx` (the same with `id`):
 *   a tenant's entries (tenant_admin, the tenant_id filter, a partner's tenants) and the retention
 *   purge of a tenant; `tenant_id is null` (platform entries) uses it too.
 * - `audit_events_partner_created_idx`, `audit_events_actor_created_idx`,
 *   `audit_events_action_created_idx`: the partner_id, actor_id and action filters.
 * - `audit_events_resource_created_idx` replaces `audit_events_resource_idx` (the same with `id`).
 * - `users_email_lower_idx`: the actor_email filter finds the users of an address in any tenant.
 */
const statements = [
  `create index audit_events_created_idx on audit_events (created_at desc, id desc)`,
  `create index audit_events_tenant_created_idx on audit_events (tenant_id, created_at desc, id desc)`,
  `drop index audit_events_tenant_idx`,
  `create index audit_events_partner_created_idx on audit_events (partner_id, created_at desc, id desc)`,
  `create index audit_events_actor_created_idx on audit_events (actor_id, created_at desc, id desc)`,
  `create index audit_events_action_created_idx on audit_events (action, created_at desc, id desc)`,
  `create index audit_events_resource_created_idx on audit_events (resource_type, resource_id, created_at desc, id desc)`,
  `drop index audit_events_resource_idx`,
  `create index users_email_lower_idx on users (lower(email))`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}
