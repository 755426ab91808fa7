import { newId } from '../../lib/ids.js';
import { hashPassword } from '../../lib/passwords.js';
import { generateSecret, secretMatchesDigest, sha256Hex } from '../../lib/secrets.js';
import type { Config } from '../../platform/config.js';
import { bindTenant } from '../../platform/db/tenant-scope.js';
import type { AuditOrigin } from '../../platform/events/audit-log.js';
import type { UnitOfWork, Work } from '../../platform/events/unit-of-work.js';
import { createBootstrapRepository, createBootstrapUsersRepository } from './bootstrap.repository.js';
import { ensureConsoleApplication } from './console-application.js';

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
 * First-start set-up (docs/api-contract.md, "Bootstrap"): the platform partner and tenant, a GLOBAL
 * SERVICE application, the admin console's application (console-application.ts; at the given
 * public URL) and optionally a super_admin user. Idempotent: later starts only create what is
 * missing, an operator-given client secret replaces the stored one when it changed, and the
 * console's redirect URIs follow the public URL. Runs under an advisory lock so that instances
 * starting together do it once.
 */
export async function bootstrap(
  work: UnitOfWork,
  config: Config['bootstrap'],
  publicUrl: string,
): Promise<BootstrapResult> {
  const adminPasswordHash = config.adminPassword ? await hashPassword(config.adminPassword) : null;
  // One unit of work with the system as actor: the set-up and its audit entries commit together.
  return work.run(SYSTEM, async (w) => {
    const trx = w.db;
    const repository = createBootstrapRepository(trx);
    await repository.lock();
    const result: BootstrapResult = {
      firstStart: false,
      clientId: null,
      generatedClientSecret: null,
      adminCreated: false,
    };

    let partner = await repository.platformPartner();
    if (!partner) {
      result.firstStart = true;
      partner = { id: newId('partner') };
      await repository.insertPlatformPartner(partner.id, config.adminEmail);
      w.audit({
        action: 'partner.created',
        resourceType: 'partner',
        resourceId: partner.id,
        partnerId: partner.id,
        after: { slug: 'platform' },
      });
    }

    let tenant = await repository.platformTenant();
    if (!tenant) {
      tenant = { id: newId('tenant') };
      await repository.insertPlatformTenant(tenant.id, partner.id, config.adminEmail);
      w.audit({
        action: 'tenant.created',
        resourceType: 'tenant',
        resourceId: tenant.id,
        tenantId: tenant.id,
        partnerId: partner.id,
        after: { slug: 'platform' },
      });
    }

    if (config.clientId) {
      const existing = await repository.findApplication(config.clientId);
      if (!existing) {
        const secret = config.clientSecret ?? generateSecret();
        if (!config.clientSecret) result.generatedClientSecret = secret;
        await insertBootstrapApplication(w, config.clientId, secret);
      } else if (
        config.clientSecret &&
        !secretMatchesDigest(config.clientSecret, existing.client_secret_digest ?? '')
      ) {
        await repository.replaceApplicationSecret(config.clientId, sha256Hex(config.clientSecret));
        w.audit({
          action: 'application.secret_rotated',
          resourceType: 'application',
          resourceId: config.clientId,
          after: { source: 'SCAIKEY_BOOTSTRAP_CLIENT_SECRET' },
        });
        // Instances already running forget the application (its old secret and tokens) on commit.
        w.invalidate(`application:${config.clientId}`);
      }
      result.clientId = config.clientId;
    } else if (result.firstStart) {
      const clientId = newId('application');
      result.generatedClientSecret = generateSecret();
      await insertBootstrapApplication(w, clientId, result.generatedClientSecret);
      result.clientId = clientId;
    }

    await ensureConsoleApplication(w, publicUrl);

    if (config.adminEmail && adminPasswordHash) {
      const users = createBootstrapUsersRepository(bindTenant(trx, tenant.id));
      const admin = await users.liveUserByEmail(config.adminEmail);
      if (!admin) {
        const userId = newId('user');
        await users.insertAdministrator(userId, config.adminEmail, adminPasswordHash);
        await repository.insertSuperAdminRole(newId('roleAssignment'), tenant.id, userId);
        w.audit({
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

async function insertBootstrapApplication(w: Work, id: string, secret: string): Promise<void> {
  await createBootstrapRepository(w.db).insertApplication({
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
  });
  w.audit({
    action: 'application.created',
    resourceType: 'application',
    resourceId: id,
    after: { scope: 'GLOBAL', application_type: 'SERVICE', allowed_scopes: BOOTSTRAP_SCOPES },
  });
}
