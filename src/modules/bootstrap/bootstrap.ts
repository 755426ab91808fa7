import { sql } from 'kysely';
import { newId } from '../../lib/ids.js';
import { hashPassword } from '../../lib/passwords.js';
import { generateSecret, secretMatchesDigest, sha256Hex } from '../../lib/secrets.js';
import type { Config } from '../../platform/config.js';
import type { Db, Queryable } from '../../platform/db/database.js';
import { type AuditOrigin, recordAudit } from '../../platform/events/audit-log.js';
import { publishInvalidation } from '../../platform/invalidation.js';

export const BOOTSTRAP_SCOPES = ['admin:read', 'admin:write', 'users:read', 'groups:read'];

export interface BootstrapResult {
  /** True on the very first start (the platform partner did not exist). */
  firstStart: boolean;
  clientId: string | null;
  /** Only when ScaiKey generated it on this start: it is shown once and never stored in clear. */
  generatedClientSecret: string | null;
  adminCreated: boolean;
}

const SYSTEM: AuditOrigin = { actorType: 'system', actorId: null, ipAddress: null, requestId: null };

/**
 * First-start set-up (decisions.md, "Bootstrap"): the platform partner and tenant, a GLOBAL
 * SERVICE application and optionally a super_admin user. Idempotent: later starts only create
 * what is missing, and an operator-given client secret replaces the stored one when it changed.
 * Runs under an advisory lock so that instances starting together do it once.
 */
export async function bootstrap(db: Db, config: Config['bootstrap']): Promise<BootstrapResult> {
  const adminPasswordHash = config.adminPassword ? await hashPassword(config.adminPassword) : null;
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('scaikey_bootstrap'))`.execute(trx);
    const result: BootstrapResult = {
      firstStart: false,
      clientId: null,
      generatedClientSecret: null,
      adminCreated: false,
    };

    let partner = await trx
      .selectFrom('partners')
      .select('id')
      .where('is_platform', '=', true)
      .executeTakeFirst();
    if (!partner) {
      result.firstStart = true;
      partner = { id: newId('partner') };
      await trx
        .insertInto('partners')
        .values({
          id: partner.id,
          name: 'Platform',
          slug: 'platform',
          status: 'ACTIVE',
          contact_email: config.adminEmail,
          max_tenants: null,
          max_users_per_tenant: null,
          max_applications_per_tenant: null,
          is_platform: true,
        })
        .execute();
      await recordAudit(trx, SYSTEM, {
        action: 'partner.created',
        resourceType: 'partner',
        resourceId: partner.id,
        partnerId: partner.id,
        after: { slug: 'platform' },
      });
    }

    let tenant = await trx
      .selectFrom('tenants')
      .select('id')
      .where('is_platform', '=', true)
      .executeTakeFirst();
    if (!tenant) {
      tenant = { id: newId('tenant') };
      await trx
        .insertInto('tenants')
        .values({
          id: tenant.id,
          partner_id: partner.id,
          name: 'Platform',
          slug: 'platform',
          status: 'ACTIVE',
          is_platform: true,
          contact_email: config.adminEmail,
        })
        .execute();
      await recordAudit(trx, SYSTEM, {
        action: 'tenant.created',
        resourceType: 'tenant',
        resourceId: tenant.id,
        tenantId: tenant.id,
        partnerId: partner.id,
        after: { slug: 'platform' },
      });
    }

    if (config.clientId) {
      const existing = await trx
        .selectFrom('applications')
        .selectAll()
        .where('id', '=', config.clientId)
        .executeTakeFirst();
      if (!existing) {
        const secret = config.clientSecret ?? generateSecret();
        if (!config.clientSecret) result.generatedClientSecret = secret;
        await insertBootstrapApplication(trx, config.clientId, secret);
      } else if (
        config.clientSecret &&
        !secretMatchesDigest(config.clientSecret, existing.client_secret_digest ?? '')
      ) {
        await trx
          .updateTable('applications')
          .set({
            client_secret_digest: sha256Hex(config.clientSecret),
            secret_rotated_at: sql<Date>`now()`,
            updated_at: sql<Date>`now()`,
          })
          .where('id', '=', config.clientId)
          .execute();
        await recordAudit(trx, SYSTEM, {
          action: 'application.secret_rotated',
          resourceType: 'application',
          resourceId: config.clientId,
          after: { source: 'SCAIKEY_BOOTSTRAP_CLIENT_SECRET' },
        });
        // Instances already running forget the application (its old secret and tokens) on commit.
        await publishInvalidation(trx, `application:${config.clientId}`);
      }
      result.clientId = config.clientId;
    } else if (result.firstStart) {
      const clientId = newId('application');
      result.generatedClientSecret = generateSecret();
      await insertBootstrapApplication(trx, clientId, result.generatedClientSecret);
      result.clientId = clientId;
    }

    if (config.adminEmail && adminPasswordHash) {
      const admin = await trx
        .selectFrom('users')
        .select('id')
        .where('tenant_id', '=', tenant.id)
        .where(sql`lower(email)`, '=', config.adminEmail.toLowerCase())
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (!admin) {
        const userId = newId('user');
        await trx
          .insertInto('users')
          .values({
            tenant_id: tenant.id,
            id: userId,
            email: config.adminEmail,
            username: null,
            first_name: null,
            last_name: null,
            display_name: 'Platform administrator',
            phone: null,
            password_hash: adminPasswordHash,
            password_changed_at: sql<Date>`now()`,
            status_reason: null,
            avatar_url: null,
            ou_id: null,
            locked_until: null,
            last_login_at: null,
            email_verified: true,
          })
          .execute();
        await trx
          .insertInto('admin_role_assignments')
          .values({
            user_tenant_id: tenant.id,
            id: newId('roleAssignment'),
            user_id: userId,
            role: 'SUPER_ADMIN',
            partner_id: null,
            tenant_id: null,
            expires_at: null,
            created_by: null,
          })
          .execute();
        await recordAudit(trx, SYSTEM, {
          action: 'user.created',
          resourceType: 'user',
          resourceId: userId,
          tenantId: tenant.id,
          partnerId: partner.id,
          after: { email: config.adminEmail, role: 'SUPER_ADMIN' },
        });
        result.adminCreated = true;
      }
    }
    return result;
  });
}

async function insertBootstrapApplication(db: Queryable, id: string, secret: string): Promise<void> {
  await db
    .insertInto('applications')
    .values({
      id,
      scope: 'GLOBAL',
      partner_id: null,
      tenant_id: null,
      application_type: 'SERVICE',
      name: 'ScaiKey bootstrap client',
      description:
        'Created at first start for platform administration; rotate or delete once you have your own.',
      client_secret_digest: sha256Hex(secret),
      allowed_scopes: JSON.stringify(BOOTSTRAP_SCOPES),
    })
    .execute();
  await recordAudit(db, SYSTEM, {
    action: 'application.created',
    resourceType: 'application',
    resourceId: id,
    after: { scope: 'GLOBAL', application_type: 'SERVICE', allowed_scopes: BOOTSTRAP_SCOPES },
  });
}
