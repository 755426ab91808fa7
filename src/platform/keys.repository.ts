import { sql } from 'kysely';
import type { Db, Queryable } from './db/database.js';
import { notify } from './db/notify.js';
import type { SigningKeyRow } from './db/schema.js';

export interface NewSigningKey {
  kid: string;
  alg: string;
  publicJwk: object;
  privatePem: string;
}

function keyValues(key: NewSigningKey) {
  return {
    kid: key.kid,
    alg: key.alg,
    public_jwk: JSON.stringify(key.publicJwk),
    private_key_pem: key.privatePem,
    status: 'ACTIVE' as const,
  };
}

/** Whether a signing key is ACTIVE. */
export async function hasActiveKey(db: Queryable): Promise<boolean> {
  const row = await db
    .selectFrom('signing_keys')
    .select('kid')
    .where('status', '=', 'ACTIVE')
    .executeTakeFirst();
  return row !== undefined;
}

/** Inserts the first key; of two instances starting at once, the one-active-key index lets one win. */
export async function insertFirstKey(db: Queryable, key: NewSigningKey): Promise<void> {
  await db
    .insertInto('signing_keys')
    .values(keyValues(key))
    .onConflict((conflict) => conflict.doNothing())
    .execute();
}

/** The ACTIVE key and the retired keys still within their overlap, newest first. */
export async function liveKeys(db: Queryable): Promise<SigningKeyRow[]> {
  return db
    .selectFrom('signing_keys')
    .selectAll()
    .where((eb) => eb.or([eb('status', '=', 'ACTIVE'), eb('expires_at', '>', sql<Date>`now()`)]))
    .orderBy('created_at', 'desc')
    .execute();
}

/**
 * Retires the ACTIVE key (kept for `overlapSeconds`), makes `key` ACTIVE and notifies `channel`
 * on commit, in one transaction; returns the retired kids.
 */
export async function replaceActiveKey(
  db: Db,
  key: NewSigningKey,
  overlapSeconds: number,
  channel: string,
): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    const retired = await trx
      .updateTable('signing_keys')
      .set({
        status: 'RETIRED',
        retired_at: sql<Date>`now()`,
        expires_at: sql<Date>`now() + make_interval(secs => ${overlapSeconds})`,
      })
      .where('status', '=', 'ACTIVE')
      .returning('kid')
      .execute();
    await trx.insertInto('signing_keys').values(keyValues(key)).execute();
    await notify(trx, channel, key.kid);
    return retired.map((row) => row.kid);
  });
}
