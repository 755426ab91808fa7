/**
 * The vocabularies of the audit log: every action and resource type ScaiKey writes
 * (docs/api-decisions.md, "Audit log"). They are the code's, not the rows': answering them costs
 * nothing, they are the same for every caller, and a console can offer them as filters before the
 * first entry exists. tests/audit.test.ts checks them against the source, both ways, so that a new
 * action cannot be written without being listed here.
 */

/** How an entry of an action comes about: a change (also a domain event), a refusal, or a fact. */
export type AuditActionKind = 'change' | 'refusal' | 'event';

export interface AuditActionInfo {
  resourceType: string;
  kind: AuditActionKind;
  description: string;
}

const change = (resourceType: string, description: string): AuditActionInfo => ({
  resourceType,
  kind: 'change',
  description,
});
const refusal = (resourceType: string, description: string): AuditActionInfo => ({
  resourceType,
  kind: 'refusal',
  description,
});
const event = (resourceType: string, description: string): AuditActionInfo => ({
  resourceType,
  kind: 'event',
  description,
});

export const AUDIT_ACTIONS: Readonly<Record<string, AuditActionInfo>> = {
  'partner.created': change('partner', 'A partner was created'),
  'partner.updated': change('partner', 'A partner was changed'),
  'partner.deleted': change('partner', 'A partner was deleted'),
  'tenant.created': change('tenant', 'A tenant was created'),
  'tenant.updated': change('tenant', 'A tenant was changed (settings, branding, status, partner)'),
  'tenant.deleted': change('tenant', 'A tenant was deleted'),
  'ou.created': change('ou', 'An organizational unit was created'),
  'ou.updated': change('ou', 'An organizational unit was changed'),
  'ou.moved': change('ou', 'An organizational unit moved under another parent'),
  'ou.deleted': change('ou', 'An organizational unit was deleted'),
  'user.created': change('user', 'A user was created'),
  'user.updated': change('user', 'A user was changed'),
  'user.deleted': change('user', 'A user was deleted'),
  'user.activated': change('user', 'A user became active'),
  'user.suspended': change('user', 'A user was disabled'),
  'user.status_changed': change('user', 'A user’s status changed'),
  'user.locked': change('user', 'A user was locked out after failed sign-ins'),
  'user.unlocked': change('user', 'An administrator unlocked a user'),
  'user.password_changed': change('user', 'A user’s password was set or changed'),
  'user.password_reset_requested': change('user', 'A password reset link was sent'),
  'user.password_change_failed': refusal('user', 'A password change was refused'),
  'user.email_verification_requested': change('user', 'An email verification link was sent'),
  'user.email_verified': change('user', 'A user verified their email address'),
  'user.mfa_enabled': change('user', 'Multi-factor authentication became required for a user'),
  'user.mfa_disabled': change('user', 'Multi-factor authentication was turned off for a user'),
  'user.mfa_factor_added': change('user', 'A second factor was enrolled'),
  'user.mfa_factor_removed': change('user', 'A second factor was removed'),
  'user.mfa_backup_codes_regenerated': change('user', 'New backup codes were generated'),
  'user.mfa_verified': event('user', 'A second factor was verified during sign-in'),
  'user.mfa_failed': refusal('user', 'A second factor was refused'),
  'user.password_verified': event('user', 'A password was accepted; a second factor follows'),
  'user.login': event('user', 'A user signed in'),
  'user.login_failed': refusal('user', 'A sign-in was refused'),
  'group.created': change('group', 'A group was created'),
  'group.updated': change('group', 'A group was changed'),
  'group.deleted': change('group', 'A group was deleted'),
  'group.member_added': change('group', 'Users were added to a group'),
  'group.member_removed': change('group', 'Users were removed from a group'),
  'group.nested_group_added': change('group', 'Groups were nested in a group'),
  'group.nested_group_removed': change('group', 'A nested group was removed from a group'),
  'application.created': change('application', 'An application was registered'),
  'application.updated': change('application', 'An application was changed'),
  'application.deleted': change('application', 'An application was deleted'),
  'application.secret_rotated': change('application', 'An application’s client secret was replaced'),
  'application.user_assigned': change('application', 'A user was assigned to an application'),
  'application.user_unassigned': change('application', 'A user was unassigned from an application'),
  'application.group_assigned': change('application', 'A group was assigned to an application'),
  'application.group_unassigned': change('application', 'A group was unassigned from an application'),
  'admin_role.assigned': change('admin_role_assignment', 'An admin role was assigned'),
  'admin_role.updated': change('admin_role_assignment', 'An admin role assignment was changed'),
  'admin_role.revoked': change('admin_role_assignment', 'An admin role was revoked'),
  'session.revoked': change('session', 'A sign-in session was ended'),
  'authorized_app.revoked': change('application', 'A user withdrew an application’s authorization'),
  'token.issued': event('application', 'Tokens were issued to an application (counted per interval)'),
  'token.refused': refusal('application', 'A token request was refused'),
  'token.revoked': change('token', 'A token or grant was revoked'),
};

export const AUDIT_RESOURCE_TYPES: Readonly<Record<string, string>> = {
  partner: 'A partner (`prt_…`)',
  tenant: 'A tenant (`tnt_…`)',
  ou: 'An organizational unit (`ou_…`)',
  user: 'A user (`usr_…`)',
  group: 'A group (`grp_…`)',
  application: 'An application (`app_…`, or the client id of a built-in client)',
  admin_role_assignment: 'An admin role assignment (`rol_…`)',
  session: 'A sign-in session (`ses_…`)',
  grant: 'An authorization grant of oidc-provider',
  token: 'An access or refresh token (by its id, never its value)',
};
