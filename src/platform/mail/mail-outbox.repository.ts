import { sql } from 'kysely';
import type { Db, Queryable } from '../db/database.js';
import type { MailMessage } from './mailer.js';

/** Writes a message into the outbox (in the caller's transaction). */
export async function insertMail(db: Queryable, id: string, message: MailMessage): Promise<void> {
  await db
    .insertInto('email_outbox')
    .values({
      id,
      tenant_id: message.tenantId,
      recipient: message.to,
      subject: message.subject,
      text_body: message.text,
      html_body: message.html ?? null,
      kind: message.kind,
      last_error: null,
      sent_at: null,
    })
    .execute();
}

/**
 * Claims up to `batch` pending messages with attempts left, counting the attempt; rows another
 * instance holds are skipped (SKIP LOCKED), so no message is sent twice.
 */
export async function claimPendingMail(db: Db, maxAttempts: number, batch: number) {
  return db
    .updateTable('email_outbox')
    .set({ attempts: sql<number>`attempts + 1` })
    .where(
      'id',
      'in',
      db
        .selectFrom('email_outbox')
        .select('id')
        .where('status', '=', 'PENDING')
        .where('attempts', '<', maxAttempts)
        .orderBy('created_at')
        .limit(batch)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .execute();
}

/** Records the outcome of a delivery attempt. */
export async function markMail(
  db: Db,
  id: string,
  status: 'SENT' | 'LOGGED' | 'PENDING' | 'FAILED',
  error: string | null,
): Promise<void> {
  await db
    .updateTable('email_outbox')
    .set({
      status,
      last_error: error,
      ...(status === 'SENT' || status === 'LOGGED' ? { sent_at: sql<Date>`now()` } : {}),
    })
    .where('id', '=', id)
    .execute();
}
