import { type Kysely, sql } from 'kysely';

/**
 * Self-service email verification (issue 13): a mailed link confirms the address, a single-use
 * token like the invitation and password-reset links, so `user_action_tokens` takes a third purpose.
 */
const statements = [
  `alter table user_action_tokens drop constraint user_action_tokens_purpose_check`,
  `alter table user_action_tokens add constraint user_action_tokens_purpose_check
     check (purpose in ('INVITATION', 'PASSWORD_RESET', 'EMAIL_VERIFICATION'))`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}
