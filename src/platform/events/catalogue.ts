/**
 * The vocabulary of the audit log and, within it, the event catalogue (issue 14): every action
 * ScaiKey writes, its usual resource type and kind, and whether it is a domain event — one that
 * webhooks deliver and the change feed returns. An audit entry of a domain event (with the result
 * its kind implies: SUCCESS, or FAILURE for a refusal) is also written to the event outbox, in the
 * transaction of the change (events.repository.ts); every other entry (token issuance, password
 * verification steps, refused changes, link requests) stays in the audit log only.
 * `GET /api/v1/admin/audit/actions` answers this list; tests/audit.test.ts checks it against the
 * source both ways, so that a new action cannot be written without being listed here.
 */

/** How an entry of an action comes about: a change, a refusal, or a fact (a sign-in, issued tokens). */
export type AuditActionKind = 'change' | 'refusal' | 'event';

export interface AuditActionInfo {
  resourceType: string;
  kind: AuditActionKind;
  description: string;
  /** A domain event: delivered by webhooks and returned by the change feed. */
  domainEvent: boolean;
}

const DOMAIN_EVENT = true;

const entry =
  (kind: AuditActionKind) =>
  (resourceType: string, description: string, domainEvent = false): AuditActionInfo => ({
    resourceType,
    kind,
    description,
    domainEvent,
  });
const change = entry('change');
const refusal = entry('refusal');
const event = entry('event');

export const AUDIT_ACTIONS: Readonly<Record<string, AuditActionInfo>> = {
  'partner.created': change('partner', 'A partner was created', DOMAIN_EVENT),
  'partner.updated': change(
    'partner',
    'A partner changed (suspension is data.status = "SUSPENDED")',
    DOMAIN_EVENT,
  ),
  'partner.deleted': change('partner', 'A partner was deleted (soft delete)', DOMAIN_EVENT),
  'tenant.created': change('tenant', 'A tenant was created', DOMAIN_EVENT),
  'tenant.updated': change(
    'tenant',
    'A tenant changed: fields, settings or branding (suspension is data.status = "SUSPENDED")',
    DOMAIN_EVENT,
  ),
  'tenant.deleted': change('tenant', 'A tenant was deleted (soft delete)', DOMAIN_EVENT),
  'ou.created': change('ou', 'An organizational unit was created', DOMAIN_EVENT),
  'ou.updated': change('ou', 'An organizational unit changed', DOMAIN_EVENT),
  'ou.moved': change('ou', 'An organizational unit moved to another parent', DOMAIN_EVENT),
  'ou.deleted': change('ou', 'An organizational unit was deleted', DOMAIN_EVENT),
  'user.created': change(
    'user',
    'A user was created (by an admin, an invitation or the bootstrap)',
    DOMAIN_EVENT,
  ),
  'user.updated': change('user', 'A user profile changed', DOMAIN_EVENT),
  'user.deleted': change('user', 'A user was deleted; their sessions were ended', DOMAIN_EVENT),
  'user.activated': change('user', 'A user became active (activation or reactivation)', DOMAIN_EVENT),
  'user.suspended': change('user', 'A user was suspended', DOMAIN_EVENT),
  'user.status_changed': change(
    'user',
    'A user moved to another status than ACTIVE or SUSPENDED',
    DOMAIN_EVENT,
  ),
  'user.locked': change('user', 'A user was locked out after failed sign-in attempts', DOMAIN_EVENT),
  'user.unlocked': change('user', 'An admin unlocked a user', DOMAIN_EVENT),
  'user.password_changed': change(
    'user',
    'A user password was set or changed (self-service, link, admin or required change)',
    DOMAIN_EVENT,
  ),
  'user.password_reset_requested': change('user', 'A password reset link was sent'),
  'user.password_change_failed': refusal('user', 'A password change was refused'),
  'user.email_verification_requested': change('user', 'An email verification link was sent'),
  'user.email_verified': change('user', 'A user verified their email address', DOMAIN_EVENT),
  'user.mfa_enabled': change(
    'user',
    'A user has a confirmed second factor now (the first one was added)',
    DOMAIN_EVENT,
  ),
  'user.mfa_disabled': change('user', 'A user has no second factor any more', DOMAIN_EVENT),
  'user.mfa_factor_added': change('user', 'A second factor was added to a user', DOMAIN_EVENT),
  'user.mfa_factor_removed': change('user', 'A second factor was removed from a user', DOMAIN_EVENT),
  'user.mfa_backup_codes_regenerated': change('user', 'New backup codes were generated'),
  'user.mfa_verified': event('user', 'A second factor was verified during sign-in'),
  'user.mfa_failed': refusal(
    'user',
    'A second-factor code or passkey was refused during sign-in',
    DOMAIN_EVENT,
  ),
  'user.password_verified': event('user', 'A password was accepted; a second factor follows'),
  'user.login': event('user', 'A user signed in', DOMAIN_EVENT),
  'user.login_failed': refusal(
    'user',
    'A sign-in failed (wrong password, locked or inactive account)',
    DOMAIN_EVENT,
  ),
  'group.created': change('group', 'A group was created', DOMAIN_EVENT),
  'group.updated': change('group', 'A group changed', DOMAIN_EVENT),
  'group.deleted': change('group', 'A group was deleted', DOMAIN_EVENT),
  'group.member_added': change('group', 'A user became a direct member of a group', DOMAIN_EVENT),
  'group.member_removed': change('group', 'A user stopped being a direct member of a group', DOMAIN_EVENT),
  'group.nested_group_added': change('group', 'A group was nested in another group', DOMAIN_EVENT),
  'group.nested_group_removed': change('group', 'A nested group was taken out of its parent', DOMAIN_EVENT),
  'application.created': change('application', 'An application (OAuth client) was created', DOMAIN_EVENT),
  'application.updated': change('application', 'An application changed', DOMAIN_EVENT),
  'application.deleted': change('application', 'An application was deleted', DOMAIN_EVENT),
  'application.secret_rotated': change(
    'application',
    'An application client secret was rotated (the secret is never in the event)',
    DOMAIN_EVENT,
  ),
  'application.user_assigned': change('application', 'A user was assigned to an application', DOMAIN_EVENT),
  'application.user_unassigned': change(
    'application',
    'A user assignment to an application was removed',
    DOMAIN_EVENT,
  ),
  'application.group_assigned': change('application', 'A group was assigned to an application', DOMAIN_EVENT),
  'application.group_unassigned': change(
    'application',
    'A group assignment to an application was removed',
    DOMAIN_EVENT,
  ),
  'admin_role.assigned': change('admin_role_assignment', 'An admin role was given to a user', DOMAIN_EVENT),
  'admin_role.updated': change('admin_role_assignment', 'An admin role assignment changed', DOMAIN_EVENT),
  'admin_role.revoked': change('admin_role_assignment', 'An admin role was taken from a user', DOMAIN_EVENT),
  'session.revoked': change('session', 'A sign-in session was ended by an admin or its user', DOMAIN_EVENT),
  'authorized_app.revoked': change('application', 'A user revoked an application grant', DOMAIN_EVENT),
  'token.issued': event('application', 'Tokens were issued to an application (counted per interval)'),
  'token.refused': refusal('application', 'A token request was refused'),
  'token.revoked': change('token', 'A token or grant was revoked'),
  'webhook.created': change('webhook', 'A webhook endpoint was created'),
  'webhook.updated': change('webhook', 'A webhook endpoint was changed'),
  'webhook.deleted': change('webhook', 'A webhook endpoint was deleted'),
  'webhook.secret_rotated': change('webhook', 'A webhook endpoint’s signing secret was replaced'),
  'webhook.disabled': change(
    'webhook',
    'A webhook endpoint was disabled after a delivery failed for its whole retry window',
  ),
  'identity_provider.synced': change(
    'identity_provider',
    'A directory (LDAP) sync run finished: its counts, or why it failed (result FAILURE)',
  ),
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
  webhook: 'A webhook endpoint (`whk_…`)',
  identity_provider: 'An identity provider (`idp_…`)',
};

/** A type of the event catalogue. */
export interface EventType {
  type: string;
  resourceType: string;
  description: string;
  /** The audit result that makes the entry this event (sign-in failures are events too). */
  result: 'SUCCESS' | 'FAILURE';
}

export const EVENT_CATALOGUE: readonly EventType[] = Object.entries(AUDIT_ACTIONS)
  .filter(([, info]) => info.domainEvent)
  .map(([type, info]) => ({
    type,
    resourceType: info.resourceType,
    description: `${info.description}.`,
    result: info.kind === 'refusal' ? 'FAILURE' : 'SUCCESS',
  }));

const byType = new Map(EVENT_CATALOGUE.map((entry) => [entry.type, entry]));

export const EVENT_TYPES: readonly string[] = EVENT_CATALOGUE.map((entry) => entry.type);

/** Whether an audit entry with this action and result is a domain event (goes to the outbox). */
export function isDomainEvent(action: string, result: 'SUCCESS' | 'FAILURE'): boolean {
  return byType.get(action)?.result === result;
}

/** An event type pattern: an exact type, `family.*`, or `*` (everything). */
const PATTERN = /^(\*|[a-z_]+\.\*|[a-z_]+\.[a-z_]+)$/;

/** The patterns that match no catalogue type (or are malformed): each is a mistake to refuse. */
export function unknownEventPatterns(patterns: readonly string[]): string[] {
  return patterns.filter(
    (pattern) => !PATTERN.test(pattern) || !EVENT_TYPES.some((type) => matchesEventPattern(pattern, type)),
  );
}

export function matchesEventPattern(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

/** The catalogue types a list of patterns selects. */
export function typesMatching(patterns: readonly string[]): string[] {
  return EVENT_TYPES.filter((type) => patterns.some((pattern) => matchesEventPattern(pattern, type)));
}
