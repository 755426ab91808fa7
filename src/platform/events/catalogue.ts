/**
 * The event catalogue (issue 14): the domain events webhooks deliver and the change feed returns.
 * An audit entry whose action is listed here (with the listed result) is also written to the
 * outbox, in the transaction of the change; every other audit entry (token issuance, password
 * verification steps, …) stays in the audit log only.
 */
export interface EventType {
  type: string;
  resourceType: string;
  description: string;
  /** The audit result that makes the entry this event (sign-in failures are events too). */
  result: 'SUCCESS' | 'FAILURE';
}

const event = (type: string, description: string, result: 'SUCCESS' | 'FAILURE' = 'SUCCESS'): EventType => ({
  type,
  resourceType: type.slice(0, type.indexOf('.')),
  description,
  result,
});

export const EVENT_CATALOGUE: readonly EventType[] = [
  event('partner.created', 'A partner was created.'),
  event('partner.updated', 'A partner changed (suspension is data.status = "SUSPENDED").'),
  event('partner.deleted', 'A partner was deleted (soft delete).'),
  event('tenant.created', 'A tenant was created.'),
  event(
    'tenant.updated',
    'A tenant changed: fields, settings or branding (suspension is data.status = "SUSPENDED").',
  ),
  event('tenant.deleted', 'A tenant was deleted (soft delete).'),
  event('user.created', 'A user was created (by an admin, an invitation or the bootstrap).'),
  event('user.updated', 'A user profile changed.'),
  event('user.deleted', 'A user was deleted; their sessions were ended.'),
  event('user.suspended', 'A user was suspended.'),
  event('user.activated', 'A user became active (activation or reactivation).'),
  event('user.status_changed', 'A user moved to another status than ACTIVE or SUSPENDED.'),
  event('user.locked', 'A user was locked out after failed sign-in attempts.'),
  event('user.unlocked', 'An admin unlocked a user.'),
  event(
    'user.password_changed',
    'A user password was set or changed (self-service, link, admin or required change).',
  ),
  event('user.email_verified', 'A user verified their email address.'),
  event('user.mfa_enabled', 'A user has a confirmed second factor now (the first one was added).'),
  event('user.mfa_disabled', 'A user has no second factor any more.'),
  event('user.mfa_factor_added', 'A second factor was added to a user.'),
  event('user.mfa_factor_removed', 'A second factor was removed from a user.'),
  event('user.login', 'A user signed in.'),
  event('user.login_failed', 'A sign-in failed (wrong password, locked or inactive account).', 'FAILURE'),
  event('user.mfa_failed', 'A second-factor code or passkey was refused during sign-in.', 'FAILURE'),
  event('group.created', 'A group was created.'),
  event('group.updated', 'A group changed.'),
  event('group.deleted', 'A group was deleted.'),
  event('group.member_added', 'A user became a direct member of a group.'),
  event('group.member_removed', 'A user stopped being a direct member of a group.'),
  event('group.nested_group_added', 'A group was nested in another group.'),
  event('group.nested_group_removed', 'A nested group was taken out of its parent.'),
  event('ou.created', 'An organizational unit was created.'),
  event('ou.updated', 'An organizational unit changed.'),
  event('ou.moved', 'An organizational unit moved to another parent.'),
  event('ou.deleted', 'An organizational unit was deleted.'),
  event('application.created', 'An application (OAuth client) was created.'),
  event('application.updated', 'An application changed.'),
  event('application.deleted', 'An application was deleted.'),
  event(
    'application.secret_rotated',
    'An application client secret was rotated (the secret is never in the event).',
  ),
  event('application.user_assigned', 'A user was assigned to an application.'),
  event('application.user_unassigned', 'A user assignment to an application was removed.'),
  event('application.group_assigned', 'A group was assigned to an application.'),
  event('application.group_unassigned', 'A group assignment to an application was removed.'),
  event('admin_role.assigned', 'An admin role was given to a user.'),
  event('admin_role.updated', 'An admin role assignment changed.'),
  event('admin_role.revoked', 'An admin role was taken from a user.'),
  event('session.revoked', 'A sign-in session was ended by an admin or its user.'),
  event('authorized_app.revoked', 'A user revoked an application grant.'),
];

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
