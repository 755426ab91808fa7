import type { AdminRole, Session } from './session';

/**
 * What a role sees in the console. The API stays the authority (it answers 403/404 to anything
 * else); the console only hides what would be refused.
 */
export type Area =
  | 'overview'
  | 'partners'
  | 'tenants'
  | 'users'
  | 'groups'
  | 'ous'
  | 'applications'
  | 'adminRoles'
  | 'audit'
  | 'webhooks'
  | 'identityProviders'
  | 'sessions';

// Admin role assignments are the super admin's alone (the admin-roles API refuses the others).
const AREAS: Record<AdminRole, readonly Area[]> = {
  super_admin: [
    'overview',
    'partners',
    'tenants',
    'users',
    'groups',
    'ous',
    'applications',
    'adminRoles',
    'audit',
    'webhooks',
    'identityProviders',
    'sessions',
  ],
  partner_admin: [
    'overview',
    'tenants',
    'users',
    'groups',
    'ous',
    'applications',
    'audit',
    'webhooks',
    'identityProviders',
    'sessions',
  ],
  tenant_admin: [
    'overview',
    'users',
    'groups',
    'ous',
    'applications',
    'audit',
    'webhooks',
    'identityProviders',
    'sessions',
  ],
};

export const canSee = (session: Session, area: Area): boolean =>
  session.role !== null && AREAS[session.role].includes(area);

/** Whether the person works across tenants (and so picks one) or in their own tenant only. */
export const picksTenant = (session: Session): boolean => session.role !== 'tenant_admin';
