import { sql } from 'kysely';
import type { Queryable } from '../../platform/db/database.js';
import type { ApplicationRow, NewApplication } from '../../platform/db/schema.js';
import { boundTenantId, type TenantQueryable } from '../../platform/db/tenant-scope.js';

/** The statements of the first-start set-up (bootstrap.ts), on platform tables. */
export function createBootstrapRepository(db: Queryable) {
  return {
    /** Instances starting together bootstrap one after the other (held until the transaction ends). */
    async lock(): Promise<void> {
      await sql`select pg_advisory_xact_lock(hashtext('scaikey_bootstrap'))`.execute(db);
    },

    async platformPartner(): Promise<{ id: string } | undefined> {
      return db.selectFrom('partners').select('id').where('is_platform', '=', true).executeTakeFirst();
    },

    async insertPlatformPartner(id: string, contactEmail: string | null): Promise<void> {
      await db
        .insertInto('partners')
        .values({
          id,
          name: 'Platform',
          slug: 'platform',
          status: 'ACTIVE',
          contact_email: contactEmail,
          max_tenants: null,
          max_users_per_tenant: null,
          max_applications_per_tenant: null,
          is_platform: true,
        })
        .execute();
    },

    async platformTenant(): Promise<{ id: string } | undefined> {
      return db.selectFrom('tenants').select('id').where('is_platform', '=', true).executeTakeFirst();
    },

    async insertPlatformTenant(id: string, partnerId: string, contactEmail: string | null): Promise<void> {
      await db
        .insertInto('tenants')
        .values({
          id,
          partner_id: partnerId,
          name: 'Platform',
          slug: 'platform',
          status: 'ACTIVE',
          is_platform: true,
          contact_email: contactEmail,
        })
        .execute();
    },

    async findApplication(id: string): Promise<ApplicationRow | undefined> {
      return db.selectFrom('applications').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async insertApplication(row: NewApplication): Promise<void> {
      await db.insertInto('applications').values(row).execute();
    },

    /**
     * Brings a soft-deleted application back with `row` (the console's definition). Its rotation
     * time is now: access tokens issued before stay refused (platform/auth/authenticate.ts).
     */
    async restoreApplication(id: string, row: Omit<NewApplication, 'id'>): Promise<void> {
      await db
        .updateTable('applications')
        .set({
          ...row,
          deleted_at: null,
          secret_rotated_at: sql<Date>`clock_timestamp()`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .execute();
    },

    /**
     * Forgets every grant of a client, with its refresh tokens, codes and pending requests, as
     * oidc-provider stored them (oidc_payloads; the sessions module reads them the same way):
     * for an application coming back after a deletion, whose old sign-ins must not come back with it.
     */
    async endGrantsOfClient(clientId: string): Promise<number> {
      const result = await db
        .deleteFrom('oidc_payloads')
        .where(sql`payload->>'clientId'`, '=', clientId)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async setApplicationRedirectUris(
      id: string,
      uris: { redirect_uris: string; post_logout_redirect_uris: string },
    ): Promise<void> {
      await db
        .updateTable('applications')
        .set({ ...uris, updated_at: sql<Date>`now()` })
        .where('id', '=', id)
        .execute();
    },

    async replaceApplicationSecret(id: string, digest: string): Promise<void> {
      await db
        .updateTable('applications')
        .set({
          client_secret_digest: digest,
          secret_rotated_at: sql<Date>`now()`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .execute();
    },

    async insertSuperAdminRole(id: string, userTenantId: string, userId: string): Promise<void> {
      await db
        .insertInto('admin_role_assignments')
        .values({
          user_tenant_id: userTenantId,
          id,
          user_id: userId,
          role: 'SUPER_ADMIN',
          partner_id: null,
          tenant_id: null,
          expires_at: null,
          created_by: null,
        })
        .execute();
    },
  };
}

/** The bootstrap's statements on the platform tenant's users (a tenant-bound handle). */
export function createBootstrapUsersRepository(db: TenantQueryable) {
  return {
    async liveUserByEmail(email: string): Promise<{ id: string } | undefined> {
      return db
        .selectFrom('users')
        .select('id')
        .where(sql`lower(email)`, '=', email.toLowerCase())
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
    },

    /** The platform administrator: a verified LOCAL user with a password. */
    async insertAdministrator(id: string, email: string, passwordHash: string): Promise<void> {
      await db
        .insertInto('users')
        .values({
          tenant_id: boundTenantId(db),
          id,
          email,
          username: null,
          first_name: null,
          last_name: null,
          display_name: 'Platform administrator',
          phone: null,
          password_hash: passwordHash,
          password_changed_at: sql<Date>`now()`,
          status_reason: null,
          avatar_url: null,
          ou_id: null,
          locked_until: null,
          last_login_at: null,
          email_verified: true,
        })
        .execute();
    },
  };
}
