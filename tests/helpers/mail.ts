import type { TestApp } from './test-app.js';

/** The newest outbox message to `to` (the development outbox: tests read it as a user reads mail). */
export async function lastMailTo(t: TestApp, to: string) {
  return t.database.db
    .selectFrom('email_outbox')
    .selectAll()
    .where('recipient', '=', to)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirst();
}

/** The set-password link of a mail, as a path and query the test app can request. */
export function linkIn(text: string): { url: string; token: string } {
  const match =
    /https?:\/\/[^\s]+\/api\/v1\/auth\/tenants\/[^\s]+reset-password\?token=([A-Za-z0-9_-]+)/.exec(text);
  if (!match) throw new Error(`no link in mail:\n${text}`);
  return { url: new URL(match[0]).pathname + new URL(match[0]).search, token: match[1] as string };
}
