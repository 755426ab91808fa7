import type { paths } from '../../api/schema';

export type AuditEntry =
  paths['/api/v1/admin/audit/{entry_id}']['get']['responses'][200]['content']['application/json']['data'];
export type AuditQuery = NonNullable<paths['/api/v1/admin/audit/']['get']['parameters']['query']>;
export type AuditExportQuery = NonNullable<paths['/api/v1/admin/audit/export']['get']['parameters']['query']>;

/** The sign-in actions of the audit catalogue (GET /api/v1/admin/audit/actions). */
export const SIGN_IN = 'user.login';
export const SIGN_IN_FAILED = 'user.login_failed';
