import type { Queryable } from '../../platform/db/database.js';

/**
 * Removes an application's assignments in every tenant (the application is being deleted): the one
 * assignment statement that crosses tenants on purpose. Answers how many went.
 */
export async function removeApplicationAssignments(db: Queryable, applicationId: string): Promise<number> {
  const removed = await db
    .deleteFrom('application_assignments')
    .where('application_id', '=', applicationId)
    .executeTakeFirst();
  return Number(removed.numDeletedRows);
}
