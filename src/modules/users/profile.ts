import type { TenantQueryable } from '../../platform/db/tenant-scope.js';
import { createUsersRepository } from './users.repository.js';
import type { UserResponse } from './users.schemas.js';
import { toUserResponse } from './users.service.js';

/** A user's own profile as the users API shows it (self-service), or undefined when not live. */
export async function ownProfile(db: TenantQueryable, userId: string): Promise<UserResponse | undefined> {
  const row = await createUsersRepository(db).findLive(userId);
  return row ? toUserResponse(row) : undefined;
}
