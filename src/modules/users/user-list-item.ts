import { iso } from '../../platform/http.js';
import type { UserListRow } from './users.repository.js';
import type { UserListItem } from './users.schemas.js';

/** A user as lists show it (users, an OU's users): a row of UserListRow, mapped to the API object. */
export function toUserListItem(row: UserListRow): UserListItem {
  return {
    id: row.id,
    email: row.email,
    display_name: row.display_name,
    status: row.status,
    ou_path: row.ou_path,
    identity_source: row.identity_source,
    mfa_enabled: row.mfa_enabled,
    last_login_at: iso(row.last_login_at),
  };
}
