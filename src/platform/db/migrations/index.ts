import type { Migration } from 'kysely';
import * as initial from './0001_initial.js';
import * as groupClosure from './0002_group_closure.js';
import * as usersLifecycle from './0003_users_lifecycle.js';
import * as signIn from './0005_sign_in.js';
import * as tenantCounts from './0006_tenant_counts.js';
import * as rateLimits from './0007_rate_limits.js';
import * as pushedAuthorizationRequests from './0008_pushed_authorization_requests.js';
import * as eventOutbox from './0009_event_outbox.js';
import * as accountSecurity from './0010_account_security.js';
import * as emailVerificationLinks from './0011_email_verification_links.js';
import * as sessions from './0012_sessions.js';
import * as eventFeed from './0013_event_feed.js';
import * as auditQueries from './0014_audit_queries.js';
import * as webhooks from './0015_webhooks.js';
import * as federation from './0016_federation.js';
import * as webhookDeliveryOnce from './0017_webhook_delivery_once.js';
import * as rowNotifications from './0018_row_notifications.js';
import * as groupMemberCounts from './0019_group_member_counts.js';

/** Every migration, in order. A landed migration is never edited; add a new file and a line here. */
export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_group_closure': groupClosure,
  '0003_users_lifecycle': usersLifecycle,
  '0005_sign_in': signIn,
  '0006_tenant_counts': tenantCounts,
  '0007_rate_limits': rateLimits,
  '0008_pushed_authorization_requests': pushedAuthorizationRequests,
  '0009_event_outbox': eventOutbox,
  '0010_account_security': accountSecurity,
  '0011_email_verification_links': emailVerificationLinks,
  '0012_sessions': sessions,
  '0013_event_feed': eventFeed,
  '0014_audit_queries': auditQueries,
  '0015_webhooks': webhooks,
  '0016_federation': federation,
  '0017_webhook_delivery_once': webhookDeliveryOnce,
  '0018_row_notifications': rowNotifications,
  '0019_group_member_counts': groupMemberCounts,
};
